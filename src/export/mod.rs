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
