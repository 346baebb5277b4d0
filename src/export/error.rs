//! What can go wrong in an export. The partial output file is removed in every case, and an
//! existing file at the target is left as it was.

use std::path::PathBuf;

use crate::interp::{BlendError, ScheduleError};
use crate::source::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),

    #[error(transparent)]
    Schedule(#[from] ScheduleError),

    #[error("frames of {width}×{height} are too small to encode (at least 2×2)")]
    TooSmall { width: usize, height: usize },

    #[error("fps {0} must be a positive number")]
    Fps(f64),

    #[error("crf {0} is out of range (0 = lossless … 51)")]
    Crf(u8),

    #[error("reading frames failed: {0}")]
    Source(#[from] SourceError),

    #[error(transparent)]
    Blend(#[from] BlendError),

    #[error("{}: the encoder failed: {reason}", .path.display())]
    Encode { path: PathBuf, reason: String },

    #[error(transparent)]
    Media(crate::media::MediaError),

    #[error(transparent)]
    Load(Box<crate::load::LoadError>),

    #[error("export cancelled; the partial file was removed")]
    Cancelled,
}

impl From<crate::media::MediaError> for ExportError {
    fn from(e: crate::media::MediaError) -> Self {
        match e {
            crate::media::MediaError::Cancelled => Self::Cancelled,
            other => Self::Media(other),
        }
    }
}
