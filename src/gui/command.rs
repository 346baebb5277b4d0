//! What panels ask for. Panels draw from a read-only view and push [`Command`]s; the app
//! applies them at the end of the frame, in [`App::apply`](super::App), in one `match`.

use std::path::PathBuf;

use crate::display::DisplayMapping;
use crate::interp::BlendDevice;
use crate::load::LoadOptions;
use crate::ops::{LineSpec, ReduceOp, Shape};

use super::forms::{AudioForm, BatchForm, ExportForm, LoadForm, NormalizeForm};
use super::jobs::JobKind;
use super::panels::analyzers::AnalyzeForm;
use super::saves::Saved;
use super::viewer::Tool;

/// The windows that open and close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Export,
    Audio,
    Analyzers,
    Batch,
    LoadReport,
    Shortcuts,
    FrameTime,
}

#[derive(Debug, Clone)]
pub enum Command {
    /// The load dialog on a path (empty: none chosen yet).
    OpenDialog(String),
    CloseLoadDialog,
    /// Empty the frame cache in this folder.
    ClearCache(PathBuf),
    /// Load `path` (the dialog's form is remembered for next time).
    Open {
        path: PathBuf,
        options: LoadOptions,
        form: Option<LoadForm>,
    },

    Seek(usize),
    /// The frame shown at this time (seconds; frame numbers without a frame rate).
    SeekTime(f64),
    /// Frames forward (positive) or back.
    StepFrames(isize),
    SeekLast,
    TogglePlay,

    Fit,
    OneToOne,
    Zoom(f32),
    SetTool(Tool),
    /// Width of the profile line the Line tool draws, in pixels.
    SetLineWidth(usize),
    SetColorbar(bool),
    Show(Window, bool),
    Toggle(Window),

    SetMapping(DisplayMapping),
    ShowLayer(bool),
    AddRoi(Shape),
    SetRoiShape {
        index: usize,
        shape: Shape,
    },
    SelectRoi(Option<usize>),
    RemoveRoi(usize),
    SetLine(LineSpec),

    RunReduce {
        op: ReduceOp,
        start: String,
        end: String,
    },
    Normalize(NormalizeForm),
    NormalizeOff,
    CropToRoi,
    MaskFromRoi,
    MaskFromFile(PathBuf),
    ClearMask,

    /// Ask where, then write.
    Save(Saved),
    Write {
        what: Saved,
        path: PathBuf,
        overwrite: bool,
    },

    StartExport(ExportForm),
    /// Open the blender the export preview (and an export) would use.
    OpenBlender(BlendDevice),
    StartAudioExport(AudioForm),
    /// Compute the spectrum of `path` with these settings (`key` says which).
    ComputeSpectrum {
        key: String,
        path: PathBuf,
        settings: crate::audio::SpectrumSettings,
    },
    StartAnalysis(AnalyzeForm),
    /// Run the analyzers the form chose over a folder of clips.
    RunBatch {
        form: BatchForm,
        analyze: AnalyzeForm,
    },
    /// Open a clip a batch finished, with its results over it.
    OpenBatchResult {
        clip: PathBuf,
        results: PathBuf,
    },
    Cancel(JobKind),
}
