//! Password hashing (argon2id) on a small dedicated pool of threads with a bounded queue.
//!
//! One argon2 costs 19 MiB and tens of milliseconds by design. Run on tokio's blocking pool (512
//! threads), 256 concurrent wrong-password logins held 5 GB; here at most [`THREADS`] hashes run at
//! once and [`QUEUE`] wait, and a request that finds the queue full is refused at once (429), so
//! the memory password checks can take is bounded whatever arrives. Dedicated threads also keep
//! argon2's large allocations in a few allocator arenas instead of one per blocking thread.
//!
//! Does not: rate-limit logins (the XRPC layer does, per identifier and address).

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand_core::OsRng;

use super::PdsError;

/// Hashes computed at once.
const THREADS: usize = 2;
/// Hashes waiting for a thread; beyond this, requests are refused.
const QUEUE: usize = 16;

type Job = Box<dyn FnOnce() + Send>;

/// The pool. Cheap to clone.
#[derive(Clone)]
pub struct PasswordHashing {
    jobs: SyncSender<Job>,
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
        PasswordHashing { jobs }
    }

    /// Runs `job` on the pool, or refuses at once when the queue is full.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PdsError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(job());
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(PdsError::RateLimited(
                    "Too many password checks in progress; try again shortly".into(),
                ));
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(PdsError::Internal("the password hashing pool stopped".into()));
            }
        }
        answer
            .await
            .map_err(|_| PdsError::Internal("a password hashing job was dropped".into()))
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: &str) -> Result<String, PdsError> {
        let password = password.to_owned();
        self.run(move || hash_password(&password)).await?
    }

    /// Whether `password` matches the PHC string `hash` (constant time).
    pub async fn verify(&self, password: &str, hash: &str) -> Result<bool, PdsError> {
        let (password, hash) = (password.to_owned(), hash.to_owned());
        self.run(move || verify_password(&password, &hash)).await
    }

    /// Checks `password` against a hash nobody's password matches (an unknown identifier costs
    /// what a known one does).
    pub async fn verify_dummy(&self, password: &str) -> Result<bool, PdsError> {
        let password = password.to_owned();
        self.run(move || verify_password(&password, dummy_hash()))
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
        self.run(move || {
            candidates
                .into_iter()
                .find(|(_, hash)| verify_password(&password, hash))
                .map(|(name, _)| name)
        })
        .await
    }
}

fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let receiver = receiver
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            receiver.recv()
        };
        match job {
            // A panicking job drops its reply (its caller gets an internal error); the thread
            // stays for the next one.
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

/// Hashes a password (argon2id, random salt) into a PHC string.
fn hash_password(password: &str) -> Result<String, PdsError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PdsError::Internal(format!("hashing a password: {e}")))
}

/// Checks a password against a PHC string in constant time.
fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash nobody's password matches, checked when the identifier is unknown so a failed login
/// costs the same whether or not the account exists.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

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
