//! MP4 export: frames from any [`FrameSource`](crate::source::FrameSource), optionally
//! interpolated, streamed into libx264 on its own thread, with optional AAC audio.
//!
//! Memory stays flat: source frames are converted to YUV 4:2:0 one at a time, and output
//! frames cycle through a fixed pool between the blender and the encoder. The MP4 is written beside
//! the target and renamed on success ([`crate::output::Output`]): a failed or cancelled
//! export leaves no partial file and any old file untouched.

mod error;
mod pipeline;

pub use crate::media::PRESETS;
pub use error::ExportError;
pub use pipeline::{ExportReport, ExportSettings, export};

use std::path::Path;
use std::sync::Arc;

use crate::job::Job;
use crate::load::{FolderStream, LoadError, LoadOptions};
use crate::source::{FrameSource, StackSource};
use crate::stack::SourceKind;

/// Exports the stack at `path`, loaded with `options`, as `output`: a folder streams one
/// image at a time (memory stays flat however many there are), anything else is loaded
/// first (a stack over the RAM limit through the frame cache). The command line's plain
/// export and the window's batch export.
pub fn export_file(
    path: &Path,
    output: &Path,
    options: &LoadOptions,
    settings: &ExportSettings,
    job: &Job,
) -> Result<ExportReport, ExportError> {
    let load_error = |e: LoadError| match e {
        LoadError::Cancelled => ExportError::Cancelled,
        other => ExportError::Load(Box::new(other)),
    };
    let mut source: Box<dyn FrameSource> = if crate::load::detect(path) == SourceKind::Folder {
        Box::new(FolderStream::open(path, options).map_err(load_error)?)
    } else {
        let loaded = crate::load::load(path, options, job).map_err(load_error)?;
        Box::new(StackSource::new(Arc::new(loaded.stack)))
    };
    export(source.as_mut(), output, settings, job)
}
