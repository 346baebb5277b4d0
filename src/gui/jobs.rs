//! Every background job the window runs, in one registry: its kind, the document it was
//! started for, its [`Task`] (progress, Cancel, cancel-on-drop) and a typed outcome.
//!
//! Adding a kind of job means a [`JobKind`], a [`Done`] variant and the arm that applies it
//! (`App::finish`); the status bar, "is anything busy" and exit handling read this registry
//! and need no change.

use std::time::Duration;

use eframe::egui;
use ndarray::{Array2, Array3};

use super::document::Layer;
use super::task::{Poll, Task};
use crate::analyze::{AnalysisResult, AnalyzeError};
use crate::audio::{AudioError, Spectrum, VisualizeReport};
use crate::export::{ExportError, ExportReport};
use crate::interp::Choice;
use crate::job::{Cancelled, Job};
use crate::load::{LoadError, Loaded};
use crate::ops::{
    CropError, Envelope, LineSpec, NormalizeError, Normalizer, ReduceError, RoiCurve, Shape,
};
use crate::stack::FrameStack;

/// What a job does. At most one job of each kind runs; starting another replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Load,
    /// Reduce, normalization, crop and mask from a file: one at a time, each replacing the last.
    Ops,
    Curves,
    /// The kymograph and envelope along the drawn line.
    Profile,
    Export,
    AudioExport,
    Spectrum,
    Analyze,
    /// A batch over many clips.
    Batch,
    /// Opening the export preview's blender (probing a GPU can take a second).
    Blender,
    /// Opening the blender interpolated playback draws with.
    PlaybackBlender,
}

impl JobKind {
    /// Jobs that write files: the window waits for them (briefly) on exit, so that they
    /// remove their temporary files.
    pub fn writes_files(self) -> bool {
        matches!(self, Self::Export | Self::AudioExport)
    }

    /// Jobs the dialogs show with their own progress; the status bar shows the others.
    pub fn shown_by_dialog(self) -> bool {
        matches!(
            self,
            Self::Export
                | Self::AudioExport
                | Self::Analyze
                | Self::Spectrum
                | Self::Blender
                | Self::PlaybackBlender
        )
    }
}

/// A finished job's value.
pub enum Done {
    Loaded(Loaded),
    Layer(Layer),
    Normalizer(Normalizer),
    Stack(FrameStack),
    Mask(Array2<bool>),
    Curves(Vec<Shape>, Vec<RoiCurve>),
    Profile(LineSpec, Array3<f32>, Envelope),
    Exported(ExportReport),
    AudioExported(VisualizeReport),
    /// A spectrum; the job's key says which file and settings it is for.
    Spectrum(Spectrum),
    Analysis(Vec<AnalysisResult>),
    Batch(crate::batch::Tally),
    Blender(Choice),
}

/// Why a job failed: the core's own errors, or settings the form could not turn into any.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Reduce(#[from] ReduceError),
    #[error(transparent)]
    Normalize(#[from] NormalizeError),
    #[error(transparent)]
    Crop(#[from] CropError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Analyze(#[from] AnalyzeError),
    #[error(transparent)]
    Batch(#[from] crate::batch::BatchError),
    #[error("cancelled")]
    Cancelled(#[from] Cancelled),
    #[error("{0}")]
    Settings(String),
    /// The worker ended without a result (it panicked).
    #[error("{0}")]
    Lost(String),
}

pub type JobResult = Result<Done, JobError>;

struct Entry {
    kind: JobKind,
    /// The document the result belongs to (`None`: to none, e.g. a file analysed on its own).
    doc: Option<u64>,
    /// What the job computes for (the ROIs of a curves job, the file of a spectrum), so a
    /// caller can tell whether the running job is still the one it wants.
    key: String,
    task: Task<JobResult>,
}

/// A job that ended, handed back once.
pub struct Finished {
    pub kind: JobKind,
    pub doc: Option<u64>,
    pub key: String,
    pub label: String,
    /// True when the user (or a newer job) cancelled it: the result is then not applied.
    pub cancelled: bool,
    pub result: JobResult,
}

#[derive(Default)]
pub struct Jobs {
    entries: Vec<Entry>,
}

impl Jobs {
    /// Runs `work` on a named worker thread as the one job of `kind`; a job of that kind
    /// still running is cancelled and forgotten.
    pub fn start(
        &mut self,
        ctx: &egui::Context,
        kind: JobKind,
        doc: Option<u64>,
        key: impl Into<String>,
        label: impl Into<String>,
        work: impl FnOnce(&Job) -> JobResult + Send + 'static,
    ) {
        self.cancel(kind);
        let task = Task::spawn(label, ctx, work);
        self.entries.push(Entry {
            kind,
            doc,
            key: key.into(),
            task,
        });
    }

    /// Cancels the job of `kind` and drops it (its result, if any, is never applied). A
    /// writer still removes its temporary file on its own thread.
    pub fn cancel(&mut self, kind: JobKind) {
        self.entries.retain(|e| e.kind != kind);
    }

    pub fn running(&self, kind: JobKind) -> bool {
        self.entries.iter().any(|e| e.kind == kind)
    }

    /// True when the job of `kind` runs for document `doc` and `key`.
    pub fn running_for(&self, kind: JobKind, doc: u64, key: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.kind == kind && e.doc == Some(doc) && e.key == key)
    }

    /// The task of `kind`, for its progress.
    pub fn task(&self, kind: JobKind) -> Option<&Task<JobResult>> {
        self.entries
            .iter()
            .find(|e| e.kind == kind)
            .map(|e| &e.task)
    }

    pub fn busy(&self) -> bool {
        !self.entries.is_empty()
    }

    /// Label and job of every running job, in start order.
    pub fn all(&self) -> impl Iterator<Item = (JobKind, &str, &Job)> {
        self.entries
            .iter()
            .map(|e| (e.kind, e.task.label.as_str(), e.task.job()))
    }

    /// Takes out every job that ended.
    pub fn poll(&mut self) -> Vec<Finished> {
        let mut finished = Vec::new();
        let mut i = 0;
        while i < self.entries.len() {
            let result = match self.entries[i].task.poll() {
                Poll::Running => {
                    i += 1;
                    continue;
                }
                Poll::Done(result) => result,
                Poll::Lost(e) => Err(JobError::Lost(e)),
            };
            let entry = self.entries.remove(i);
            finished.push(Finished {
                kind: entry.kind,
                doc: entry.doc,
                key: entry.key.clone(),
                label: entry.task.label.clone(),
                cancelled: entry.task.job().is_cancelled(),
                result,
            });
        }
        finished
    }

    /// Cancels everything; waits up to `timeout` for the jobs that write files, so they can
    /// remove their temporaries before the process ends.
    pub fn shut_down(&mut self, timeout: Duration) {
        for e in &self.entries {
            e.task.cancel();
        }
        let deadline = std::time::Instant::now() + timeout;
        for e in self.entries.iter_mut().filter(|e| e.kind.writes_files()) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let _ = e.task.wait(left);
        }
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_all(jobs: &mut Jobs) -> Vec<Finished> {
        let start = std::time::Instant::now();
        let mut done = Vec::new();
        while jobs.busy() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "jobs never ended"
            );
            done.extend(jobs.poll());
            std::thread::sleep(Duration::from_millis(2));
        }
        done
    }

    #[test]
    fn a_new_job_of_a_kind_cancels_the_old_one_and_only_the_new_result_comes_back() {
        let ctx = egui::Context::default();
        let mut jobs = Jobs::default();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        jobs.start(&ctx, JobKind::Ops, Some(1), "", "slow", move |job| {
            // Runs until cancelled, then says so.
            while !job.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            let _ = tx.send(());
            Err(JobError::Cancelled(Cancelled))
        });
        jobs.start(&ctx, JobKind::Ops, Some(1), "", "fast", |_| {
            Err(JobError::Settings("second".into()))
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the replaced job was cancelled");
        let done = wait_all(&mut jobs);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].label, "fast");
        assert!(matches!(&done[0].result, Err(JobError::Settings(s)) if s == "second"));
        assert!(!done[0].cancelled);
    }

    #[test]
    fn kinds_run_side_by_side_and_a_lost_worker_is_an_error() {
        let ctx = egui::Context::default();
        let mut jobs = Jobs::default();
        jobs.start(&ctx, JobKind::Curves, Some(3), "a", "curves", |_| {
            Err(JobError::Settings("x".into()))
        });
        jobs.start(&ctx, JobKind::Profile, Some(3), "", "profile", |_| {
            panic!("worker died")
        });
        assert!(jobs.running_for(JobKind::Curves, 3, "a") || !jobs.running(JobKind::Curves));
        assert!(!jobs.running_for(JobKind::Curves, 3, "b"));
        let mut done = wait_all(&mut jobs);
        done.sort_by_key(|f| f.label.clone());
        assert_eq!(done.len(), 2);
        assert_eq!(done[0].doc, Some(3));
        assert!(matches!(done[1].result, Err(JobError::Lost(_))));
    }

    #[test]
    fn cancel_drops_the_job_and_stops_its_worker() {
        let ctx = egui::Context::default();
        let mut jobs = Jobs::default();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        jobs.start(&ctx, JobKind::Load, None, "", "load", move |job| {
            while !job.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            let _ = tx.send(());
            Err(JobError::Cancelled(Cancelled))
        });
        jobs.cancel(JobKind::Load);
        assert!(!jobs.busy());
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the worker saw the cancel");
    }
}
