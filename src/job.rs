//! Progress and cancellation for long-running work, shared by the CLI and the window.
//!
//! A [`Job`] is a cheap, cloneable handle. The worker calls [`Job::set_total`],
//! [`Job::advance`] and [`Job::check`]; the observer (a progress bar thread in the CLI,
//! the window's repaint loop) reads [`Job::snapshot`] and may call [`Job::cancel`].
//! Nothing here blocks: the observer polls, so a worker never waits on a UI.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The error a worker returns when it noticed that its job was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

#[derive(Debug, Default)]
struct Inner {
    done: AtomicU64,
    total: AtomicU64,
    cancelled: AtomicBool,
    message: Mutex<String>,
}

/// A handle on one unit of work: progress counters, a status message and a cancel flag.
#[derive(Debug, Clone, Default)]
pub struct Job {
    inner: Arc<Inner>,
}

/// What an observer sees of a job at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    /// 0 while the total is not known yet.
    pub total: u64,
    pub message: String,
    pub cancelled: bool,
}

impl Progress {
    /// Fraction done in 0..=1, or `None` while the total is unknown.
    pub fn fraction(&self) -> Option<f32> {
        (self.total > 0).then(|| (self.done as f64 / self.total as f64).min(1.0) as f32)
    }
}

impl Job {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the amount of work and resets the done counter.
    pub fn set_total(&self, total: u64) {
        self.inner.total.store(total, Ordering::Relaxed);
        self.inner.done.store(0, Ordering::Relaxed);
    }

    pub fn advance(&self, amount: u64) {
        self.inner.done.fetch_add(amount, Ordering::Relaxed);
    }

    pub fn set_message(&self, message: impl Into<String>) {
        let mut guard = self
            .inner
            .message
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *guard = message.into();
    }

    /// Asks the worker to stop at its next [`Job::check`].
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Relaxed)
    }

    /// Returns `Err(Cancelled)` once [`Job::cancel`] was called; workers call this between
    /// units of work so cancellation takes effect within one frame.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }

    pub fn snapshot(&self) -> Progress {
        let message = self
            .inner
            .message
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Progress {
            done: self.inner.done.load(Ordering::Relaxed),
            total: self.inner.total.load(Ordering::Relaxed),
            message,
            cancelled: self.is_cancelled(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_and_cancel_are_seen_through_clones() {
        let job = Job::new();
        let observer = job.clone();
        job.set_total(10);
        job.advance(4);
        job.set_message("decoding");
        let p = observer.snapshot();
        assert_eq!((p.done, p.total, p.message.as_str()), (4, 10, "decoding"));
        assert_eq!(p.fraction(), Some(0.4));
        assert!(job.check().is_ok());
        observer.cancel();
        assert_eq!(job.check(), Err(Cancelled));
    }

    #[test]
    fn unknown_total_has_no_fraction() {
        let job = Job::new();
        job.advance(3);
        assert_eq!(job.snapshot().fraction(), None);
    }
}
