//! Password hashing (argon2id) on a small dedicated pool of threads with a bounded queue.
//!
//! One argon2 costs 19 MiB and tens of milliseconds by design. Run on tokio's blocking pool (512
//! threads), 256 concurrent wrong-password logins held 5 GB; here at most [`THREADS`] hashes run at
//! once and [`QUEUE`] wait, and a request that finds the queue full is refused at once (429), so
//! the memory password checks can take is bounded whatever arrives. A thread reuses its 19 MiB of
//! argon2 memory while jobs are waiting (a burst of sign-ups or logins) and frees it as soon as the
//! queue is empty: password checks hold at most 2 × 19 MiB during a burst and nothing between
//! bursts. The memory is allocated so that freeing it gives it back to the system (see
//! [`RESERVED_BLOCKS`]); RSS after sign-ups is measured by `benches/load.rs`.
//!
//! Does not: rate-limit logins (the XRPC layer does, per identifier and address).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand_core::OsRng;

use super::PdsError;

/// Hashes computed at once.
const THREADS: usize = 2;
/// Hashes waiting for a thread; beyond this, requests are refused.
const QUEUE: usize = 16;

/// A hashing thread's argon2 memory: allocated by the first job of a burst, reused by the jobs
/// queued behind it, freed when the queue is empty.
type Memory = Vec<Block>;
type Job = Box<dyn FnOnce(&mut Memory) + Send>;
/// The most argon2 memory a stored hash may ask for (in 1 KiB blocks); larger ones never verify.
const MAX_BLOCKS: usize = 64 * 1024;
/// The capacity a thread's memory is allocated with: just over 32 MiB, though a default hash
/// touches 19 MiB of it. glibc's malloc gives a request above its mmap threshold a mapping of its
/// own and unmaps it when freed; but that threshold (128 KiB at first) rises, for the whole process,
/// to the size of any mapping freed that is at most 32 MiB. Freeing a 19 MiB buffer once would
/// raise it to 19 MiB, and from then on every argon2 buffer, and every other allocation below that
/// size, would come from a heap that keeps freed memory resident: RSS after sign-ups went up, not
/// down, when the memory was freed between bursts that way. A request above 32 MiB is mapped
/// whatever the threshold, so each burst's memory is returned whole. The untouched 13 MiB cost
/// address space, not memory. (The shipped build's allocator, zig's libc, returns large blocks
/// whole anyway.)
const RESERVED_BLOCKS: usize = 32 * 1024 + 1;

/// The pool. Cheap to clone.
#[derive(Clone)]
pub struct PasswordHashing {
    jobs: SyncSender<Job>,
    /// Argon2 runs so far (for the admin's stats: a failed login costs one).
    hashes: Arc<AtomicU64>,
}

impl PasswordHashing {
    pub fn start() -> PasswordHashing {
        let (jobs, receiver) = sync_channel::<Job>(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..THREADS {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("skyhold-argon2-{n}"))
                .spawn(move || work(&receiver))
                .unwrap_or_else(|e| panic!("cannot start a password hashing thread: {e}"));
        }
        PasswordHashing {
            jobs,
            hashes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Argon2 runs so far.
    pub fn hashes(&self) -> u64 {
        self.hashes.load(Ordering::Relaxed)
    }

    /// Runs `job` on the pool, or refuses at once when the queue is full.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, PdsError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = reply.send(job(memory));
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(PdsError::RateLimited(
                    "Too many password checks in progress; try again shortly".into(),
                ));
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(PdsError::Internal(
                    "the password hashing pool stopped".into(),
                ));
            }
        }
        answer
            .await
            .map_err(|_| PdsError::Internal("a password hashing job was dropped".into()))
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: &str) -> Result<String, PdsError> {
        let password = password.to_owned();
        let hashes = self.hashes.clone();
        self.run(move |memory| {
            hashes.fetch_add(1, Ordering::Relaxed);
            hash_password(memory, &password)
        })
        .await?
    }

    /// Whether `password` matches the PHC string `hash` (constant time).
    pub async fn verify(&self, password: &str, hash: &str) -> Result<bool, PdsError> {
        let (password, hash) = (password.to_owned(), hash.to_owned());
        let hashes = self.hashes.clone();
        self.run(move |memory| {
            hashes.fetch_add(1, Ordering::Relaxed);
            verify_password(memory, &password, &hash)
        })
        .await
    }

    /// Checks `password` against a hash nobody's password matches (an unknown identifier costs
    /// what a known one does).
    pub async fn verify_dummy(&self, password: &str) -> Result<bool, PdsError> {
        let password = password.to_owned();
        let hashes = self.hashes.clone();
        self.run(move |memory| {
            hashes.fetch_add(1, Ordering::Relaxed);
            let dummy = dummy_hash(memory);
            verify_password(memory, &password, &dummy)
        })
        .await
    }

    /// The first of `candidates` (name, PHC string) that `password` matches, all checked in one
    /// job (legacy app passwords, see `app_passwords`).
    pub async fn find_match(
        &self,
        password: &str,
        candidates: Vec<(String, String)>,
    ) -> Result<Option<String>, PdsError> {
        let password = password.to_owned();
        let hashes = self.hashes.clone();
        self.run(move |memory| {
            candidates
                .into_iter()
                .find(|(_, hash)| {
                    hashes.fetch_add(1, Ordering::Relaxed);
                    verify_password(memory, &password, hash)
                })
                .map(|(name, _)| name)
        })
        .await
    }
}

fn work(receiver: &Mutex<Receiver<Job>>) {
    let mut memory: Memory = Vec::new();
    while let Some(job) = next_job(receiver, &mut memory) {
        // A panicking job drops its reply (its caller gets an internal error); the thread stays
        // for the next one.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut memory)));
    }
}

/// The next job, keeping `memory` only while jobs are waiting; None once the pool is dropped.
fn next_job(receiver: &Mutex<Receiver<Job>>, memory: &mut Memory) -> Option<Job> {
    let receiver: MutexGuard<'_, Receiver<Job>> = match receiver.try_lock() {
        Ok(receiver) => receiver,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        // The other thread holds the queue, most likely waiting on it because it is empty: this
        // one has nothing to do until it lets go.
        Err(TryLockError::WouldBlock) => {
            *memory = Memory::new();
            receiver
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    };
    match receiver.try_recv() {
        Ok(job) => Some(job),
        Err(TryRecvError::Empty) => {
            // The burst is over: give the memory back before waiting.
            *memory = Memory::new();
            receiver.recv().ok()
        }
        Err(TryRecvError::Disconnected) => None,
    }
}

/// `memory` with room for `blocks` argon2 blocks (grown at most to [`MAX_BLOCKS`]).
fn room(memory: &mut Memory, blocks: usize) -> Option<&mut [Block]> {
    if blocks > MAX_BLOCKS {
        return None;
    }
    if memory.capacity() == 0 {
        *memory = Memory::with_capacity(blocks.max(RESERVED_BLOCKS));
    }
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    memory.get_mut(..blocks)
}

/// Hashes a password (argon2id with the default parameters, random salt) into a PHC string.
fn hash_password(memory: &mut Memory, password: &str) -> Result<String, PdsError> {
    let fail = |e: &dyn std::fmt::Display| PdsError::Internal(format!("hashing a password: {e}"));
    let params = Params::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| fail(&e))?;
    let mut out = [0u8; 32];
    let blocks = room(memory, params.block_count()).ok_or_else(|| fail(&"too much memory"))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, blocks)
        .map_err(|e| fail(&e))?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str(),
        data_encoding::BASE64_NOPAD.encode(&out)
    ))
}

/// Checks a password against a PHC string (any argon2 variant and parameters), comparing in
/// constant time.
fn verify_password(memory: &mut Memory, password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let Some(blocks) = room(memory, params.block_count()) else {
        return false;
    };
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, blocks)
        .is_ok()
        && crate::core::crypto::constant_time_eq(&out, expected.as_bytes())
}

/// A hash nobody's password matches, checked when the identifier is unknown so a failed login
/// costs the same whether or not the account exists.
fn dummy_hash(memory: &mut Memory) -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(hash) = HASH.get() {
        return hash.clone();
    }
    let hash = hash_password(memory, "not-a-real-password").unwrap_or_default();
    HASH.get_or_init(|| hash).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_standard_phc_strings_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let mut memory = Memory::new();
        let ours = hash_password(&mut memory, "correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        let theirs = Argon2::default()
            .hash_password(b"battery staple", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(verify_password(&mut memory, "battery staple", &theirs));
        assert!(!verify_password(&mut memory, "battery stapler", &theirs));
        assert!(!verify_password(&mut memory, "x", "not a phc string"));
        assert_eq!(
            memory.len(),
            Params::DEFAULT_M_COST as usize,
            "one buffer, reused"
        );
    }

    #[test]
    fn memory_is_kept_through_a_burst_and_freed_when_the_queue_is_empty() {
        let (jobs, receiver) = sync_channel::<Job>(QUEUE);
        let (report, capacity) = std::sync::mpsc::channel::<usize>();
        let capacity_job = |report: std::sync::mpsc::Sender<usize>| -> Job {
            Box::new(move |memory: &mut Memory| {
                let _ = report.send(memory.capacity());
            })
        };
        // A burst, queued before the thread starts: a hash, then a job that finds its memory.
        jobs.send(Box::new(|memory: &mut Memory| {
            hash_password(memory, "correct horse").unwrap();
        }))
        .unwrap();
        jobs.send(capacity_job(report.clone())).unwrap();
        let receiver = Arc::new(Mutex::new(receiver));
        let worker = {
            let receiver = receiver.clone();
            std::thread::spawn(move || work(&receiver))
        };
        assert_eq!(
            capacity.recv().unwrap(),
            RESERVED_BLOCKS,
            "kept for the job queued behind the hash, with room above glibc's mmap threshold"
        );
        // Once the queue is empty the thread frees it. A job sent right after the last one may
        // still find it (the thread had not looked at the queue yet), but not for long.
        let mut freed = false;
        for _ in 0..500 {
            jobs.send(capacity_job(report.clone())).unwrap();
            if capacity.recv().unwrap() == 0 {
                freed = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(freed, "an idle thread holds no argon2 memory");
        drop(jobs);
        worker.join().unwrap();
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once() {
        let pool = PasswordHashing::start();
        let hash = pool.hash("correct horse").await.unwrap();
        assert!(pool.verify("correct horse", &hash).await.unwrap());
        assert!(!pool.verify("wrong", &hash).await.unwrap());
        // Flood: many checks at once; some run, the rest are refused, none waits unbounded.
        let mut tasks = Vec::new();
        for _ in 0..(THREADS + QUEUE) * 3 {
            let (pool, hash) = (pool.clone(), hash.clone());
            tasks.push(tokio::spawn(async move { pool.verify("x", &hash).await }));
        }
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(matched) => assert!(!matched),
                Err(PdsError::RateLimited(_)) => refused += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(refused > 0, "a flood beyond the queue is refused");
    }
}
