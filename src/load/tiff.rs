//! Multi-page TIFF and BigTIFF: one page a frame, gray, RGB or RGBA, 8 to 64 bits per sample
//! (unsigned, signed or float; wider samples are scaled to bytes as `.npy` data are), strips
//! or tiles, uncompressed, LZW, Deflate or PackBits, chunky or planar. Pages are decoded in
//! parallel by a small pool of decoders (each keeps the page offsets it has walked, so seeking
//! near its last page is cheap).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use ndarray::ArrayView3;
use rayon::prelude::*;
use tiff::ColorType;
use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::SampleFormat;

use super::Loaded;
use super::cache::Slot;
use super::error::LoadError;
use super::fill::{self, Matrix, SlotOutcome};
use super::guard;
use super::options::{LoadOptions, Scaling};
use super::report::LoadReport;
use super::shape::{FitError, FrameGeometry, Shaper};
use crate::job::Job;
use crate::stack::{ChannelOrder, SourceKind, StackMeta, ValueRange};

type TiffDecoder = Decoder<BufReader<File>>;

fn open(path: &Path, limit_bytes: u64) -> Result<TiffDecoder, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    // A page may take up to the load's RAM limit; the crate's own default (256 MiB) would
    // refuse large but valid 16-bit or float pages.
    let mut limits = Limits::default();
    limits.decoding_buffer_size = usize::try_from(limit_bytes)
        .unwrap_or(usize::MAX)
        .max(limits.decoding_buffer_size);
    Decoder::new(BufReader::new(file))
        .map(|d| d.with_limits(limits))
        .map_err(|e| describe(&e))
}

/// What the loader reads, for messages about what it does not.
const READS: &str = "stackscope reads gray, RGB and RGBA pages of 8 to 64 bits per sample \
                     (unsigned, signed or float)";

/// A decoder error as the user reads it: what is unsupported next to what is.
fn describe(e: &tiff::TiffError) -> String {
    match e {
        tiff::TiffError::UnsupportedError(_) => format!("{e}; {READS}"),
        e => format!("not a readable TIFF ({e})"),
    }
}

/// Bits per sample and channels of a page, when supported.
fn page_format(color: ColorType) -> Result<(u8, usize), String> {
    match color {
        ColorType::Gray(b @ (8 | 16 | 32 | 64)) => Ok((b, 1)),
        ColorType::RGB(b @ (8 | 16 | 32 | 64)) => Ok((b, 3)),
        ColorType::RGBA(b @ (8 | 16 | 32 | 64)) => Ok((b, 4)),
        other => Err(format!("unsupported TIFF colour type {other:?}; {READS}")),
    }
}

/// Applies `$body` to the samples of any `DecodingResult` variant, as `$v: &Vec<T>`.
macro_rules! with_samples {
    ($result:expr, $v:ident => $body:expr) => {
        match $result {
            DecodingResult::U8($v) => $body,
            DecodingResult::U16($v) => $body,
            DecodingResult::U32($v) => $body,
            DecodingResult::U64($v) => $body,
            DecodingResult::F16($v) => $body,
            DecodingResult::F32($v) => $body,
            DecodingResult::F64($v) => $body,
            DecodingResult::I8($v) => $body,
            DecodingResult::I16($v) => $body,
            DecodingResult::I32($v) => $body,
            DecodingResult::I64($v) => $body,
        }
    };
}

/// A sample value as f64 (half floats and 64-bit integers included).
trait AsF64: Copy {
    fn as_f64(self) -> f64;
}
macro_rules! as_f64 {
    ($($t:ty),*) => {$(impl AsF64 for $t { fn as_f64(self) -> f64 { self as f64 } })*};
}
as_f64!(u8, u16, u32, u64, i8, i16, i32, i64, f32, f64);
impl AsF64 for half::f16 {
    fn as_f64(self) -> f64 {
        self.to_f64()
    }
}

/// numpy's name for the page's sample type, and the range `full-range` scaling maps.
fn sample_type(result: &DecodingResult) -> (&'static str, (f64, f64)) {
    match result {
        DecodingResult::U8(_) => ("uint8", (0.0, 255.0)),
        DecodingResult::U16(_) => ("uint16", (0.0, 65535.0)),
        DecodingResult::U32(_) => ("uint32", (0.0, 4294967295.0)),
        DecodingResult::U64(_) => ("uint64", (0.0, 18446744073709551615.0)),
        DecodingResult::I8(_) => ("int8", (-128.0, 127.0)),
        DecodingResult::I16(_) => ("int16", (-32768.0, 32767.0)),
        DecodingResult::I32(_) => ("int32", (-2147483648.0, 2147483647.0)),
        DecodingResult::I64(_) => ("int64", (-9.223372036854776e18, 9.223372036854776e18)),
        DecodingResult::F16(_) => ("float16", (0.0, 1.0)),
        DecodingResult::F32(_) => ("float32", (0.0, 1.0)),
        DecodingResult::F64(_) => ("float64", (0.0, 1.0)),
    }
}

/// The smallest and largest finite sample (NaN and infinities are left out).
fn value_range(result: &DecodingResult) -> Option<(f64, f64)> {
    let (lo, hi) = with_samples!(result, v => v.iter().fold(
        (f64::INFINITY, f64::NEG_INFINITY),
        |(lo, hi), &x| {
            let x = x.as_f64();
            if x.is_finite() { (lo.min(x), hi.max(x)) } else { (lo, hi) }
        },
    ));
    (lo <= hi).then_some((lo, hi))
}

/// The page's samples as interleaved bytes (`h × w × c`): `U8` pages as they are, wider
/// ones mapped from `lo` with `scale` (NaN becomes 0), planar pages (one plane per channel,
/// tifffile's default for `(3, h, w)` data) interleaved.
fn page_bytes(result: &DecodingResult, planes: usize, lo: f64, scale: f64) -> Vec<u8> {
    let interleaved: Vec<u8> = match result {
        DecodingResult::U8(v) => v.clone(),
        other => with_samples!(other, v => v
            .iter()
            .map(|&x| {
                let x = x.as_f64();
                if x.is_nan() { 0 } else { ((x - lo) * scale).round().clamp(0.0, 255.0) as u8 }
            })
            .collect()),
    };
    if planes <= 1 {
        return interleaved;
    }
    let plane = interleaved.len() / planes;
    let mut out = vec![0u8; plane * planes];
    for (c, samples) in interleaved.chunks_exact(plane).enumerate() {
        for (i, &b) in samples.iter().enumerate() {
            out[i * planes + c] = b;
        }
    }
    out
}

/// numpy's name for a page's sample type and the range `full-range` scaling maps, from the
/// page's sample format and bits.
fn dtype_of(format: SampleFormat, bits: u8) -> Result<(&'static str, (f64, f64)), String> {
    let probe = |result: DecodingResult| sample_type(&result);
    Ok(match (format, bits) {
        (SampleFormat::Uint, 8) => probe(DecodingResult::U8(Vec::new())),
        (SampleFormat::Uint, 16) => probe(DecodingResult::U16(Vec::new())),
        (SampleFormat::Uint, 32) => probe(DecodingResult::U32(Vec::new())),
        (SampleFormat::Uint, 64) => probe(DecodingResult::U64(Vec::new())),
        (SampleFormat::Int, 8) => probe(DecodingResult::I8(Vec::new())),
        (SampleFormat::Int, 16) => probe(DecodingResult::I16(Vec::new())),
        (SampleFormat::Int, 32) => probe(DecodingResult::I32(Vec::new())),
        (SampleFormat::Int, 64) => probe(DecodingResult::I64(Vec::new())),
        (SampleFormat::IEEEFP, 16) => probe(DecodingResult::F16(Vec::new())),
        (SampleFormat::IEEEFP, 32) => probe(DecodingResult::F32(Vec::new())),
        (SampleFormat::IEEEFP, 64) => probe(DecodingResult::F64(Vec::new())),
        (format, bits) => {
            return Err(format!(
                "unsupported sample format {format:?} with {bits} bits; {READS}"
            ));
        }
    })
}

/// An ImageJ stack written as one directory followed by the other images back to back, as
/// ImageJ saves stacks over 4 GB (its description says `images=N`; only the first image
/// has a directory). Pages past the first are read straight from the file.
#[derive(Debug, Clone, Copy)]
struct Contiguous {
    first_offset: u64,
    page_bytes: u64,
    big_endian: bool,
    pages: usize,
}

impl Contiguous {
    /// Recognizes the layout from the first page's tags; `None` for any other file.
    fn detect(decoder: &mut TiffDecoder, page_bytes: u64, file_len: u64) -> Option<Self> {
        use tiff::tags::Tag;
        let text = decoder.get_tag_ascii_string(Tag::ImageDescription).ok()?;
        if !text.starts_with("ImageJ=") {
            return None;
        }
        let images: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("images="))?
            .trim()
            .parse()
            .ok()?;
        let compression = decoder.get_tag_u32(Tag::Compression).unwrap_or(1);
        let planar = decoder.get_tag_u32(Tag::PlanarConfiguration).unwrap_or(1);
        let offsets = decoder.get_tag_u64_vec(Tag::StripOffsets).ok()?;
        let counts = decoder.get_tag_u64_vec(Tag::StripByteCounts).ok()?;
        // Uncompressed, interleaved, its strips one run of bytes of exactly one page.
        let one_run = offsets.len() == counts.len()
            && offsets
                .windows(2)
                .zip(&counts)
                .all(|(o, &c)| o[0].checked_add(c) == Some(o[1]));
        let total: u64 = counts.iter().sum();
        if images < 2 || compression != 1 || planar != 1 || !one_run || total != page_bytes {
            return None;
        }
        let first_offset = *offsets.first()?;
        let fit = file_len.saturating_sub(first_offset) / page_bytes.max(1);
        Some(Self {
            first_offset,
            page_bytes,
            big_endian: decoder.byte_order() == tiff::tags::ByteOrder::BigEndian,
            pages: images.min(usize::try_from(fit).unwrap_or(usize::MAX)),
        })
    }

    /// Page `page`'s samples, read from the file and put in this machine's byte order.
    fn read(&self, path: &Path, page: usize, dtype: &str) -> Result<DecodingResult, String> {
        use std::os::unix::fs::FileExt;
        let at = (page as u64)
            .checked_mul(self.page_bytes)
            .and_then(|o| o.checked_add(self.first_offset))
            .ok_or("the page offset overflows")?;
        let len = usize::try_from(self.page_bytes).map_err(|e| e.to_string())?;
        let mut bytes = vec![0u8; len];
        File::open(path)
            .and_then(|f| f.read_exact_at(&mut bytes, at))
            .map_err(|e| format!("page {page} at byte {at}: {e}"))?;
        let big = self.big_endian;
        macro_rules! samples {
            ($variant:ident, $t:ty) => {
                DecodingResult::$variant(
                    bytes
                        .chunks_exact(std::mem::size_of::<$t>())
                        .map(|c| {
                            let raw = c.try_into().unwrap_or_default();
                            if big {
                                <$t>::from_be_bytes(raw)
                            } else {
                                <$t>::from_le_bytes(raw)
                            }
                        })
                        .collect(),
                )
            };
        }
        Ok(match dtype {
            "uint8" => DecodingResult::U8(bytes),
            "int8" => DecodingResult::I8(bytes.iter().map(|&b| b as i8).collect()),
            "uint16" => samples!(U16, u16),
            "int16" => samples!(I16, i16),
            "uint32" => samples!(U32, u32),
            "int32" => samples!(I32, i32),
            "float32" => samples!(F32, f32),
            "float64" => samples!(F64, f64),
            other => return Err(format!("{other} samples in a contiguous ImageJ stack")),
        })
    }
}

/// One decoded page: its geometry, its samples and how many planes they are stored in.
struct Page {
    geometry: FrameGeometry,
    samples: DecodingResult,
    planes: usize,
}

/// Decodes page `page` with a decoder from the pool.
fn read_page(
    pool: &Mutex<Vec<TiffDecoder>>,
    path: &Path,
    page: usize,
    limit_bytes: u64,
    contiguous: Option<(&Contiguous, FrameGeometry, &str)>,
) -> Result<Page, String> {
    if let Some((layout, geometry, dtype)) = contiguous {
        return Ok(Page {
            geometry,
            samples: layout.read(path, page, dtype)?,
            planes: 1,
        });
    }
    let pooled = pool.lock().unwrap_or_else(PoisonError::into_inner).pop();
    let mut decoder = match pooled {
        Some(d) => d,
        None => open(path, limit_bytes)?,
    };
    // A page the decoder panics on is skipped like one it refuses (the decoder is dropped).
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decoder.seek_to_image(page).map_err(|e| e.to_string())?;
        let (w, h) = decoder.dimensions().map_err(|e| e.to_string())?;
        let (_, channels) = page_format(decoder.colortype().map_err(|e| e.to_string())?)?;
        let mut samples = DecodingResult::U8(Vec::new());
        let layout = decoder
            .read_image_to_buffer(&mut samples)
            .map_err(|e| e.to_string())?;
        let planes = layout.planes.max(1);
        let expected = (w as usize)
            .checked_mul(h as usize)
            .and_then(|n| n.checked_mul(channels))
            .ok_or("the page's size overflows")?;
        let got = with_samples!(&samples, v => v.len());
        if got < expected {
            return Err(format!(
                "the page holds {got} samples, {expected} expected (planar pages larger than the \
                 RAM limit are read one plane only)"
            ));
        }
        let geometry = FrameGeometry {
            width: w as usize,
            height: h as usize,
            channels,
        };
        Ok(Page {
            geometry,
            samples,
            planes: if planes > 1 { channels } else { 1 },
        })
    }));
    match decoded {
        Ok(result) => {
            pool.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(decoder);
            result
        }
        Err(payload) => Err(format!(
            "the TIFF decoder failed on this page: {}",
            super::panic_message(payload.as_ref())
        )),
    }
}

/// What an ImageJ-written TIFF says about itself in its description
/// (`ImageJ=…\nimages=N\nchannels=C\nslices=Z\nframes=T\n…`).
fn imagej_note(decoder: &mut TiffDecoder) -> Option<String> {
    let text = decoder
        .get_tag_ascii_string(tiff::tags::Tag::ImageDescription)
        .ok()?;
    if !text.starts_with("ImageJ=") {
        return None;
    }
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .and_then(|v| v.trim().parse::<usize>().ok())
    };
    let dims: Vec<String> = [
        ("channels", "channels"),
        ("slices", "slices"),
        ("frames", "frames"),
    ]
    .iter()
    .filter_map(|(k, name)| field(k).filter(|&n| n > 1).map(|n| format!("{n} {name}")))
    .collect();
    let images = field("images");
    Some(if dims.is_empty() {
        format!("ImageJ TIFF ({} images)", images.unwrap_or(1))
    } else {
        format!(
            "ImageJ hyperstack: {}; pages load in ImageJ's order (channel fastest, then slice, \
             then frame)",
            dims.join(" × ")
        )
    })
}

/// Loads a (multi-page) TIFF file.
pub fn load_tiff(
    path: &Path,
    options: &LoadOptions,
    cache: Option<&Slot>,
    job: &Job,
) -> Result<Loaded, LoadError> {
    let err = |message: String| LoadError::Tiff {
        path: path.to_path_buf(),
        message,
    };
    let limit = guard::ram_limit(options);
    let mut decoder = open(path, limit).map_err(err)?;
    let (w, h) = decoder.dimensions().map_err(|e| err(describe(&e)))?;
    let color = decoder.colortype().map_err(|e| err(describe(&e)))?;
    let (bits, channels) = page_format(color).map_err(err)?;
    let layout = decoder
        .image_buffer_layout()
        .map_err(|e| err(format!("unsupported page layout ({e})")))?;
    let (dtype, full) = dtype_of(layout.sample_format, bits).map_err(err)?;
    let mut report = LoadReport::new(path.to_path_buf(), SourceKind::Tiff);
    report.notes.extend(imagej_note(&mut decoder));
    // Counting pages reads only their directories, not their pixels.
    let mut pages = 1;
    while decoder.more_images() {
        job.check()?;
        if let Err(e) = decoder.next_image() {
            report
                .notes
                .push(format!("page chain broken after {pages} pages: {e}"));
            break;
        }
        pages += 1;
    }
    let source = FrameGeometry {
        width: w as usize,
        height: h as usize,
        channels,
    };
    let mut contiguous_layout = None;
    if pages == 1 {
        decoder.seek_to_image(0).map_err(|e| err(describe(&e)))?;
        let page_bytes = (source.bytes() as u64).saturating_mul(u64::from(bits / 8));
        let file_len = std::fs::metadata(path).map_or(0, |m| m.len());
        if let Some(layout) = Contiguous::detect(&mut decoder, page_bytes, file_len) {
            report.notes.push(format!(
                "ImageJ stack stored as one directory and {} images back to back",
                layout.pages
            ));
            pages = layout.pages;
            contiguous_layout = Some(layout);
        }
    }
    let contiguous = contiguous_layout.as_ref().map(|l| (l, source, dtype));
    report.frames_found = pages;
    let wanted = options.select(pages, 1);
    if wanted.is_empty() {
        return Err(LoadError::EmptySelection {
            path: path.to_path_buf(),
            found: pages,
        });
    }
    let shaper = Shaper::new(source, options).map_err(|cause| LoadError::Geometry {
        path: path.to_path_buf(),
        cause,
    })?;
    let out = shaper.output();
    let placement = guard::place(path, out, wanted.len(), limit, cache)?;
    let extra_step = placement.extra_step();
    report.guard = placement.decision();
    report.frame_step = options.requested_step() * extra_step;
    let selected = options.select(pages, extra_step).to_vec();
    let pool = Mutex::new(vec![decoder]);

    // Pages wider than a byte: under `min-max` the value range comes first (one decode
    // pass), then the conversion.
    let (lo, hi) = match (dtype, options.scaling) {
        ("uint8", _) => (0.0, 255.0),
        (_, Scaling::FullRange) => full,
        (_, Scaling::MinMax) => {
            job.set_total(selected.len() as u64);
            job.set_message("finding the value range");
            let range = selected
                .par_iter()
                .map(|&page| {
                    job.advance(1);
                    if job.is_cancelled() {
                        return None;
                    }
                    read_page(&pool, path, page, limit, contiguous)
                        .ok()
                        .and_then(|p| value_range(&p.samples))
                })
                .reduce(
                    || None,
                    |a, b| match (a, b) {
                        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
                        (a, b) => a.or(b),
                    },
                );
            job.check()?;
            range.unwrap_or((0.0, 0.0))
        }
    };
    let scale = if hi > lo { 255.0 / (hi - lo) } else { 0.0 };

    let mut matrix = Matrix::new(placement, selected.len(), out);
    job.set_total(selected.len() as u64);
    job.set_message(format!("decoding {} pages", selected.len()));
    let outcomes = matrix.fill::<(), _>(selected.len(), job, |slot_index, slot| {
        let page = match read_page(&pool, path, selected[slot_index], limit, contiguous) {
            Ok(page) => page,
            Err(reason) => return SlotOutcome::Skipped(reason),
        };
        if sample_type(&page.samples).0 != dtype {
            return SlotOutcome::Skipped(format!(
                "page holds {} samples, the first page {dtype}",
                sample_type(&page.samples).0
            ));
        }
        let g = page.geometry;
        let bytes = page_bytes(&page.samples, page.planes, lo, scale);
        let Ok(view) = ArrayView3::from_shape((g.height, g.width, g.channels), &bytes) else {
            return SlotOutcome::Skipped("page data is shorter than its size".into());
        };
        match shaper.apply_fitting(view, options.resize_to_first, slot) {
            Ok(()) => SlotOutcome::Filled,
            Err(FitError::OddSize { width, height }) => SlotOutcome::Skipped(format!(
                "page is {width}×{height}, the first is {}×{} (--resize-to-first loads it resized)",
                source.width, source.height
            )),
            Err(FitError::Geometry(e)) => SlotOutcome::Skipped(e.to_string()),
        }
    })?;
    let settled = fill::settle(
        outcomes,
        &selected,
        |page| format!("page {page}"),
        &mut report.skipped,
    );
    if settled.source_frames.is_empty() {
        return Err(LoadError::NothingDecoded {
            path: path.to_path_buf(),
            tried: selected.len(),
            first: report
                .skipped
                .first()
                .map(|s| s.reason.clone())
                .unwrap_or_default(),
        });
    }
    let mut meta = StackMeta::new(path, SourceKind::Tiff, ChannelOrder::Gray);
    if dtype != "uint8" {
        meta.original_dtype = Some(dtype.into());
        meta.value_range = Some(ValueRange { min: lo, max: hi });
        let how = match options.scaling {
            Scaling::MinMax => "its minimum and maximum",
            Scaling::FullRange => "the type's full range",
        };
        report.notes.push(format!(
            "{dtype} values in [{lo}, {hi}] scaled to 0..255 by {how}"
        ));
    }
    meta.frame_step = report.frame_step;
    meta.source_frames = settled.source_frames.into();
    let (stack, cache_use) = matrix.finish(&settled.keep, meta)?;
    report.frames_loaded = stack.len();
    report.cache = cache_use;
    Ok(Loaded { stack, report })
}
