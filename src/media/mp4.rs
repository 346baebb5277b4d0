//! An MP4 file with one H.264 stream (libx264, yuv420p) and optionally one AAC stream.
//!
//! Frames get consecutive timestamps in a `1/fps` time base, and every packet lasts one frame,
//! so the file holds exactly the frames written and lasts `frames / fps` seconds.

use std::path::{Path, PathBuf};

use ffmpeg::codec::threading;
use ffmpeg::format::Pixel;
use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg::{Dictionary, Packet, Rational};
use ffmpeg_next as ffmpeg;

use super::audio_track::AudioTrack;
use super::error::MediaError;
use crate::interp::{PlanesMut, Yuv420};
use crate::output::Output;

/// x264 presets, fastest first.
pub const PRESETS: [&str; 10] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
];

/// Threads each x264 encoder may use; 0: x264's own choice (1.5 per core). A process that
/// runs several encoders at once (a batch with `--jobs`) divides the cores among them.
static ENCODER_THREADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Sets the threads of every x264 encoder opened from now on (0: x264's own choice).
pub fn set_encoder_threads(threads: usize) {
    ENCODER_THREADS.store(threads, std::sync::atomic::Ordering::Relaxed);
}

#[derive(Debug, Clone, PartialEq)]
pub struct EncoderSettings {
    pub width: usize,
    pub height: usize,
    pub fps: f64,
    /// 0 is lossless; 23 is x264's default.
    pub crf: u8,
    pub preset: String,
    pub audio: Option<PathBuf>,
}

/// `fps` as an exact rational: whole numbers stay whole, NTSC rates become n·1000/1001.
pub fn fps_rational(fps: f64) -> Rational {
    let rounded = fps.round();
    if (fps - rounded).abs() < 1e-9 && rounded >= 1.0 {
        return Rational::new(rounded as i32, 1);
    }
    let ntsc = (fps * 1.001).round();
    if (fps - ntsc * 1000.0 / 1001.0).abs() < 1e-6 {
        return Rational::new((ntsc * 1000.0) as i32, 1001);
    }
    Rational::new((fps * 1000.0).round() as i32, 1000).reduce()
}

/// Adds `GLOBAL_HEADER` to a codec context's flags. ffmpeg-next only offers a setter that
/// replaces every flag, which would drop libx264's defaults (`+cgop`: closed GOPs).
pub(super) fn add_global_header(context: &mut ffmpeg::codec::context::Context) {
    // SAFETY: the context is valid and not yet opened; `flags` is a plain int field.
    unsafe {
        (*context.as_mut_ptr()).flags |= ffmpeg::ffi::AV_CODEC_FLAG_GLOBAL_HEADER as i32;
    }
}

pub struct Mp4Writer {
    path: PathBuf,
    output: ffmpeg::format::context::Output,
    encoder: ffmpeg::encoder::Video,
    frame: VideoFrame,
    packet: Packet,
    frame_time_base: Rational,
    stream_time_base: Rational,
    next_pts: i64,
    audio: Option<AudioTrack>,
}

fn encode_err(path: &Path, what: &str, e: impl std::fmt::Display) -> MediaError {
    MediaError::Encode {
        path: path.to_path_buf(),
        reason: format!("{what}: {e}"),
    }
}

impl Mp4Writer {
    /// Opens `out`'s temporary file and writes the header; errors name the target.
    pub fn create(out: &Output, settings: &EncoderSettings) -> Result<Self, MediaError> {
        let path = out.target();
        super::init().map_err(|e| encode_err(path, "FFmpeg", e))?;
        let mut output = ffmpeg::format::output_as(out.temp_path(), "mp4").map_err(|e| {
            MediaError::Unwritable {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        })?;
        let codec = ffmpeg::encoder::find_by_name("libx264")
            .ok_or_else(|| encode_err(path, "libx264", "not available in this FFmpeg"))?;
        let global_header = output
            .format()
            .flags()
            .contains(ffmpeg::format::Flags::GLOBAL_HEADER);
        let rate = fps_rational(settings.fps);
        let frame_time_base = rate.invert();
        let mut context = ffmpeg::codec::context::Context::new_with_codec(codec);
        // libavcodec defaults encoders to one thread; x264 must use every core.
        context.set_threading(threading::Config {
            kind: threading::Type::Frame,
            count: 0,
            ..Default::default()
        });
        let mut encoder = context
            .encoder()
            .video()
            .map_err(|e| encode_err(path, "video encoder", e))?;
        encoder.set_width(settings.width as u32);
        encoder.set_height(settings.height as u32);
        encoder.set_format(Pixel::YUV420P);
        encoder.set_time_base(frame_time_base);
        encoder.set_frame_rate(Some(rate));
        encoder.set_colorspace(ffmpeg::color::Space::SMPTE170M);
        encoder.set_color_range(ffmpeg::color::Range::MPEG);
        if global_header {
            add_global_header(&mut encoder);
        }
        let mut options = Dictionary::new();
        options.set("preset", &settings.preset);
        options.set("crf", &settings.crf.to_string());
        let threads = ENCODER_THREADS.load(std::sync::atomic::Ordering::Relaxed);
        if threads > 0 {
            options.set("threads", &threads.to_string());
        }
        let encoder = encoder
            .open_with(options)
            .map_err(|e| encode_err(path, "opening libx264", e))?;
        let mut stream = output
            .add_stream(codec)
            .map_err(|e| encode_err(path, "adding the video stream", e))?;
        stream.set_parameters(&encoder);
        stream.set_time_base(frame_time_base);
        let audio = match &settings.audio {
            Some(audio_path) => Some(AudioTrack::open(audio_path, &mut output)?),
            None => None,
        };
        output.write_header().map_err(|e| MediaError::Unwritable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        // The muxer picks the stream's time base while writing the header.
        let stream_time_base = output
            .stream(0)
            .map(|s| s.time_base())
            .unwrap_or(frame_time_base);
        let frame = VideoFrame::new(
            Pixel::YUV420P,
            settings.width as u32,
            settings.height as u32,
        );
        Ok(Self {
            path: path.to_path_buf(),
            output,
            encoder,
            frame,
            packet: Packet::empty(),
            frame_time_base,
            stream_time_base,
            next_pts: 0,
            audio,
        })
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.next_pts as u64
    }

    /// Encodes one frame that `fill` writes straight into the encoder's picture buffer.
    pub fn write_with<E: From<MediaError>>(
        &mut self,
        fill: impl FnOnce(&mut PlanesMut) -> Result<(), E>,
    ) -> Result<(), E> {
        // SAFETY: the frame was allocated by FFmpeg; making it writable copies its buffers if
        // the encoder still holds a reference, so writing below never changes a queued frame.
        let ret = unsafe { ffmpeg::ffi::av_frame_make_writable(self.frame.as_mut_ptr()) };
        if ret < 0 {
            return Err(encode_err(&self.path, "frame buffer", ffmpeg::Error::from(ret)).into());
        }
        let (width, height) = (self.frame.width() as usize, self.frame.height() as usize);
        // SAFETY: a YUV420P frame from av_frame_get_buffer has three separate planes, each
        // `linesize × rows` bytes long; the slices do not overlap and live as long as `frame`,
        // which stays borrowed mutably until `fill` returns.
        let mut planes = unsafe {
            let raw = self.frame.as_mut_ptr();
            let plane = |i: usize, rows: usize| {
                let stride = (*raw).linesize[i] as usize;
                (
                    std::slice::from_raw_parts_mut((*raw).data[i], stride * rows),
                    stride,
                )
            };
            let (y, sy) = plane(0, height);
            let (u, su) = plane(1, height / 2);
            let (v, sv) = plane(2, height / 2);
            PlanesMut {
                width,
                height,
                planes: [y, u, v],
                strides: [sy, su, sv],
            }
        };
        fill(&mut planes)?;
        self.frame.set_pts(Some(self.next_pts));
        self.encoder
            .send_frame(&self.frame)
            .map_err(|e| encode_err(&self.path, "sending a frame", e))?;
        self.next_pts += 1;
        self.drain()?;
        let seconds = self.next_pts as f64 * f64::from(self.frame_time_base);
        if let Some(audio) = &mut self.audio {
            audio.write_until(&mut self.output, seconds)?;
        }
        Ok(())
    }

    /// Encodes one frame (same size as the settings).
    pub fn write(&mut self, picture: &Yuv420) -> Result<(), MediaError> {
        self.write_with(|planes| {
            picture.copy_into(planes);
            Ok(())
        })
    }

    fn drain(&mut self) -> Result<(), MediaError> {
        while self.encoder.receive_packet(&mut self.packet).is_ok() {
            self.packet.set_stream(0);
            self.packet.set_duration(1);
            self.packet
                .rescale_ts(self.frame_time_base, self.stream_time_base);
            self.packet
                .write_interleaved(&mut self.output)
                .map_err(|e| encode_err(&self.path, "writing a packet", e))?;
        }
        Ok(())
    }

    /// Flushes the encoder, finishes the audio at the video's length and writes the trailer.
    pub fn finish(mut self) -> Result<(), MediaError> {
        self.encoder
            .send_eof()
            .map_err(|e| encode_err(&self.path, "flushing", e))?;
        self.drain()?;
        let seconds = self.next_pts as f64 * f64::from(self.frame_time_base);
        if let Some(mut audio) = self.audio.take() {
            audio.finish(&mut self.output, seconds)?;
        }
        self.output
            .write_trailer()
            .map_err(|e| encode_err(&self.path, "writing the trailer", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_rates_are_exact() {
        assert_eq!(fps_rational(25.0), Rational::new(25, 1));
        assert_eq!(fps_rational(30000.0 / 1001.0), Rational::new(30000, 1001));
        assert_eq!(fps_rational(12.5), Rational::new(25, 2));
    }
}
