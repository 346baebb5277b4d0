//! Audio → video: an audio file (or a video's audio track) becomes an MP4 whose picture
//! follows the sound — spectrum bars, a circular visualizer, a scrolling spectrogram or the
//! waveform — with the audio muxed in as AAC.
//!
//! Three stages, each streaming: [`analyze`] decodes and computes one spectrum per video frame
//! (small: bands × frames); a [`Renderer`] draws any frame from that alone, so frames render
//! in parallel; [`render_video`] feeds them through a fixed buffer pool to the export encoder.

mod error;
mod render;
mod spectrum;
mod video;

pub use error::AudioError;
pub use render::{
    Background, Canvas, Palette, Renderer, Style, VisualSettings, YuvFrame, parse_background,
    parse_color,
};
pub use spectrum::{Spectrum, SpectrumSettings, analyze, band_edges, band_of};
pub use video::{VisualizeReport, VisualizeSettings, render_video, visualize};
