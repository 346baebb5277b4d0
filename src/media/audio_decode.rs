//! Any audio FFmpeg reads (and the audio track of a video) → mono `f32` in chunks, at the
//! source's rate up to 48 kHz. Samples are handed on as they are decoded, so analysing an
//! hour of audio holds a few kilobytes of it at a time.

use std::path::Path;

use ffmpeg::format::Sample;
use ffmpeg::format::sample::Type as SampleType;
use ffmpeg::software::resampling;
use ffmpeg::util::frame::audio::Audio as AudioFrame;
use ffmpeg::{ChannelLayout, Packet};
use ffmpeg_next as ffmpeg;

use super::error::MediaError;
use crate::job::Job;

const MONO: Sample = Sample::F32(SampleType::Packed);
/// Rates above this are resampled down: visuals stop well below 24 kHz.
pub const MAX_ANALYSIS_RATE: u32 = 48_000;

/// The highest sample rate a real recording has (DXD and DSD-to-PCM stop at 768 kHz). A
/// header claiming more is damaged: resampling from 2^30 Hz took 20 s and 1.5 GB.
pub const MAX_SOURCE_RATE: u32 = 768_000;
/// More channels than any recording format carries.
pub const MAX_CHANNELS: u16 = 64;

/// Refuses header facts no real audio stream has, before anything is sized from them.
pub fn check_stream(rate: u32, channels: u16) -> Result<(), String> {
    if rate > MAX_SOURCE_RATE {
        return Err(format!(
            "the header's sample rate of {rate} Hz is not plausible (at most {MAX_SOURCE_RATE} Hz): \
             the file is damaged"
        ));
    }
    if channels > MAX_CHANNELS {
        return Err(format!(
            "the header's {channels} channels are not plausible (at most {MAX_CHANNELS}): the \
             file is damaged"
        ));
    }
    Ok(())
}

/// What is known about an audio stream before decoding it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudioInfo {
    /// The rate the samples are delivered at.
    pub rate: u32,
    /// From the container; `None` when it does not say.
    pub duration_secs: Option<f64>,
    pub channels: u16,
}

/// An opened audio stream, ready to decode.
pub struct AudioDecoder {
    path: std::path::PathBuf,
    input: ffmpeg::format::context::Input,
    stream: usize,
    decoder: ffmpeg::decoder::Audio,
    info: AudioInfo,
}

/// A frame's channel layout; some decoders (PCM mono) leave it unset.
pub(crate) fn layout_of(frame: &AudioFrame) -> ChannelLayout {
    let layout = frame.channel_layout();
    if layout.is_empty() {
        ChannelLayout::default(i32::from(frame.channels()))
    } else {
        layout
    }
}

impl AudioDecoder {
    pub fn open(path: &Path) -> Result<Self, MediaError> {
        let open_err = |reason: String| MediaError::Open {
            path: path.to_path_buf(),
            reason,
        };
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => return Err(open_err("it is a folder".into())),
            Ok(m) if m.len() == 0 => {
                return Err(MediaError::EmptyFile {
                    path: path.to_path_buf(),
                });
            }
            Ok(_) => {}
            Err(e) => return Err(open_err(e.to_string())),
        }
        super::init().map_err(|e| open_err(e.to_string()))?;
        let input = ffmpeg::format::input(path).map_err(|e| open_err(e.to_string()))?;
        let stream = input
            .streams()
            .best(ffmpeg::media::Type::Audio)
            .ok_or_else(|| MediaError::NoAudio {
                path: path.to_path_buf(),
            })?;
        let index = stream.index();
        let time_base = stream.time_base();
        let duration_secs = if stream.duration() > 0 && time_base.denominator() > 0 {
            Some(stream.duration() as f64 * f64::from(time_base))
        } else if input.duration() > 0 {
            Some(input.duration() as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE))
        } else {
            None
        };
        let mut context = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| open_err(format!("unsupported audio stream: {e}")))?
            .decoder();
        context.set_packet_time_base(time_base);
        let decoder = context
            .audio()
            .map_err(|e| open_err(format!("no decoder for this audio codec: {e}")))?;
        check_stream(decoder.rate(), decoder.channels()).map_err(open_err)?;
        let rate = match decoder.rate() {
            0 => MAX_ANALYSIS_RATE,
            r => r.min(MAX_ANALYSIS_RATE),
        };
        let channels = decoder.channels();
        Ok(Self {
            path: path.to_path_buf(),
            input,
            stream: index,
            decoder,
            info: AudioInfo {
                rate,
                duration_secs,
                channels,
            },
        })
    }

    /// Delivers samples at `rate` instead (speech models want 16 kHz).
    pub fn resampled_to(mut self, rate: u32) -> Self {
        self.info.rate = rate.max(1);
        self
    }

    pub fn info(&self) -> AudioInfo {
        self.info
    }

    /// Decodes the whole stream, calling `sink` with each run of mono samples in order.
    /// Returns the number of samples delivered. Corrupt packets are skipped (a few
    /// milliseconds lost), not fatal.
    pub fn run(mut self, job: &Job, mut sink: impl FnMut(&[f32])) -> Result<u64, MediaError> {
        let rate = self.info.rate;
        let mut resampler: Option<resampling::Context> = None;
        let mut decoded = AudioFrame::empty();
        let mut total = 0u64;
        let path = self.path.clone();
        let decode_err = |what: &str, e: ffmpeg::Error| MediaError::Decode {
            path: path.clone(),
            reason: format!("{what}: {e}"),
        };
        let mut deliver = |decoded: &mut AudioFrame,
                           resampler: &mut Option<resampling::Context>,
                           total: &mut u64|
         -> Result<(), MediaError> {
            let layout = layout_of(decoded);
            decoded.set_channel_layout(layout);
            if resampler.is_none() {
                *resampler = Some(
                    resampling::Context::get(
                        decoded.format(),
                        layout,
                        decoded.rate(),
                        MONO,
                        ChannelLayout::MONO,
                        rate,
                    )
                    .map_err(|e| decode_err("resampler", e))?,
                );
            }
            let capacity = decoded.samples() * rate as usize / decoded.rate().max(1) as usize + 256;
            let mut out = AudioFrame::new(MONO, capacity, ChannelLayout::MONO);
            if let Some(r) = resampler.as_mut() {
                r.run(decoded, &mut out)
                    .map_err(|e| decode_err("resampling", e))?;
            }
            let n = out.samples();
            if n > 0 {
                sink(&out.plane::<f32>(0)[..n]);
                *total += n as u64;
            }
            Ok(())
        };
        let mut packet = Packet::empty();
        let mut packets = 0u32;
        loop {
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.stream => {
                    packets = packets.wrapping_add(1);
                    if packets.is_multiple_of(64) && job.is_cancelled() {
                        return Err(MediaError::Cancelled);
                    }
                    if self.decoder.send_packet(&packet).is_ok() {
                        while self.decoder.receive_frame(&mut decoded).is_ok() {
                            deliver(&mut decoded, &mut resampler, &mut total)?;
                        }
                    }
                }
                Ok(()) | Err(ffmpeg::Error::InvalidData) => {}
                Err(_) => break,
            }
        }
        let _ = self.decoder.send_eof();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            deliver(&mut decoded, &mut resampler, &mut total)?;
        }
        if let Some(r) = resampler.as_mut() {
            let mut out = AudioFrame::new(MONO, 4096, ChannelLayout::MONO);
            if r.flush(&mut out).is_ok() && out.samples() > 0 {
                let n = out.samples();
                sink(&out.plane::<f32>(0)[..n]);
                total += n as u64;
            }
        }
        if total == 0 {
            return Err(MediaError::Silent { path: self.path });
        }
        Ok(total)
    }
}
