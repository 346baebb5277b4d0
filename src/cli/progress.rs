//! A progress bar on stderr that follows a [`Job`] from its own thread, and Ctrl-C → cancel.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use stackscope::Job;

/// The job Ctrl-C cancels; the handler is installed once per process.
static CTRL_C_JOB: OnceLock<std::sync::Mutex<Option<Job>>> = OnceLock::new();

/// Makes Ctrl-C cancel `job` (a second Ctrl-C while cancelling exits at once, after removing
/// every temporary output file, so that not even a hidden partial file stays behind).
pub fn cancel_on_ctrl_c(job: &Job) {
    let slot = CTRL_C_JOB.get_or_init(|| {
        let _ = ctrlc::set_handler(|| {
            let guard = CTRL_C_JOB
                .get()
                .and_then(|m| m.lock().ok().and_then(|g| g.clone()));
            match guard {
                Some(job) if !job.is_cancelled() => job.cancel(),
                _ => {
                    stackscope::output::remove_pending();
                    std::process::exit(130)
                }
            }
        });
        std::sync::Mutex::new(None)
    });
    if let Ok(mut g) = slot.lock() {
        *g = Some(job.clone());
    }
}

/// Draws the job's progress until dropped. Hidden when stderr is not a terminal.
pub struct ProgressDisplay {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ProgressDisplay {
    pub fn start(job: &Job) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} {msg:24} [{bar:30}] {pos}/{len} {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        let (job, flag) = (job.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    let p = job.snapshot();
                    if p.total > 0 {
                        bar.set_length(p.total);
                    }
                    bar.set_position(p.done);
                    bar.set_message(p.message);
                    // Parked rather than asleep, so that dropping the display wakes it at once.
                    std::thread::park_timeout(Duration::from_millis(100));
                }
                bar.finish_and_clear();
            })
            .ok();
        Self { stop, thread }
    }
}

impl Drop for ProgressDisplay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
