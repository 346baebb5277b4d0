//! Multi-page TIFF (8- and 16-bit, gray, RGB, RGBA): one page a frame, pages decoded in
//! parallel by a small pool of decoders (each keeps the page offsets it has walked, so seeking
//! near its last page is cheap).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use ndarray::{ArrayView3, Axis};
use rayon::prelude::*;
use tiff::ColorType;
use tiff::decoder::{Decoder, DecodingResult};

use super::Loaded;
use super::error::LoadError;
use super::fill::{self, SlotOutcome};
use super::guard;
use super::options::{LoadOptions, Scaling};
use super::report::LoadReport;
use super::shape::{FitError, FrameGeometry, Shaper};
use crate::job::Job;
use crate::stack::{ChannelOrder, FrameStack, SourceKind, StackMeta, ValueRange};

type TiffDecoder = Decoder<BufReader<File>>;

fn open(path: &Path) -> Result<TiffDecoder, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    Decoder::new(BufReader::new(file)).map_err(|e| format!("not a readable TIFF ({e})"))
}

/// Bits per sample and channels of a page, when supported.
fn page_format(color: ColorType) -> Result<(u8, usize), String> {
    match color {
        ColorType::Gray(b @ (8 | 16)) => Ok((b, 1)),
        ColorType::RGB(b @ (8 | 16)) => Ok((b, 3)),
        ColorType::RGBA(b @ (8 | 16)) => Ok((b, 4)),
        other => Err(format!(
            "unsupported TIFF colour type {other:?} (stackscope reads 8/16-bit gray, RGB, RGBA)"
        )),
    }
}

/// Decodes page `page` with a decoder from the pool; returns its geometry and samples.
fn read_page(
    pool: &Mutex<Vec<TiffDecoder>>,
    path: &Path,
    page: usize,
) -> Result<(FrameGeometry, DecodingResult), String> {
    let pooled = pool.lock().unwrap_or_else(PoisonError::into_inner).pop();
    let mut decoder = match pooled {
        Some(d) => d,
        None => open(path)?,
    };
    let result = (|| {
        decoder.seek_to_image(page).map_err(|e| e.to_string())?;
        let (w, h) = decoder.dimensions().map_err(|e| e.to_string())?;
        let (_, channels) = page_format(decoder.colortype().map_err(|e| e.to_string())?)?;
        let samples = decoder.read_image().map_err(|e| e.to_string())?;
        let geometry = FrameGeometry {
            width: w as usize,
            height: h as usize,
            channels,
        };
        Ok((geometry, samples))
    })();
    pool.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(decoder);
    result
}

/// Loads a (multi-page) TIFF file.
pub fn load_tiff(path: &Path, options: &LoadOptions, job: &Job) -> Result<Loaded, LoadError> {
    let err = |message: String| LoadError::Tiff {
        path: path.to_path_buf(),
        message,
    };
    let mut decoder = open(path).map_err(err)?;
    let (w, h) = decoder.dimensions().map_err(|e| err(e.to_string()))?;
    let color = decoder.colortype().map_err(|e| err(e.to_string()))?;
    let (bits, channels) = page_format(color).map_err(err)?;
    let mut report = LoadReport::new(path.to_path_buf(), SourceKind::Tiff);
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
    report.frames_found = pages;
    let wanted = options.select(pages, 1);
    if wanted.is_empty() {
        return Err(LoadError::EmptySelection {
            path: path.to_path_buf(),
            found: pages,
        });
    }
    let source = FrameGeometry {
        width: w as usize,
        height: h as usize,
        channels,
    };
    let shaper = Shaper::new(source, options).map_err(|cause| LoadError::Geometry {
        path: path.to_path_buf(),
        cause,
    })?;
    let out = shaper.output();
    let limit = guard::ram_limit(options);
    let (extra_step, decision) = guard::plan(path, out.bytes() as u64, wanted.len(), limit)?;
    report.guard = decision;
    report.frame_step = options.requested_step() * extra_step;
    let selected = options.select(pages, extra_step);
    let pool = Mutex::new(vec![decoder]);

    // 16-bit pages: the value range comes first (one decode pass), then the conversion.
    let (lo, hi) = match (bits, options.scaling) {
        (8, _) => (0.0, 255.0),
        (_, Scaling::FullRange) => (0.0, 65535.0),
        (_, Scaling::MinMax) => {
            job.set_total(selected.len() as u64);
            job.set_message("finding the value range");
            let range = selected
                .par_iter()
                .map(|&page| {
                    job.advance(1);
                    if job.is_cancelled() {
                        return (u16::MAX, 0);
                    }
                    match read_page(&pool, path, page) {
                        Ok((_, DecodingResult::U16(v))) => v
                            .iter()
                            .fold((u16::MAX, 0), |(lo, hi), &x| (lo.min(x), hi.max(x))),
                        _ => (u16::MAX, 0),
                    }
                })
                .reduce(|| (u16::MAX, 0), |a, b| (a.0.min(b.0), a.1.max(b.1)));
            job.check()?;
            if range.0 > range.1 {
                (0.0, 65535.0)
            } else {
                (f64::from(range.0), f64::from(range.1))
            }
        }
    };
    let scale = if hi > lo { 255.0 / (hi - lo) } else { 0.0 };

    let mut pixels = fill::allocate([selected.len(), out.height, out.width, out.channels]);
    job.set_total(selected.len() as u64);
    job.set_message(format!("decoding {} pages", selected.len()));
    let outcomes = fill::fill_parallel::<(), _>(&mut pixels, job, |slot_index, slot| {
        let (g, samples) = match read_page(&pool, path, selected[slot_index]) {
            Ok(page) => page,
            Err(reason) => return SlotOutcome::Skipped(reason),
        };
        let bytes: Vec<u8> = match samples {
            DecodingResult::U8(v) => v,
            DecodingResult::U16(v) => v
                .iter()
                .map(|&x| ((f64::from(x) - lo) * scale).round().clamp(0.0, 255.0) as u8)
                .collect(),
            _ => return SlotOutcome::Skipped("unsupported sample type".into()),
        };
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
    let pixels = fill::compact(pixels, &settled.keep);
    if pixels.len_of(Axis(0)) == 0 {
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
    report.frames_loaded = pixels.len_of(Axis(0));
    let mut meta = StackMeta::new(path, SourceKind::Tiff, ChannelOrder::Gray);
    if bits == 16 {
        meta.original_dtype = Some("uint16".into());
        meta.value_range = Some(ValueRange { min: lo, max: hi });
        report
            .notes
            .push(format!("16-bit values in [{lo}, {hi}] scaled to 0..255"));
    }
    meta.frame_step = report.frame_step;
    meta.source_frames = settled.source_frames;
    Ok(Loaded {
        stack: FrameStack::from_array(pixels, meta),
        report,
    })
}
