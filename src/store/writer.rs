//! The single writer thread and its group commit.
//!
//! Jobs queue on a channel. The thread takes the first job and every job already waiting (up to
//! [`MAX_BATCH`]), runs them in order in one write transaction, commits with immediate durability,
//! and only then answers each job's caller. A job that refuses (precondition failed) has written
//! nothing, so it cannot disturb the others; a storage failure aborts the batch and every job in it
//! gets the error, so nothing unacknowledged is ever half-written and nothing acknowledged is lost.
//!
//! After a storage failure (a full disk) the store may refuse writes until it recovers (see
//! `database`): jobs are then answered with [`StoreError::Unavailable`] without running, and the
//! writer tries to recover before each batch and when nudged (by a watcher every few seconds, and
//! by health checks).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use super::StoreError;
use super::database::{Database, RECOVERY_INTERVAL};

/// Most jobs committed in one transaction; bounds the latency one commit adds to the first job.
const MAX_BATCH: usize = 256;
/// Jobs that may wait for the writer before `write` callers wait to enqueue (backpressure).
const QUEUE_DEPTH: usize = 4096;

/// What a job hands back after running: a completion to call with the commit's outcome.
type Completion = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;
/// A job runs in a transaction, or (`Err`) is answered with why it cannot run at all.
type Job = Box<
    dyn FnOnce(Result<&redb::WriteTransaction, &StoreError>) -> Result<Completion, StoreError>
        + Send,
>;

/// Work that runs on the writer thread while no write transaction is open (see
/// [`Writer::exclusive`]).
type Exclusive = Box<dyn FnOnce() + Send>;

enum Message {
    Job(Job),
    /// Commit everything queued before this, then run this with no transaction open.
    Exclusive(Exclusive),
    /// Commit everything queued before this, then stop.
    Stop(oneshot::Sender<()>),
    /// Try recovering a failed store (if it has failed and the last try is old enough).
    Recover,
}

#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Message>,
    commits: watch::Receiver<u64>,
}

impl Writer {
    pub fn start(db: Arc<Database>) -> Writer {
        let (jobs, receiver) = mpsc::channel::<Message>(QUEUE_DEPTH);
        let (commit_tx, commits) = watch::channel(0u64);
        // Weak: the watcher must not keep a closed store's file open.
        let watched = Arc::downgrade(&db);
        std::thread::Builder::new()
            .name("skyhold-writer".into())
            .spawn(move || {
                // A panic here would leave the node up with no writer: stop the process instead
                // (systemd restarts it; every acknowledged write is durable).
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run(&db, receiver, &commit_tx)
                }));
                let Ok(stopped) = outcome else {
                    eprintln!("the store's writer thread panicked; stopping");
                    std::process::abort();
                };
                // The file closes cleanly (its allocator state recorded, its lock released)
                // before `shutdown` returns, whoever still holds the store: the next start needs
                // no repair.
                if stopped.is_some() {
                    db.close();
                }
                drop(db);
                if let Some(done) = stopped {
                    let _ = done.send(());
                }
            })
            .unwrap_or_else(|e| panic!("cannot start the writer thread: {e}"));
        let writer = Writer { jobs, commits };
        // A failed store recovers even when no write comes to try it.
        let nudges = writer.jobs.clone();
        std::thread::Builder::new()
            .name("skyhold-store-watch".into())
            .spawn(move || {
                while !nudges.is_closed() {
                    std::thread::sleep(RECOVERY_INTERVAL);
                    let Some(db) = watched.upgrade() else { return };
                    if db.failure().is_some() {
                        let _ = nudges.try_send(Message::Recover);
                    }
                }
            })
            .unwrap_or_else(|e| panic!("cannot start the store watcher thread: {e}"));
        writer
    }

    /// Asks the writer to try recovering a failed store now (it ignores a nudge too soon).
    pub fn nudge(&self) {
        let _ = self.jobs.try_send(Message::Recover);
    }

    pub fn commits(&self) -> watch::Receiver<u64> {
        self.commits.clone()
    }

    pub async fn submit<T, E>(
        &self,
        job: impl FnOnce(&redb::WriteTransaction) -> Result<Result<T, E>, StoreError> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let answer = self.enqueue(job).await?;
        answer.await.map_err(|_| E::from(StoreError::Closed))?
    }

    /// Queues `job` behind every job queued before it and returns at once (after waiting for room
    /// in the queue); the receiver answers when the job's commit is durable.
    pub async fn enqueue<T, E>(
        &self,
        job: impl FnOnce(&redb::WriteTransaction) -> Result<Result<T, E>, StoreError> + Send + 'static,
    ) -> Result<oneshot::Receiver<Result<T, E>>, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, E>>();
        let boxed: Job = Box::new(move |txn| {
            let txn = match txn {
                Ok(txn) => txn,
                Err(cannot) => {
                    let _ = reply.send(Err(E::from(cannot.again())));
                    return Ok(Box::new(|_: Result<(), &StoreError>| {}) as Completion);
                }
            };
            let result = match job(txn) {
                Ok(result) => result,
                Err(failure) => {
                    // This job's storage failure aborts the batch; its caller learns why.
                    let _ = reply.send(Err(E::from(failure.again())));
                    return Err(failure);
                }
            };
            Ok(Box::new(move |commit: Result<(), &StoreError>| {
                let outcome = match commit {
                    Ok(()) => result,
                    Err(e) => Err(E::from(e.again())),
                };
                let _ = reply.send(outcome);
            }) as Completion)
        });
        self.jobs
            .send(Message::Job(boxed))
            .await
            .map_err(|_| E::from(StoreError::Closed))?;
        Ok(answer)
    }

    /// Commits every job queued before this call, then runs `work` on the writer thread between
    /// two group commits: no write transaction is open while it runs and none starts until it
    /// returns, and every commit before it is durable. Writes submitted meanwhile wait. Used to
    /// copy the database file for backups (see `store::snapshot`).
    pub async fn exclusive<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel::<T>();
        let boxed: Exclusive = Box::new(move || {
            let _ = reply.send(work());
        });
        self.jobs
            .send(Message::Exclusive(boxed))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)
    }

    /// Commits everything queued so far, then stops the thread; later writes fail with
    /// [`StoreError::Closed`].
    pub async fn shutdown(&self) {
        let (done, stopped) = oneshot::channel();
        if self.jobs.send(Message::Stop(done)).await.is_ok() {
            let _ = stopped.await;
        }
    }
}

/// Runs jobs until stopped; returns the stopper to answer once the database is closed.
fn run(
    db: &Database,
    mut queue: mpsc::Receiver<Message>,
    commits: &watch::Sender<u64>,
) -> Option<oneshot::Sender<()>> {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut stop = None;
    while let Some(first) = queue.blocking_recv() {
        let mut exclusive = None;
        match first {
            Message::Job(job) => batch.push(job),
            Message::Exclusive(work) => exclusive = Some(work),
            Message::Stop(done) => stop = Some(done),
            Message::Recover => {}
        }
        while stop.is_none() && exclusive.is_none() && batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(Message::Job(job)) => batch.push(job),
                Ok(Message::Exclusive(work)) => exclusive = Some(work),
                Ok(Message::Stop(done)) => stop = Some(done),
                Ok(Message::Recover) => {}
                Err(_) => break,
            }
        }
        // No write transaction is open here: a failed store may be closed and reopened.
        let writable = db.recover_if_due();
        if !batch.is_empty() {
            if writable {
                commit_batch(db, &mut batch);
                commits.send_modify(|n| *n += 1);
            } else {
                let why = StoreError::Unavailable(
                    db.failure()
                        .unwrap_or_else(|| "the store is recovering".into()),
                );
                answer_all(batch.drain(..), &why);
            }
        }
        // The batch's transaction is committed (durably) or aborted: none is open now.
        if let Some(work) = exclusive {
            work();
        }
        if let Some(done) = stop {
            db.mark_stopping();
            queue.close();
            return Some(done);
        }
    }
    None
}

fn commit_batch(db: &Database, batch: &mut Vec<Job>) {
    let txn = match db
        .current()
        .and_then(|db| db.begin_write().map_err(StoreError::from))
    {
        Ok(txn) => txn,
        Err(error) => {
            answer_all(batch.drain(..), &error);
            db.check_after_failure(&error);
            return;
        }
    };
    let mut completions: Vec<Completion> = Vec::with_capacity(batch.len());
    let mut jobs = batch.drain(..);
    for job in jobs.by_ref() {
        match job(Ok(&txn)) {
            Ok(completion) => completions.push(completion),
            Err(error) => {
                tracing::error!(%error, "storage failure in a write job; aborting the batch");
                let _ = txn.abort();
                for completion in completions {
                    completion(Err(&error));
                }
                answer_all(jobs, &error);
                db.check_after_failure(&error);
                return;
            }
        }
    }
    match txn.commit() {
        Ok(()) => {
            crate::metrics::global().store_commit();
            completions.into_iter().for_each(|c| c(Ok(())));
        }
        Err(e) => {
            let error = StoreError::from(e);
            tracing::error!(%error, "commit failed");
            completions.into_iter().for_each(|c| c(Err(&error)));
            db.check_after_failure(&error);
        }
    }
}

/// Answers jobs that never ran with `error`.
fn answer_all(jobs: impl Iterator<Item = Job>, error: &StoreError) {
    let mut count = 0;
    for job in jobs {
        count += 1;
        if let Ok(completion) = job(Err(error)) {
            completion(Err(error));
        }
    }
    if count > 0 {
        // While the store cannot write, every write is refused: the failure was logged once.
        if matches!(error, StoreError::Unavailable(_)) {
            tracing::debug!(%error, count, "write jobs refused");
        } else {
            tracing::warn!(%error, count, "write jobs refused");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use redb::ReadableTable;

    use crate::store::{Store, StoreError, TableDefinition, open_read_table};

    const NUMBERS: TableDefinition<u64, u64> = TableDefinition::new("test.numbers");

    /// Queues a job that holds the writer until the returned sender is used (or dropped), and
    /// waits until it runs: every job queued meanwhile waits for the next batch.
    async fn hold_writer(store: &Store) -> std::sync::mpsc::Sender<()> {
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let (running, started) = tokio::sync::oneshot::channel::<()>();
        let held = store
            .write_queued(move |_| {
                let _ = running.send(());
                let _ = hold.recv();
                Ok(Ok::<_, StoreError>(()))
            })
            .await
            .unwrap();
        started.await.unwrap();
        drop(held);
        release
    }

    /// Waits until the commit counter reaches `at_least`, then returns it.
    async fn commits_reach(commits: &mut tokio::sync::watch::Receiver<u64>, at_least: u64) -> u64 {
        let wait = async {
            while *commits.borrow_and_update() < at_least {
                commits.changed().await.unwrap();
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap();
        *commits.borrow()
    }

    async fn stored(store: &Store) -> Vec<u64> {
        store
            .read(|txn| {
                let Some(table) = open_read_table(txn, NUMBERS)? else {
                    return Ok::<_, StoreError>(Vec::new());
                };
                let mut out = Vec::new();
                for row in table.iter()? {
                    out.push(row?.0.value());
                }
                Ok(out)
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn waiting_jobs_share_one_commit_and_a_storage_failure_aborts_their_batch() {
        let dir = std::env::temp_dir().join(format!("skyhold-writer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir).unwrap();
        let mut commits = store.commits();

        // Ten jobs queue behind a held writer; one refuses (having written nothing).
        let release = hold_writer(&store).await;
        let start = *commits.borrow_and_update();
        let mut answers = Vec::new();
        for n in 1..=10u64 {
            let answer = store
                .write_queued(move |txn| {
                    if n == 5 {
                        return Ok(Err(StoreError::Corrupt("refused".into())));
                    }
                    txn.open_table(NUMBERS)?.insert(n, n)?;
                    Ok(Ok(()))
                })
                .await
                .unwrap();
            answers.push(answer);
        }
        release.send(()).unwrap();
        for (n, answer) in (1..=10u64).zip(answers) {
            assert_eq!(answer.await.unwrap().is_ok(), n != 5, "job {n}");
        }
        let after = commits_reach(&mut commits, start + 2).await;
        assert_eq!(
            after,
            start + 2,
            "the held job's commit, then one for all ten"
        );
        assert_eq!(stored(&store).await, vec![1, 2, 3, 4, 6, 7, 8, 9, 10]);

        // A storage failure in one job aborts its whole batch: every caller gets an error and
        // nothing of the batch is written.
        let release = hold_writer(&store).await;
        let mut answers = Vec::new();
        for n in 11..=13u64 {
            let answer = store
                .write_queued(move |txn| {
                    txn.open_table(NUMBERS)?.insert(n, n)?;
                    if n == 12 {
                        return Err(StoreError::Corrupt("a failing disk".into()));
                    }
                    Ok(Ok::<_, StoreError>(()))
                })
                .await
                .unwrap();
            answers.push(answer);
        }
        release.send(()).unwrap();
        for (n, answer) in (11..=13u64).zip(answers) {
            assert!(
                answer.await.unwrap().is_err(),
                "job {n} was in the failed batch"
            );
        }
        assert_eq!(stored(&store).await, vec![1, 2, 3, 4, 6, 7, 8, 9, 10]);
        store.shutdown().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
