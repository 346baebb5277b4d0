//! The window's panels, one per file. Each keeps its own form state, draws itself from a
//! read-only [`View`] and pushes [`Command`](super::command::Command)s for anything that
//! changes the document or starts work; none of them mutates the document.

pub mod analyzers;
pub mod audio;
pub mod batch;
pub mod display;
pub mod export;
pub mod load;
pub mod load_report;
pub mod menu_bar;
pub mod ops;
pub mod plots;
pub mod shortcuts;
pub mod status_bar;
pub mod storyboard;
pub mod timeline;
pub mod tracks;
pub mod welcome;

use std::path::PathBuf;

use super::document::Document;
use super::jobs::Jobs;
use crate::analyze::AnalysisResult;

/// What every panel may read: the open document, the running jobs, the analysis results and
/// the remembered places.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub doc: Option<&'a Document>,
    /// Bumped per opened stack; results carry the id of the document they belong to.
    pub doc_id: u64,
    pub jobs: &'a Jobs,
    /// The analysis results drawn over the open document (empty when they belong to none).
    pub results: &'a [AnalysisResult],
    pub last_dir: Option<&'a PathBuf>,
    pub recent: &'a [PathBuf],
    pub playing: bool,
    pub show_colorbar: bool,
    pub show_frame_time: bool,
}

/// The panels' own state.
#[derive(Default)]
pub struct Panels {
    pub viewer: super::viewer::Viewer,
    pub ops: ops::OpsPanel,
    pub plots: plots::Plots,
    pub export: export::ExportPanel,
    pub audio: audio::AudioPanel,
    pub analyzers: analyzers::AnalyzersPanel,
    pub batch: batch::BatchPanel,
    pub load: Option<load::LoadDialog>,
    pub show_report: bool,
    pub show_shortcuts: bool,
    pub show_frame_time: bool,
}

impl Panels {
    /// Shows a job's outcome in the dialog that started it; false when no dialog shows
    /// outcomes of that kind (the status bar then does).
    pub fn set_outcome(
        &mut self,
        kind: super::jobs::JobKind,
        outcome: Result<String, String>,
    ) -> bool {
        use super::jobs::JobKind;
        let slot = match kind {
            JobKind::Export => &mut self.export.outcome,
            JobKind::AudioExport => &mut self.audio.outcome,
            JobKind::Analyze => &mut self.analyzers.outcome,
            JobKind::Batch => &mut self.batch.outcome,
            _ => return false,
        };
        *slot = Some(outcome);
        true
    }
}
