//! Videos through FFmpeg (ffmpeg-next): one sequential decode with FFmpeg's frame threads on.
//! Frames the selection skips are decoded (the codec needs them) but never converted.

use std::path::Path;

use ffmpeg::codec::threading;
use ffmpeg::format::Pixel;
use ffmpeg::software::scaling::{self, flag::Flags};
use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;
use ndarray::{Array4, ArrayView3, ArrayViewMut3, ShapeBuilder};

use super::Loaded;
use super::cache::{EntryWriter, Slot};
use super::error::LoadError;
use super::guard::{self, Placement};
use super::options::LoadOptions;
use super::report::LoadReport;
use super::shape::{FrameGeometry, Shaper};
use crate::job::Job;
use crate::stack::{FrameStack, SourceKind, StackMeta};

fn rational(r: ffmpeg::Rational) -> Option<f64> {
    (r.numerator() > 0 && r.denominator() > 0)
        .then(|| f64::from(r.numerator()) / f64::from(r.denominator()))
}

/// Header facts about a video stream, read without decoding.
#[derive(Debug, Clone, Copy)]
pub struct VideoProbe {
    pub width: usize,
    pub height: usize,
    pub fps: Option<f64>,
    pub duration_secs: Option<f64>,
    /// From the container's frame count, or duration × fps; 0 when neither is known.
    pub estimated_frames: usize,
}

struct Decoding {
    probe: VideoProbe,
    input: ffmpeg::format::context::Input,
    decoder: ffmpeg::decoder::Video,
    stream_index: usize,
}

fn open(path: &Path) -> Result<Decoding, LoadError> {
    let err = |message: String| LoadError::Video {
        path: path.to_path_buf(),
        message,
    };
    crate::media::init().map_err(|e| err(format!("FFmpeg failed to initialize: {e}")))?;
    let input = ffmpeg::format::input(path)
        .map_err(|e| err(format!("not a video FFmpeg can read ({e})")))?;
    let stream = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .ok_or_else(|| err("the file has no video stream".into()))?;
    let stream_index = stream.index();
    let time_base = stream.time_base();
    let fps = rational(stream.avg_frame_rate()).or_else(|| rational(stream.rate()));
    let duration_secs = if stream.duration() > 0 {
        rational(time_base).map(|tb| stream.duration() as f64 * tb)
    } else if input.duration() > 0 {
        Some(input.duration() as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE))
    } else {
        None
    };
    // Header facts steer nothing that allocates until they pass a sanity check: every frame
    // takes at least one byte of the file, so a count above its length is a lie.
    let file_bytes = std::fs::metadata(path).map_or(u64::MAX, |m| m.len());
    let from_header = if stream.frames() > 0 {
        Some(stream.frames() as f64)
    } else {
        duration_secs.zip(fps).map(|(d, f)| (d * f).round())
    };
    let estimated_frames = from_header
        .filter(|n| n.is_finite() && *n >= 0.0 && *n <= file_bytes as f64)
        .map_or(0, |n| n as usize);
    let duration_secs = duration_secs.filter(|d| d.is_finite() && *d >= 0.0);
    let mut context = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .map_err(|e| err(format!("unsupported video stream ({e})")))?;
    context.set_threading(threading::Config {
        kind: threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    let mut decoder = context.decoder();
    decoder.set_packet_time_base(time_base);
    let decoder = decoder
        .video()
        .map_err(|e| err(format!("no decoder for this video codec ({e})")))?;
    let probe = VideoProbe {
        width: decoder.width() as usize,
        height: decoder.height() as usize,
        fps,
        duration_secs,
        estimated_frames,
    };
    if probe.width == 0 || probe.height == 0 {
        return Err(err("the video stream has no frame size".into()));
    }
    Ok(Decoding {
        probe,
        input,
        decoder,
        stream_index,
    })
}

/// What feeding a stream's packets to its decoder ran into.
#[derive(Default)]
struct Pumped {
    /// Packets that were corrupt or failed to decode (skipped), and the first such error.
    decode_errors: usize,
    first_error: Option<String>,
    /// Why reading stopped before the end: a truncated or unreadable file.
    read_error: Option<String>,
    /// The consumer stopped before the end of the stream.
    stopped: bool,
}

impl Decoding {
    /// Feeds the video stream's packets to the decoder in order, letting `drain` take the
    /// frames ready after each packet and after the end, until the stream ends or `drain`
    /// returns false. Corrupt packets are skipped and counted; the caller decides whether
    /// what decoded is enough.
    fn pump(
        &mut self,
        job: &Job,
        mut drain: impl FnMut(&mut ffmpeg::decoder::Video) -> bool,
    ) -> Result<Pumped, LoadError> {
        let mut pumped = Pumped::default();
        let mut packet = ffmpeg::Packet::empty();
        let mut more = true;
        while more {
            job.check()?;
            match packet.read(&mut self.input) {
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => break,
                Err(ffmpeg::Error::InvalidData) => {
                    pumped.decode_errors += 1;
                    pumped
                        .first_error
                        .get_or_insert_with(|| "corrupt packet skipped".into());
                    continue;
                }
                Err(e) => {
                    pumped.read_error = Some(e.to_string());
                    break;
                }
            }
            if packet.stream() != self.stream_index {
                continue;
            }
            if let Err(e) = self.decoder.send_packet(&packet) {
                pumped.decode_errors += 1;
                pumped.first_error.get_or_insert_with(|| e.to_string());
            }
            more = drain(&mut self.decoder);
        }
        if more && self.decoder.send_eof().is_ok() {
            more = drain(&mut self.decoder);
        }
        job.check()?;
        pumped.stopped = !more;
        Ok(pumped)
    }
}

/// Reads a video's header facts.
pub fn probe_video(path: &Path) -> Result<VideoProbe, LoadError> {
    open(path).map(|d| d.probe)
}

/// Converts decoded frames into matrix slots: swscale to gray or RGB (and to the output size
/// when there is no crop), then the shaper for crop and resize.
struct Converter {
    scaler: Option<scaling::Context>,
    scaled: VideoFrame,
    shaper: Shaper,
    format: Pixel,
    size: (u32, u32),
    source: (Pixel, u32, u32),
    /// Gray frames taken straight from a YUV stream's luma plane.
    luma: Vec<u8>,
}

/// What swscale makes of a luma byte when it converts `format` to gray at the same size:
/// limited-range luma (16–235) stretched to 0–255, as `round((y − 16) · 255 / 219)`, and
/// full-range (`yuvj`) luma unchanged. `None` for formats without a plain 8-bit luma plane.
fn luma_table(format: Pixel) -> Option<&'static [u8; 256]> {
    static LIMITED: std::sync::OnceLock<[u8; 256]> = std::sync::OnceLock::new();
    static FULL: std::sync::OnceLock<[u8; 256]> = std::sync::OnceLock::new();
    match format {
        Pixel::YUV420P | Pixel::YUV422P | Pixel::YUV444P | Pixel::NV12 | Pixel::NV21 => {
            Some(LIMITED.get_or_init(|| {
                std::array::from_fn(|y| {
                    ((y as f64 - 16.0) * 255.0 / 219.0)
                        .round()
                        .clamp(0.0, 255.0) as u8
                })
            }))
        }
        Pixel::YUVJ420P | Pixel::YUVJ422P | Pixel::YUVJ444P => {
            Some(FULL.get_or_init(|| std::array::from_fn(|y| y as u8)))
        }
        _ => None,
    }
}

impl Converter {
    fn new(probe: &VideoProbe, options: &LoadOptions) -> Result<Self, super::shape::GeometryError> {
        let src = FrameGeometry {
            width: probe.width,
            height: probe.height,
            channels: 3,
        };
        let planned = Shaper::new(src, options)?;
        let out = planned.output();
        let format = if out.channels == 1 {
            Pixel::GRAY8
        } else {
            Pixel::RGB24
        };
        // Without a crop swscale resizes too, which is far cheaper than resizing afterwards.
        let (size, shaper) = if options.crop.is_none() {
            let scaled = FrameGeometry {
                channels: out.channels,
                ..out
            };
            (
                (out.width as u32, out.height as u32),
                Shaper::new(scaled, &LoadOptions::default())?,
            )
        } else {
            let scaled = FrameGeometry {
                channels: out.channels,
                ..src
            };
            (
                (src.width as u32, src.height as u32),
                Shaper::with_channels(scaled, options, out.channels)?,
            )
        };
        Ok(Self {
            scaler: None,
            scaled: VideoFrame::empty(),
            shaper,
            format,
            size,
            source: (Pixel::None, 0, 0),
            luma: Vec::new(),
        })
    }

    fn output(&self) -> FrameGeometry {
        self.shaper.output()
    }

    fn convert(&mut self, frame: &VideoFrame, slot: ArrayViewMut3<u8>) -> Result<(), String> {
        let source = (frame.format(), frame.width(), frame.height());
        // Gray at the source size from YUV is the luma plane through a table: the bytes
        // swscale gives, at a fraction of its cost (it takes its generic path for this).
        if self.format == Pixel::GRAY8
            && (source.1, source.2) == self.size
            && let Some(table) = luma_table(source.0)
        {
            let (w, h) = (self.size.0 as usize, self.size.1 as usize);
            let stride = frame.stride(0);
            let data = frame.data(0);
            self.luma.resize(w * h, 0);
            for (y, out) in self.luma.chunks_exact_mut(w).enumerate() {
                let row = data
                    .get(y * stride..y * stride + w)
                    .ok_or("the luma plane is shorter than the frame")?;
                for (o, &v) in out.iter_mut().zip(row) {
                    *o = table[usize::from(v)];
                }
            }
            let view = ArrayView3::from_shape((h, w, 1), &self.luma[..])
                .map_err(|e| format!("unexpected frame layout: {e}"))?;
            self.shaper.apply(view, slot);
            return Ok(());
        }
        // Streams may change size or format mid-way; rebuild the scaler when they do.
        if self.scaler.is_none() || self.source != source {
            let scaler = scaling::Context::get(
                source.0,
                source.1,
                source.2,
                self.format,
                self.size.0,
                self.size.1,
                Flags::AREA,
            )
            .map_err(|e| format!("cannot convert {:?} frames: {e}", source.0))?;
            self.scaler = Some(scaler);
            self.source = source;
        }
        let scaler = self.scaler.as_mut().ok_or("no scaler")?;
        scaler
            .run(frame, &mut self.scaled)
            .map_err(|e| format!("conversion failed: {e}"))?;
        let c = self.shaper.source().channels;
        let (w, h) = (self.size.0 as usize, self.size.1 as usize);
        let stride = self.scaled.stride(0);
        let data = self.scaled.data(0);
        let view = ArrayView3::from_shape((h, w, c).strides((stride, c, 1)), data)
            .map_err(|e| format!("unexpected frame layout: {e}"))?;
        self.shaper.apply(view, slot);
        Ok(())
    }
}

/// Loads the frames of a video.
pub fn load_video(
    path: &Path,
    options: &LoadOptions,
    cache: Option<&Slot>,
    job: &Job,
) -> Result<Loaded, LoadError> {
    let err = |message: String| LoadError::Video {
        path: path.to_path_buf(),
        message,
    };
    let mut decoding = open(path)?;
    let probe = decoding.probe;
    let mut report = LoadReport::new(path.to_path_buf(), SourceKind::Video);
    let converter = Converter::new(&probe, options).map_err(|cause| LoadError::Geometry {
        path: path.to_path_buf(),
        cause,
    })?;
    let out = converter.output();
    let frame_bytes = out.bytes();

    let limit = guard::ram_limit(options);
    let estimated_selection = options.select(probe.estimated_frames, 1).len();
    let (extra_step, sink) = match guard::place(path, out, estimated_selection, limit, cache)? {
        Placement::Ram {
            extra_step,
            decision,
        } => {
            report.guard = decision;
            let capacity = options.select(probe.estimated_frames, extra_step).len();
            // Reserved from the (checked) estimate, never past the RAM limit.
            let reserve = capacity
                .saturating_mul(frame_bytes)
                .min(usize::try_from(limit).unwrap_or(usize::MAX));
            (extra_step, Sink::Ram(Vec::with_capacity(reserve)))
        }
        Placement::Cache(writer) => (1, Sink::Cache(writer, vec![0; frame_bytes])),
    };
    report.frame_step = options.requested_step() * extra_step;
    let capacity = options.select(probe.estimated_frames, extra_step).len();
    let timing = seek_to_start(&mut decoding, options.range.start);

    let total = options
        .range
        .end
        .map_or(probe.estimated_frames, |e| e.min(probe.estimated_frames));
    job.set_total(total as u64);
    job.set_message("decoding video");
    let mut collector = Collector {
        converter,
        decoded: VideoFrame::empty(),
        options,
        extra_step,
        limit_bytes: limit,
        sink,
        cache,
        estimated_frames: estimated_selection,
        cache_error: None,
        source_frames: Vec::with_capacity(capacity.min(1 << 20)),
        index: 0,
        timing,
        first_decoded: None,
        overshot: false,
        convert_failures: 0,
        first_convert_failure: None,
        stopped_at_limit: false,
    };
    let mut pumped = decoding.pump(job, |decoder| collector.drain(decoder, job))?;
    if collector.overshot {
        // The seek landed past the first frame wanted: decode from the start instead.
        decoding = open(path)?;
        collector.timing = None;
        collector.overshot = false;
        collector.first_decoded = None;
        collector.index = 0;
        pumped = decoding.pump(job, |decoder| collector.drain(decoder, job))?;
    }
    let Pumped {
        decode_errors,
        first_error,
        read_error,
        stopped,
    } = pumped;
    let seeked_to = collector.timing.and(collector.first_decoded);

    let Collector {
        sink,
        cache_error,
        source_frames,
        index,
        convert_failures,
        first_convert_failure,
        stopped_at_limit,
        ..
    } = collector;
    if let Some(e) = cache_error {
        return Err(e);
    }
    let n = source_frames.len();
    if n == 0 {
        let cause = read_error
            .or(first_error)
            .or(first_convert_failure)
            .unwrap_or_else(|| "the stream holds no frames in the selected range".into());
        return Err(err(format!(
            "no frame could be decoded ({index} decoded in all): {cause}"
        )));
    }
    let decoded_all = !stopped && !stopped_at_limit;
    report.frames_found = if decoded_all {
        index
    } else {
        probe.estimated_frames.max(index)
    };
    if decode_errors > 0 {
        report.notes.push(format!(
            "{decode_errors} packets failed to decode (first: {}); the frames that decoded were kept",
            first_error.unwrap_or_default()
        ));
    }
    if let Some(e) = read_error {
        report.notes.push(format!(
            "reading stopped after {index} frames: {e}; the file may be truncated"
        ));
    } else if decoded_all && probe.estimated_frames > index + 1 && options.range.end.is_none() {
        report.notes.push(format!(
            "the header announced about {} frames but {index} decoded: the file may be truncated",
            probe.estimated_frames
        ));
    }
    if convert_failures > 0 {
        report.notes.push(format!(
            "{convert_failures} frames could not be converted: {}",
            first_convert_failure.unwrap_or_default()
        ));
    }
    if stopped_at_limit {
        report.notes.push(format!(
            "stopped at the RAM limit after {n} frames; raise --max-ram or add --step"
        ));
    }
    if let Some(keyframe) = seeked_to {
        report.notes.push(format!(
            "decoding started at the keyframe at frame {keyframe} (seeked, not decoded from the start)"
        ));
    }
    report.frames_loaded = n;
    let mut meta = StackMeta::new(path, SourceKind::Video, crate::stack::ChannelOrder::Rgb);
    meta.fps = probe.fps;
    meta.duration_secs = probe.duration_secs;
    meta.frame_step = report.frame_step;
    meta.source_frames = source_frames.into();
    let stack = match sink {
        Sink::Ram(data) => {
            let pixels = Array4::from_shape_vec((n, out.height, out.width, out.channels), data)
                .map_err(|e| err(format!("internal shape error: {e}")))?;
            FrameStack::from_array(pixels, meta)
        }
        Sink::Cache(writer, _) => {
            let (stack, used) = writer.finish(meta)?;
            report.cache = Some(used);
            stack
        }
    };
    Ok(Loaded { stack, report })
}

/// Where a video's selected frames go.
enum Sink {
    /// A growing matrix in RAM.
    Ram(Vec<u8>),
    /// A frame cache entry, and one frame's buffer to convert into.
    Cache(EntryWriter, Vec<u8>),
}

/// Source frame numbers from a stream's timestamps, for a stream with a constant rate.
#[derive(Debug, Clone, Copy)]
struct Timing {
    /// The timestamp of frame 0.
    origin: i64,
    /// Seconds per timestamp unit.
    time_base: f64,
    fps: f64,
}

impl Timing {
    fn index(&self, ts: i64) -> Option<usize> {
        let frame = (ts.checked_sub(self.origin)? as f64 * self.time_base * self.fps).round();
        (frame.is_finite() && frame >= 0.0 && frame < usize::MAX as f64).then_some(frame as usize)
    }
}

/// Seeks to the keyframe at or before source frame `start`, so a late range is not decoded
/// from the start. Frame numbers then come from timestamps, which needs a constant frame
/// rate; returns `None` (and leaves the stream where it was) when that is not known or the
/// container cannot seek.
fn seek_to_start(decoding: &mut Decoding, start: usize) -> Option<Timing> {
    if start == 0 {
        return None;
    }
    let stream = decoding.input.stream(decoding.stream_index)?;
    let fps = rational(stream.avg_frame_rate())?;
    // A variable rate has no frame number in a timestamp.
    if rational(stream.rate()).is_none_or(|r| (r - fps).abs() > 1e-6 * fps) {
        return None;
    }
    let time_base = rational(stream.time_base())?;
    let origin = match stream.start_time() {
        ffmpeg::ffi::AV_NOPTS_VALUE => 0,
        t => t,
    };
    // A quarter frame late, so that a keyframe on the first frame wanted is not missed for
    // rounding (and the one before it decoded for nothing); any later keyframe is a frame
    // past it.
    let target_secs = origin as f64 * time_base + (start as f64 + 0.25) / fps;
    let target = (target_secs * f64::from(ffmpeg::ffi::AV_TIME_BASE)) as i64;
    decoding.input.seek(target, ..target).ok()?;
    decoding.decoder.flush();
    Some(Timing {
        origin,
        time_base,
        fps,
    })
}

/// Receives decoded frames and appends the selected ones to the growing matrix.
struct Collector<'a> {
    converter: Converter,
    decoded: VideoFrame,
    options: &'a LoadOptions,
    extra_step: usize,
    limit_bytes: u64,
    sink: Sink,
    /// Where the frames move when the RAM matrix reaches the limit (the header's frame
    /// count can be wrong or missing).
    cache: Option<&'a Slot>,
    estimated_frames: usize,
    cache_error: Option<LoadError>,
    source_frames: Vec<usize>,
    /// Index of the next decoded frame in the source.
    index: usize,
    /// Frame numbers from timestamps, after a seek.
    timing: Option<Timing>,
    /// The source index of the first frame decoded.
    first_decoded: Option<usize>,
    /// The first frame decoded after a seek comes after the first one wanted.
    overshot: bool,
    convert_failures: usize,
    first_convert_failure: Option<String>,
    stopped_at_limit: bool,
}

impl Collector<'_> {
    /// Takes every frame the decoder has ready; false once nothing more is wanted.
    fn drain(&mut self, decoder: &mut ffmpeg::decoder::Video, job: &Job) -> bool {
        let out = self.converter.output();
        let frame_bytes = out.bytes();
        let shape = (out.height, out.width, out.channels);
        while decoder.receive_frame(&mut self.decoded).is_ok() {
            let before = self.index;
            if let Some(timing) = self.timing
                && let Some(index) = self.decoded.timestamp().and_then(|ts| timing.index(ts))
            {
                // Timestamps that repeat or step back keep counting on from the last frame.
                self.index = index.max(self.index);
            }
            if self.first_decoded.is_none() {
                self.first_decoded = Some(self.index);
                if self.timing.is_some() && self.index > self.options.range.start {
                    self.overshot = true;
                    return false;
                }
            }
            if self.options.range.end.is_some_and(|end| self.index >= end) {
                return false;
            }
            if self.options.keeps(self.index, self.extra_step) {
                if let Sink::Ram(data) = &mut self.sink
                    && (data.len() + frame_bytes) as u64 > self.limit_bytes
                {
                    // The header's frame count can be wrong; the limit holds regardless.
                    let Some(slot) = self.cache else {
                        self.stopped_at_limit = true;
                        return false;
                    };
                    let moved = slot.begin(out, self.estimated_frames).and_then(|mut w| {
                        for frame in data.chunks_exact(frame_bytes) {
                            w.push(frame)?;
                        }
                        Ok(w)
                    });
                    match moved {
                        Ok(writer) => self.sink = Sink::Cache(writer, vec![0; frame_bytes]),
                        Err(e) => {
                            self.cache_error = Some(e);
                            return false;
                        }
                    }
                }
                let result = match &mut self.sink {
                    Sink::Ram(data) => {
                        let start = data.len();
                        data.resize(start + frame_bytes, 0);
                        let converted = ArrayViewMut3::from_shape(shape, &mut data[start..])
                            .map_err(|e| e.to_string())
                            .and_then(|slot| self.converter.convert(&self.decoded, slot));
                        if converted.is_err() {
                            data.truncate(start);
                        }
                        converted
                    }
                    Sink::Cache(writer, buffer) => {
                        let converted = ArrayViewMut3::from_shape(shape, buffer.as_mut_slice())
                            .map_err(|e| e.to_string())
                            .and_then(|slot| self.converter.convert(&self.decoded, slot));
                        if converted.is_ok()
                            && let Err(e) = writer.push(buffer)
                        {
                            self.cache_error = Some(e);
                            return false;
                        }
                        converted
                    }
                };
                match result {
                    Ok(()) => self.source_frames.push(self.index),
                    Err(e) => {
                        self.convert_failures += 1;
                        self.first_convert_failure.get_or_insert(e);
                    }
                }
            }
            self.index += 1;
            job.advance(self.index.saturating_sub(before) as u64);
        }
        true
    }
}

/// A video decoded front to back, frame by frame, without keeping frames: analyzers read
/// clips far longer than RAM this way. Only the frames the caller wants are converted (to
/// RGB at the source size); the others are decoded, as the codec needs, and dropped.
pub struct VideoReader {
    path: std::path::PathBuf,
    decoding: Decoding,
    converter: Converter,
}

impl VideoReader {
    pub fn open(path: &Path) -> Result<Self, LoadError> {
        let decoding = open(path)?;
        let converter =
            Converter::new(&decoding.probe, &LoadOptions::default()).map_err(|cause| {
                LoadError::Geometry {
                    path: path.to_path_buf(),
                    cause,
                }
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            decoding,
            converter,
        })
    }

    pub fn probe(&self) -> VideoProbe {
        self.decoding.probe
    }

    /// Calls `on_frame(index, rgb)` for each decoded frame `index` that `wants` accepts, in
    /// order, until the stream ends or `on_frame` returns false. Corrupt packets are skipped
    /// as the loader skips them; a stream that yields no frame at all is an error. Returns
    /// how many frames were decoded.
    pub fn for_each(
        &mut self,
        job: &Job,
        mut wants: impl FnMut(usize) -> bool,
        mut on_frame: impl FnMut(usize, ArrayView3<u8>) -> bool,
    ) -> Result<usize, LoadError> {
        let out = self.converter.output();
        let shape = (out.height, out.width, out.channels);
        let mut slot = vec![0u8; out.bytes()];
        let mut decoded = VideoFrame::empty();
        let mut index = 0usize;
        let mut convert_error: Option<String> = None;
        let converter = &mut self.converter;
        let pumped = self.decoding.pump(job, |decoder| {
            while decoder.receive_frame(&mut decoded).is_ok() {
                let i = index;
                index += 1;
                if !wants(i) {
                    continue;
                }
                let converted = ArrayViewMut3::from_shape(shape, slot.as_mut_slice())
                    .map_err(|e| e.to_string())
                    .and_then(|view| converter.convert(&decoded, view));
                match converted {
                    Ok(()) => {
                        if let Ok(view) = ArrayView3::from_shape(shape, &slot[..])
                            && !on_frame(i, view)
                        {
                            return false;
                        }
                    }
                    Err(e) => {
                        convert_error.get_or_insert(e);
                    }
                }
            }
            true
        })?;
        if index == 0 {
            return Err(LoadError::Video {
                path: self.path.clone(),
                message: format!(
                    "no frame could be decoded: {}",
                    pumped
                        .read_error
                        .or(pumped.first_error)
                        .or(convert_error)
                        .unwrap_or_else(|| "the stream is empty".into())
                ),
            });
        }
        Ok(index)
    }
}
