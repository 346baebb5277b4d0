//! Loaders: a path in, a [`FrameStack`] and a [`LoadReport`] out.
//!
//! [`load`] picks the loader from the path: a folder of images, a single image, a `.npy`
//! file (memory-mapped), a (multi-page) TIFF, or anything else FFmpeg reads as video. Every
//! loader honours the same [`LoadOptions`] (range, step, subset, crop, resize, grayscale,
//! RAM limit), reports progress through a [`Job`] and stops when it is cancelled. Frames that
//! fail to decode are skipped and listed in the report; nothing here panics on bad input.
//!
//! This module knows nothing of the window or the command line.
//!
//! ```no_run
//! use stackscope::job::Job;
//! use stackscope::load::{load, LoadOptions};
//!
//! let options = LoadOptions { grayscale: true, step: 2, ..LoadOptions::default() };
//! let loaded = load("frames/".as_ref(), &options, &Job::new())?;
//! println!("{}", loaded.report);
//! # Ok::<(), stackscope::load::LoadError>(())
//! ```

pub mod cache;
mod error;
mod fill;
mod folder;
mod guard;
mod image_file;
mod npy;
mod npy_header;
mod options;
mod probe;
mod report;
mod shape;
mod stream;
mod tiff;
mod video;

use std::path::Path;
use std::time::Instant;

pub use error::LoadError;
pub use folder::{is_image_file, list_images};
pub use guard::ram_limit;
pub use options::{
    CacheChoice, FrameRange, LoadOptions, Rect, Resize, Scaling, Selection, parse_bytes,
};
pub use probe::{Estimate, Probe, estimate, probe, reference_image};
pub use report::{GuardDecision, LoadReport, Skipped, human_bytes};
pub use shape::{FrameGeometry, GeometryError, luma};
pub use stream::FolderStream;
pub use video::{VideoProbe, VideoReader, probe_video};

use crate::job::Job;
use crate::stack::{FrameStack, SourceKind};
use cache::{Cache, Slot};

/// A loaded stack and the account of how it was loaded.
#[derive(Debug)]
pub struct Loaded {
    pub stack: FrameStack,
    pub report: LoadReport,
}

/// Which loader reads `path`: folders are folders, then the extension decides, and whatever
/// is left is offered to FFmpeg as a video.
pub fn detect(path: &Path) -> SourceKind {
    if path.is_dir() {
        return SourceKind::Folder;
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("npy") => SourceKind::Npy,
        Some("tif" | "tiff") => SourceKind::Tiff,
        _ if is_image_file(path) => SourceKind::Image,
        _ => SourceKind::Video,
    }
}

/// The text of a caught panic.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "a panic".into())
}

/// Runs `load`, turning a panic inside it (a decoder's bug) into [`LoadError::DecoderPanic`].
fn without_panics(
    path: &Path,
    load: impl FnOnce() -> Result<Loaded, LoadError>,
) -> Result<Loaded, LoadError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(load)).unwrap_or_else(|payload| {
        Err(LoadError::DecoderPanic {
            path: path.to_path_buf(),
            message: panic_message(payload.as_ref()),
        })
    })
}

/// Loads the stack at `path`.
pub fn load(path: &Path, options: &LoadOptions, job: &Job) -> Result<Loaded, LoadError> {
    options.validate().map_err(LoadError::Options)?;
    if !path.exists() {
        return Err(LoadError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let started = Instant::now();
    let kind = detect(path);
    // `.npy` files are mapped already and single images are one frame: neither needs the
    // frame cache.
    let slot = match (kind, Cache::for_load(options)) {
        (SourceKind::Folder | SourceKind::Tiff | SourceKind::Video, Some(cache)) => {
            Some(Slot::new(cache, path, options)?)
        }
        _ => None,
    };
    let reused = slot.as_ref().and_then(Slot::lookup);
    // Third-party decoders (TIFF, PNG, JPEG, WebP, npy headers) can panic on hostile input;
    // that is an error about the file, not the end of the program.
    let mut loaded = match reused {
        Some(loaded) => loaded,
        None => without_panics(path, || match kind {
            SourceKind::Folder => folder::load_folder(path, options, slot.as_ref(), job),
            SourceKind::Image => folder::load_image(path, options, job),
            SourceKind::Npy => npy::load_npy(path, options, job),
            SourceKind::Tiff => tiff::load_tiff(path, options, slot.as_ref(), job),
            SourceKind::Video | SourceKind::Generated => {
                video::load_video(path, options, slot.as_ref(), job)
            }
        })?,
    };
    if let Some(slot) = &slot
        && loaded.report.cache.as_ref().is_some_and(|c| !c.reused)
    {
        slot.commit(&loaded)?;
    }
    let report = &mut loaded.report;
    report.shape = loaded.stack.shape();
    report.frames_loaded = loaded.stack.len();
    report.bytes = loaded.stack.nbytes() as u64;
    report.mapped = loaded.stack.is_mapped();
    report.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(loaded)
}
