//! What can go wrong reading or writing media files through FFmpeg.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
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

    #[error("{}: cannot write here: {reason}", .path.display())]
    Unwritable { path: PathBuf, reason: String },

    #[error("{}: the encoder failed: {reason}", .path.display())]
    Encode { path: PathBuf, reason: String },

    #[error("{}: audio: {reason}", .path.display())]
    Audio { path: PathBuf, reason: String },

    #[error("cancelled")]
    Cancelled,
}
