//! The newest frames of one event log, shared by all of its live subscribers.
//!
//! Without it, every subscriber at the head of a stream reads the log table after every commit: a
//! read transaction on the blocking pool and a copy of each frame, per subscriber, per event. With
//! 100 subscribers that fan-out cost dwarfs verifying the event. Here the first subscriber to wake
//! reads the new frames once (the others wait for it on `refill`) and everyone sends the same
//! reference-counted bytes. Subscribers replaying older events read the table as before.
//!
//! The cached frames are always a contiguous run of the log: frames are appended only when they were
//! read starting right after the newest cached one, otherwise the cache restarts from a read that
//! reached the head. So a subscriber whose position lies inside the run gets exactly what the table
//! would give it.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Mutex;

use bytes::Bytes;

/// Bytes of frames kept; older frames are dropped first. Enough for every head subscriber to find
/// the frames of the last few seconds of a busy stream.
const MAX_BYTES: usize = 16 << 20;

/// Sequenced frames ready to send.
pub type SharedFrames = Vec<(u64, Bytes)>;

#[derive(Default)]
pub struct Tail {
    run: Mutex<Run>,
    refill: tokio::sync::Mutex<()>,
}

/// The cached frames (contiguous in the log) and their total size.
#[derive(Default)]
struct Run {
    frames: VecDeque<(u64, Bytes)>,
    bytes: usize,
}

impl Tail {
    /// Up to `limit` frames after `position`: from memory when the cached run covers `position`
    /// and holds newer frames, else through `read` (the log table).
    pub async fn after<F, Fut, E>(
        &self,
        position: u64,
        limit: usize,
        read: F,
    ) -> Result<SharedFrames, E>
    where
        F: FnOnce(u64, usize) -> Fut,
        Fut: Future<Output = Result<Vec<(u64, Vec<u8>)>, E>>,
    {
        if let Some(frames) = self.cached(position, limit) {
            return Ok(frames);
        }
        let at_head = self.newest().is_none_or(|newest| position >= newest);
        if !at_head {
            // Behind the cached run (a replay): read the table; the cache stays as it is.
            return Ok(share(read(position, limit).await?));
        }
        // At the head: one subscriber reads, the others find its frames here afterwards.
        let _refill = self.refill.lock().await;
        if let Some(frames) = self.cached(position, limit) {
            return Ok(frames);
        }
        let frames = share(read(position, limit).await?);
        self.remember(position, &frames, frames.len() < limit);
        Ok(frames)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Run> {
        self.run
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn newest(&self) -> Option<u64> {
        self.lock().frames.back().map(|(seq, _)| *seq)
    }

    /// The cached frames after `position`, if the run covers it and has any.
    fn cached(&self, position: u64, limit: usize) -> Option<SharedFrames> {
        let run = self.lock();
        let frames = &run.frames;
        let (oldest, _) = frames.front()?;
        // The run is contiguous from `oldest`: nothing between `position` and it can be missing.
        if position.saturating_add(1) < *oldest {
            return None;
        }
        let start = frames.partition_point(|(seq, _)| *seq <= position);
        let out: SharedFrames = frames.iter().skip(start).take(limit).cloned().collect();
        (!out.is_empty()).then_some(out)
    }

    /// Adds frames read after `position`: appended when they continue the run, or as a new run
    /// when they reach the head of the log (`complete`).
    fn remember(&self, position: u64, new: &SharedFrames, complete: bool) {
        if new.is_empty() {
            return;
        }
        let mut run = self.lock();
        let continues = run
            .frames
            .back()
            .is_none_or(|(newest, _)| *newest == position);
        if !continues {
            if !complete {
                return;
            }
            *run = Run::default();
        }
        for (seq, frame) in new {
            run.bytes += frame.len();
            run.frames.push_back((*seq, frame.clone()));
        }
        while run.bytes > MAX_BYTES && run.frames.len() > 1 {
            if let Some((_, old)) = run.frames.pop_front() {
                run.bytes -= old.len();
            }
        }
    }
}

fn share(frames: Vec<(u64, Vec<u8>)>) -> SharedFrames {
    frames
        .into_iter()
        .map(|(seq, frame)| (seq, Bytes::from(frame)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A log of frames 1..=n (seq 7 missing: gaps happen) and a count of table reads.
    struct Log {
        newest: u64,
        reads: AtomicUsize,
    }

    impl Log {
        async fn read(&self, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, ()> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok((after + 1..=self.newest)
                .filter(|seq| *seq != 7)
                .take(limit)
                .map(|seq| (seq, seq.to_be_bytes().to_vec()))
                .collect())
        }
    }

    fn seqs(frames: &SharedFrames) -> Vec<u64> {
        frames.iter().map(|(seq, _)| *seq).collect()
    }

    #[tokio::test]
    async fn head_subscribers_share_one_read_and_see_what_the_table_holds() {
        let tail = Tail::default();
        let mut log = Log {
            newest: 10,
            reads: AtomicUsize::new(0),
        };
        let first = tail.after(10, 500, |a, l| log.read(a, l)).await.unwrap();
        assert!(first.is_empty());
        log.newest = 12;
        let a = tail.after(10, 500, |a, l| log.read(a, l)).await.unwrap();
        let b = tail.after(10, 500, |a, l| log.read(a, l)).await.unwrap();
        assert_eq!((seqs(&a), seqs(&b)), (vec![11, 12], vec![11, 12]));
        assert_eq!(
            log.reads.load(Ordering::SeqCst),
            2,
            "the second came from memory"
        );
        let from_11 = tail.after(11, 500, |a, l| log.read(a, l)).await.unwrap();
        assert_eq!(seqs(&from_11), vec![12]);
        assert_eq!(log.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn replays_read_the_table_and_never_break_the_run() {
        let tail = Tail::default();
        let log = Log {
            newest: 20,
            reads: AtomicUsize::new(0),
        };
        // A head subscriber anchors the run at 18..=20.
        let head = tail.after(17, 500, |a, l| log.read(a, l)).await.unwrap();
        assert_eq!(seqs(&head), vec![18, 19, 20]);
        // A replay from 0 in pages of 4, across the gap at 7: always what the table says.
        let mut position = 0;
        let mut seen = Vec::new();
        loop {
            let page = tail
                .after(position, 4, |a, l| log.read(a, l))
                .await
                .unwrap();
            let Some((last, _)) = page.last() else { break };
            position = *last;
            seen.extend(seqs(&page));
        }
        let expected: Vec<u64> = (1..=20).filter(|s| *s != 7).collect();
        assert_eq!(seen, expected);
    }

    #[tokio::test]
    async fn old_frames_leave_when_the_budget_is_spent() {
        let tail = Tail::default();
        let big = vec![0u8; MAX_BYTES / 3];
        for seq in 1..=5u64 {
            let frame = big.clone();
            tail.after(seq - 1, 500, |_, _| async move {
                Ok::<_, ()>(vec![(seq, frame)])
            })
            .await
            .unwrap();
        }
        let run = tail.lock();
        assert!(run.frames.len() <= 3, "{} frames kept", run.frames.len());
        assert!(run.bytes <= MAX_BYTES);
        assert_eq!(run.frames.back().map(|(s, _)| *s), Some(5));
    }
}
