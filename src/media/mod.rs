//! FFmpeg in one place: its set-up, audio decoding (any file with an audio stream, resampled
//! on demand), and the MP4 writer (libx264, with an AAC track muxed in step with the video).
//! `load`, `export`, `audio` and `analyze` use these; this module uses none of them.

mod audio_decode;
mod audio_track;
mod error;
mod mp4;

use ffmpeg_next as ffmpeg;

pub use audio_decode::{AudioDecoder, AudioInfo, MAX_ANALYSIS_RATE, check_stream};
pub use error::MediaError;
pub use mp4::{EncoderSettings, Mp4Writer, PRESETS, fps_rational, set_encoder_threads};

/// Initializes FFmpeg once and keeps its own logging to errors that matter: decode problems
/// are collected into reports instead of being printed.
pub fn init() -> Result<(), ffmpeg::Error> {
    static INIT: std::sync::OnceLock<Result<(), ffmpeg::Error>> = std::sync::OnceLock::new();
    *INIT.get_or_init(|| {
        ffmpeg::init()?;
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Fatal);
        Ok(())
    })
}
