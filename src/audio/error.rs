//! What can go wrong turning audio into a video. A failed or cancelled render removes its
//! partial output, as an export does.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("{}: background image: {reason}", .path.display())]
    Background { path: PathBuf, reason: String },

    #[error("{0}")]
    Settings(String),

    #[error(transparent)]
    Media(crate::media::MediaError),

    #[error(transparent)]
    Output(#[from] crate::output::OutputError),

    #[error("cancelled; no partial output was kept")]
    Cancelled,
}

impl From<crate::media::MediaError> for AudioError {
    fn from(e: crate::media::MediaError) -> Self {
        match e {
            crate::media::MediaError::Cancelled => Self::Cancelled,
            other => Self::Media(other),
        }
    }
}
