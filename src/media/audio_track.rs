//! An AAC track muxed beside the video: the audio of any file FFmpeg reads, decoded and
//! resampled to planar float (mono stays mono, anything else becomes stereo), encoded in the encoder's frame size, written as the video
//! advances (so the muxer interleaves without buffering), and cut or padded with silence to the
//! video's length.

use std::path::{Path, PathBuf};

use ffmpeg::format::Sample;
use ffmpeg::format::sample::Type as SampleType;
use ffmpeg::software::resampling;
use ffmpeg::util::frame::audio::Audio as AudioFrame;
use ffmpeg::{ChannelLayout, Dictionary, Packet, Rational};
use ffmpeg_next as ffmpeg;

use super::audio_decode::layout_of;
use super::error::MediaError;

const OUT_FORMAT: Sample = Sample::F32(SampleType::Planar);
/// AAC bits per second per channel (ffmpeg's own default is close to this).
const BIT_RATE_PER_CHANNEL: usize = 64_000;

pub struct AudioTrack {
    path: PathBuf,
    input: ffmpeg::format::context::Input,
    input_stream: usize,
    decoder: ffmpeg::decoder::Audio,
    resampler: Option<resampling::Context>,
    encoder: ffmpeg::encoder::Audio,
    output_stream: usize,
    rate: u32,
    frame_size: usize,
    layout: ChannelLayout,
    /// Resampled samples not yet encoded, one buffer per output channel.
    pending: Vec<Vec<f32>>,
    written: i64,
    input_done: bool,
    decoded: AudioFrame,
    packet: Packet,
}

impl AudioTrack {
    /// Opens `path`, prepares the AAC encoder and adds its stream to `output` (before the
    /// header is written).
    pub fn open(
        path: &Path,
        output: &mut ffmpeg::format::context::Output,
    ) -> Result<Self, MediaError> {
        let err = |reason: String| MediaError::Audio {
            path: path.to_path_buf(),
            reason,
        };
        let input = ffmpeg::format::input(path)
            .map_err(|e| err(format!("not a file FFmpeg can read ({e})")))?;
        let stream = input
            .streams()
            .best(ffmpeg::media::Type::Audio)
            .ok_or_else(|| err("the file has no audio stream".into()))?;
        let input_stream = stream.index();
        let mut decoder = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| err(format!("unsupported audio stream ({e})")))?
            .decoder();
        decoder.set_packet_time_base(stream.time_base());
        let decoder = decoder
            .audio()
            .map_err(|e| err(format!("no decoder for this audio codec ({e})")))?;
        super::audio_decode::check_stream(decoder.rate(), decoder.channels()).map_err(err)?;
        // AAC covers 8–96 kHz; keep the source rate when it fits, so nothing is resampled
        // but the layout.
        let rate = match decoder.rate() {
            r @ 8_000..=96_000 => r,
            _ => 48_000,
        };
        let codec = ffmpeg::encoder::find(ffmpeg::codec::Id::AAC)
            .ok_or_else(|| err("this FFmpeg has no AAC encoder".into()))?;
        let mut encoder = ffmpeg::codec::context::Context::new_with_codec(codec)
            .encoder()
            .audio()
            .map_err(|e| err(format!("AAC encoder: {e}")))?;
        encoder.set_rate(rate as i32);
        // A mono recording encoded as stereo costs twice the encoder time for nothing.
        let (layout, channels) = if decoder.channels() == 1 {
            (ChannelLayout::MONO, 1)
        } else {
            (ChannelLayout::STEREO, 2)
        };
        encoder.set_channel_layout(layout);
        encoder.set_channels(channels);
        encoder.set_format(OUT_FORMAT);
        encoder.set_bit_rate(BIT_RATE_PER_CHANNEL * channels as usize);
        encoder.set_time_base(Rational::new(1, rate as i32));
        if output
            .format()
            .flags()
            .contains(ffmpeg::format::Flags::GLOBAL_HEADER)
        {
            super::mp4::add_global_header(&mut encoder);
        }
        let encoder = encoder
            .open_with(Dictionary::new())
            .map_err(|e| err(format!("opening the AAC encoder: {e}")))?;
        let frame_size = (encoder.frame_size() as usize).max(1);
        let mut out_stream = output
            .add_stream(codec)
            .map_err(|e| err(format!("adding the audio stream: {e}")))?;
        out_stream.set_parameters(&encoder);
        out_stream.set_time_base(Rational::new(1, rate as i32));
        Ok(Self {
            path: path.to_path_buf(),
            input,
            input_stream,
            decoder,
            resampler: None,
            encoder,
            output_stream: out_stream.index(),
            rate,
            frame_size,
            layout,
            pending: vec![Vec::new(); channels as usize],
            written: 0,
            input_done: false,
            decoded: AudioFrame::empty(),
            packet: Packet::empty(),
        })
    }

    fn err(&self, what: &str, e: impl std::fmt::Display) -> MediaError {
        MediaError::Audio {
            path: self.path.clone(),
            reason: format!("{what}: {e}"),
        }
    }

    fn samples_at(&self, seconds: f64) -> i64 {
        (seconds * f64::from(self.rate)).round() as i64
    }

    /// Encodes and writes audio up to `seconds` of playback time.
    pub fn write_until(
        &mut self,
        output: &mut ffmpeg::format::context::Output,
        seconds: f64,
    ) -> Result<(), MediaError> {
        let target = self.samples_at(seconds);
        while self.written + self.frame_size as i64 <= target {
            while self.pending[0].len() < self.frame_size && !self.input_done {
                self.decode_more()?;
            }
            // A source shorter than the video continues as silence.
            if self.pending[0].len() < self.frame_size {
                for channel in &mut self.pending {
                    channel.resize(self.frame_size, 0.0);
                }
            }
            self.encode_frame(output, self.frame_size)?;
        }
        Ok(())
    }

    /// Writes the rest up to exactly `seconds` (the last frame may be short) and flushes.
    pub fn finish(
        &mut self,
        output: &mut ffmpeg::format::context::Output,
        seconds: f64,
    ) -> Result<(), MediaError> {
        self.write_until(output, seconds)?;
        let rest = (self.samples_at(seconds) - self.written).max(0) as usize;
        if rest > 0 {
            while self.pending[0].len() < rest && !self.input_done {
                self.decode_more()?;
            }
            for channel in &mut self.pending {
                if channel.len() < rest {
                    channel.resize(rest, 0.0);
                }
            }
            self.encode_frame(output, rest)?;
        }
        self.encoder
            .send_eof()
            .map_err(|e| self.err("flushing AAC", e))?;
        self.drain(output)
    }

    /// Reads packets until some samples were decoded or the input ends.
    fn decode_more(&mut self) -> Result<(), MediaError> {
        let mut packet = Packet::empty();
        loop {
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.input_stream => {
                    // A corrupt packet loses its few milliseconds, not the export.
                    if self.decoder.send_packet(&packet).is_ok() {
                        let before = self.pending[0].len();
                        self.receive_decoded()?;
                        if self.pending[0].len() > before {
                            return Ok(());
                        }
                    }
                }
                Ok(()) | Err(ffmpeg::Error::InvalidData) => {}
                Err(_) => {
                    let _ = self.decoder.send_eof();
                    self.receive_decoded()?;
                    self.flush_resampler()?;
                    self.input_done = true;
                    return Ok(());
                }
            }
        }
    }

    fn receive_decoded(&mut self) -> Result<(), MediaError> {
        while self.decoder.receive_frame(&mut self.decoded).is_ok() {
            // Some decoders (PCM mono) leave the layout unset; swresample then sees an
            // "input change" against the layout it was configured with.
            let layout = layout_of(&self.decoded);
            self.decoded.set_channel_layout(layout);
            if self.resampler.is_none() {
                let resampler = resampling::Context::get(
                    self.decoded.format(),
                    layout,
                    self.decoded.rate(),
                    OUT_FORMAT,
                    self.layout,
                    self.rate,
                )
                .map_err(|e| self.err("resampler", e))?;
                self.resampler = Some(resampler);
            }
            let capacity = self.decoded.samples() * self.rate as usize
                / self.decoded.rate().max(1) as usize
                + 256;
            let mut out = AudioFrame::new(OUT_FORMAT, capacity, self.layout);
            if let Some(resampler) = &mut self.resampler {
                resampler
                    .run(&self.decoded, &mut out)
                    .map_err(|e| MediaError::Audio {
                        path: self.path.clone(),
                        reason: format!("resampling: {e}"),
                    })?;
            }
            self.append(&out);
        }
        Ok(())
    }

    fn flush_resampler(&mut self) -> Result<(), MediaError> {
        let Some(resampler) = &mut self.resampler else {
            return Ok(());
        };
        let mut out = AudioFrame::new(OUT_FORMAT, 4096, self.layout);
        resampler.flush(&mut out).map_err(|e| MediaError::Audio {
            path: self.path.clone(),
            reason: format!("resampling: {e}"),
        })?;
        self.append(&out);
        Ok(())
    }

    fn append(&mut self, frame: &AudioFrame) {
        let n = frame.samples();
        if n == 0 {
            return;
        }
        for (channel, pending) in self.pending.iter_mut().enumerate() {
            pending.extend_from_slice(&frame.plane::<f32>(channel)[..n]);
        }
    }

    fn encode_frame(
        &mut self,
        output: &mut ffmpeg::format::context::Output,
        samples: usize,
    ) -> Result<(), MediaError> {
        let mut frame = AudioFrame::new(OUT_FORMAT, samples, self.layout);
        frame.set_rate(self.rate);
        for (channel, pending) in self.pending.iter_mut().enumerate() {
            frame.plane_mut::<f32>(channel)[..samples].copy_from_slice(&pending[..samples]);
            pending.drain(..samples);
        }
        frame.set_pts(Some(self.written));
        self.written += samples as i64;
        self.encoder
            .send_frame(&frame)
            .map_err(|e| self.err("encoding AAC", e))?;
        self.drain(output)
    }

    fn drain(&mut self, output: &mut ffmpeg::format::context::Output) -> Result<(), MediaError> {
        let time_base = Rational::new(1, self.rate as i32);
        let stream_time_base = output
            .stream(self.output_stream)
            .map(|s| s.time_base())
            .unwrap_or(time_base);
        while self.encoder.receive_packet(&mut self.packet).is_ok() {
            self.packet.set_stream(self.output_stream);
            self.packet.rescale_ts(time_base, stream_time_base);
            self.packet
                .write_interleaved(output)
                .map_err(|e| MediaError::Audio {
                    path: self.path.clone(),
                    reason: format!("writing audio: {e}"),
                })?;
        }
        Ok(())
    }
}
