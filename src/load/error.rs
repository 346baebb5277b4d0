//! Every way a load can fail, each naming the path involved and, where there is one, the fix.

use std::path::PathBuf;

use super::shape::GeometryError;
use crate::job::Cancelled;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: no such file or folder", .path.display())]
    NotFound { path: PathBuf },

    #[error(
        "{}: the decoder failed on this file ({message}); it is damaged or of a kind the \
         decoder mishandles",
        .path.display()
    )]
    DecoderPanic { path: PathBuf, message: String },

    // The cause is shown in the message rather than chained, so it is printed once.
    #[error("{}: {cause}", .path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },

    #[error(
        "{}: the folder holds no images (looked for png, jpg, jpeg, tif, tiff, bmp, webp)",
        .path.display()
    )]
    NoImages { path: PathBuf },

    #[error("{}: none of the {tried} frames could be decoded; first failure: {first}", .path.display())]
    NothingDecoded {
        path: PathBuf,
        tried: usize,
        first: String,
    },

    #[error(
        "{} is {found_width}×{found_height} but the first frame is {width}×{height}; \
         resizing every frame to the first one's size loads them together",
        .path.display()
    )]
    MixedSizes {
        path: PathBuf,
        width: usize,
        height: usize,
        found_width: usize,
        found_height: usize,
    },

    #[error("{}: {message}", .path.display())]
    Video { path: PathBuf, message: String },

    #[error("{}: {message}", .path.display())]
    Npy { path: PathBuf, message: String },

    #[error("{}: {message}", .path.display())]
    Tiff { path: PathBuf, message: String },

    #[error("{}: {cause}", .path.display())]
    Geometry { path: PathBuf, cause: GeometryError },

    #[error(
        "{}: the range selects no frames (the source has {found})",
        .path.display()
    )]
    EmptySelection { path: PathBuf, found: usize },

    #[error(
        "{}: a single frame takes {frame_bytes} bytes, more than the RAM limit of {limit_bytes} \
         bytes; raise the RAM limit, or resize, crop or convert to gray",
        .path.display()
    )]
    FrameOverLimit {
        path: PathBuf,
        frame_bytes: u64,
        limit_bytes: u64,
    },

    #[error(transparent)]
    Cache(#[from] super::cache::CacheError),

    #[error("invalid load option: {0}")]
    Options(String),

    #[error("load cancelled")]
    Cancelled,
}

impl From<Cancelled> for LoadError {
    fn from(_: Cancelled) -> Self {
        Self::Cancelled
    }
}
