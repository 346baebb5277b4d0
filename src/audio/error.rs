//! What can go wrong turning audio into a video. A failed or cancelled render removes its
//! partial output, as an export does.

use std::path::PathBuf;

use crate::export::ExportError;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("{}: the file is empty (0 bytes)", .path.display())]
    EmptyFile { path: PathBuf },

    #[error("{}: not a file FFmpeg can read ({reason})", .path.display())]
    Open { path: PathBuf, reason: String },

    #[error("{}: the file has no audio stream", .path.display())]
    NoAudio { path: PathBuf },

    #[error("{}: decoding the audio failed: {reason}", .path.display())]
    Decode { path: PathBuf, reason: String },

    #[error("{}: no audio samples could be decoded", .path.display())]
    Silent { path: PathBuf },

    #[error("{}: background image: {reason}", .path.display())]
    Background { path: PathBuf, reason: String },

    #[error("{0}")]
    Settings(String),

    #[error(transparent)]
    Export(#[from] ExportError),

    #[error("cancelled; no partial output was kept")]
    Cancelled,
}
