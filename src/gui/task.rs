//! Work off the UI thread: a [`Task`] runs a closure on its own thread with a [`Job`] for
//! progress and Cancel, and hands the result back when the window polls it.

use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::{Duration, Instant};

use eframe::egui;

use crate::job::Job;

/// The thread pool that background work's parallel loops run on. The UI thread's own
/// parallel loops (mapping a frame to colours) use rayon's global pool, so they never queue
/// behind the chunks of a long reduce: sharing one pool froze the window for the whole reduce.
fn workers() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("stackscope-worker-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

pub struct Task<T> {
    pub label: String,
    job: Job,
    rx: Receiver<T>,
    started: Instant,
}

/// What a poll found.
pub enum Poll<T> {
    Running,
    Done(T),
    /// The worker ended without a result (it panicked); the message says so.
    Lost(String),
}

impl<T: Send + 'static> Task<T> {
    /// Starts `work` on a new thread; the window is asked to repaint when it finishes.
    pub fn spawn(
        label: impl Into<String>,
        ctx: &egui::Context,
        work: impl FnOnce(&Job) -> T + Send + 'static,
    ) -> Self {
        let label = label.into();
        let job = Job::new();
        let (tx, rx) = channel();
        let worker_job = job.clone();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("stackscope: {label}"))
            .spawn(move || {
                let result = match workers() {
                    Some(pool) => pool.install(|| work(&worker_job)),
                    None => work(&worker_job),
                };
                let _ = tx.send(result);
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            // The closure is gone with the failed spawn; the poll reports the lost result.
            job.set_message(format!("could not start a worker thread: {e}"));
        }
        Self {
            label,
            job,
            rx,
            started: Instant::now(),
        }
    }

    pub fn poll(&mut self) -> Poll<T> {
        match self.rx.try_recv() {
            Ok(result) => Poll::Done(result),
            Err(TryRecvError::Empty) => Poll::Running,
            Err(TryRecvError::Disconnected) => Poll::Lost(format!(
                "{} stopped without a result ({})",
                self.label,
                self.job.snapshot().message
            )),
        }
    }

    /// Blocks until the task ends (tests, and shutting down).
    pub fn wait(&mut self, timeout: Duration) -> Poll<T> {
        match self.rx.recv_timeout(timeout) {
            Ok(result) => Poll::Done(result),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Poll::Running,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                Poll::Lost(format!("{} stopped without a result", self.label))
            }
        }
    }

    pub fn job(&self) -> &Job {
        &self.job
    }

    pub fn cancel(&self) {
        self.job.cancel();
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// A task nobody holds any more is cancelled: its worker stops at its next check and its
/// writer removes its temporary file, instead of running on unseen.
impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.job.cancel();
    }
}

impl<U: Send + 'static> Task<Result<U, String>> {
    /// The outcome once the task ended (a lost worker is an error), `None` while it runs.
    /// A cancelled task's outcome is `None` too: the user asked for it, nothing to report.
    pub fn finished(&mut self) -> Option<Option<Result<U, String>>> {
        let result = match self.poll() {
            Poll::Running => return None,
            Poll::Done(result) => result,
            Poll::Lost(e) => Err(e),
        };
        Some((!self.job.is_cancelled()).then_some(result))
    }
}

/// The line a finished video export shows: where, how big, what it holds, how long it took.
pub fn written_line(
    path: &std::path::Path,
    bytes: u64,
    frames: u64,
    (width, height): (usize, usize),
    fps: f64,
    secs: f64,
) -> String {
    format!(
        "wrote {} ({}, {frames} frames {width}×{height} at {fps:.3} fps, {secs:.1} s)",
        path.display(),
        crate::load::human_bytes(bytes),
    )
}

/// Frames done, frames/s and ETA of a running frame-writing task, then its progress bar with
/// Cancel; asks for a repaint soon, so the figures move.
pub fn frames_progress<T: Send + 'static>(ui: &mut egui::Ui, task: &Task<T>) {
    let p = task.job().snapshot();
    let secs = task.elapsed().as_secs_f64().max(1e-3);
    let fps = p.done as f64 / secs;
    let eta = if fps > 0.0 && p.total > p.done {
        format!(", ETA {:.0} s", (p.total - p.done) as f64 / fps)
    } else {
        String::new()
    };
    ui.label(format!(
        "{} / {} frames, {fps:.0} frames/s{eta}",
        p.done, p.total
    ));
    progress_row(ui, &task.label, task.job());
    ui.ctx().request_repaint_after(Duration::from_millis(100));
}

/// A video writer's row in its dialog: the running job's progress, or the Export button
/// (true when clicked); then the last outcome.
pub fn export_row<T: Send + 'static>(
    ui: &mut egui::Ui,
    running: Option<&Task<T>>,
    outcome: Option<&Result<String, String>>,
) -> bool {
    let clicked = match running {
        Some(task) => {
            frames_progress(ui, task);
            false
        }
        None => ui.button("Export").clicked(),
    };
    outcome_ui(ui, outcome);
    clicked
}

/// The last outcome line: plain on success, in the error colour otherwise.
pub fn outcome_ui(ui: &mut egui::Ui, outcome: Option<&Result<String, String>>) {
    match outcome {
        Some(Ok(line)) => {
            ui.label(line);
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        None => {}
    }
}

/// A progress bar with a label and a Cancel button that cancels `job`.
pub fn progress_row(ui: &mut egui::Ui, label: &str, job: &Job) {
    let progress = job.snapshot();
    ui.horizontal(|ui| {
        // The button comes first so that it stays put while the text changes width.
        if progress.cancelled {
            ui.label("cancelling…");
        } else if ui.button("Cancel").clicked() {
            job.cancel();
        }
        let bar = match progress.fraction() {
            Some(f) => egui::ProgressBar::new(f).show_percentage(),
            None => egui::ProgressBar::new(0.0).animate(true),
        };
        ui.add_sized([160.0, 16.0], bar);
        if progress.message.is_empty() {
            ui.label(label);
        } else {
            ui.label(format!("{label}: {}", progress.message));
        }
    });
}

/// "START to END" frame fields (empty: the first / last frame).
pub fn range_fields(ui: &mut egui::Ui, start: &mut String, end: &mut String, end_hint: &str) {
    ui.add(
        egui::TextEdit::singleline(start)
            .desired_width(44.0)
            .hint_text("0"),
    );
    ui.label("to");
    ui.add(
        egui::TextEdit::singleline(end)
            .desired_width(44.0)
            .hint_text(end_hint),
    );
}
