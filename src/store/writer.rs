//! The single writer thread and its group commit.
//!
//! Jobs queue on a channel. The thread takes the first job and every job already waiting (up to
//! [`MAX_BATCH`]), runs them in order in one write transaction, commits with immediate durability,
//! and only then answers each job's caller. A job that refuses (precondition failed) has written
//! nothing, so it cannot disturb the others; a storage failure aborts the batch and every job in it
//! gets the error, so nothing unacknowledged is ever half-written and nothing acknowledged is lost.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use super::StoreError;

/// Most jobs committed in one transaction; bounds the latency one commit adds to the first job.
const MAX_BATCH: usize = 256;
/// Jobs that may wait for the writer before `write` callers wait to enqueue (backpressure).
const QUEUE_DEPTH: usize = 4096;

/// What a job hands back after running: a completion to call with the commit's outcome.
type Completion = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;
type Job = Box<dyn FnOnce(&redb::WriteTransaction) -> Result<Completion, StoreError> + Send>;

/// Work that runs on the writer thread while no write transaction is open (see
/// [`Writer::exclusive`]).
type Exclusive = Box<dyn FnOnce() + Send>;

enum Message {
    Job(Job),
    /// Commit everything queued before this, then run this with no transaction open.
    Exclusive(Exclusive),
    /// Commit everything queued before this, then stop.
    Stop(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Message>,
    commits: watch::Receiver<u64>,
}

impl Writer {
    pub fn start(db: Arc<redb::Database>) -> Writer {
        let (jobs, receiver) = mpsc::channel::<Message>(QUEUE_DEPTH);
        let (commit_tx, commits) = watch::channel(0u64);
        std::thread::Builder::new()
            .name("skyhold-writer".into())
            .spawn(move || run(&db, receiver, &commit_tx))
            .unwrap_or_else(|e| panic!("cannot start the writer thread: {e}"));
        Writer { jobs, commits }
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
            let result = job(txn)?;
            Ok(Box::new(move |commit: Result<(), &StoreError>| {
                let outcome = match commit {
                    Ok(()) => result,
                    Err(e) => Err(E::from(StoreError::Database(e.to_string()))),
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

fn run(db: &redb::Database, mut queue: mpsc::Receiver<Message>, commits: &watch::Sender<u64>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut stop = None;
    while let Some(first) = queue.blocking_recv() {
        let mut exclusive = None;
        match first {
            Message::Job(job) => batch.push(job),
            Message::Exclusive(work) => exclusive = Some(work),
            Message::Stop(done) => stop = Some(done),
        }
        while stop.is_none() && exclusive.is_none() && batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(Message::Job(job)) => batch.push(job),
                Ok(Message::Exclusive(work)) => exclusive = Some(work),
                Ok(Message::Stop(done)) => stop = Some(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            commit_batch(db, &mut batch);
            commits.send_modify(|n| *n += 1);
        }
        // The batch's transaction is committed (durably) or aborted: none is open now.
        if let Some(work) = exclusive {
            work();
        }
        if let Some(done) = stop {
            queue.close();
            let _ = done.send(());
            return;
        }
    }
}

fn commit_batch(db: &redb::Database, batch: &mut Vec<Job>) {
    let txn = match db.begin_write() {
        Ok(txn) => txn,
        Err(e) => {
            let error = StoreError::from(e);
            fail_all(batch.drain(..), &error);
            return;
        }
    };
    let mut completions: Vec<Completion> = Vec::with_capacity(batch.len());
    let mut jobs = batch.drain(..);
    for job in jobs.by_ref() {
        match job(&txn) {
            Ok(completion) => completions.push(completion),
            Err(error) => {
                tracing::error!(%error, "storage failure in a write job; aborting the batch");
                let _ = txn.abort();
                for completion in completions {
                    completion(Err(&error));
                }
                fail_all(jobs, &error);
                return;
            }
        }
    }
    match txn.commit() {
        Ok(()) => completions.into_iter().for_each(|c| c(Ok(()))),
        Err(e) => {
            let error = StoreError::from(e);
            tracing::error!(%error, "commit failed");
            completions.into_iter().for_each(|c| c(Err(&error)));
        }
    }
}

/// Jobs that never ran: run them against nothing and report the failure.
fn fail_all(jobs: impl Iterator<Item = Job>, error: &StoreError) {
    // A job's reply channel lives inside its closure; dropping the closure drops the sender, which
    // the caller sees as `StoreError::Closed`. Log so the cause is visible.
    let count = jobs.count();
    if count > 0 {
        tracing::error!(%error, count, "write jobs dropped after a storage failure");
    }
}
