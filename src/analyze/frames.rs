//! What vision analyzers share: which frames to look at ([`Sampling`]), a perceptual hash
//! that tells when a frame looks like the last one analysed ([`DuplicateSkip`]), and one way
//! to walk the sampled frames of a clip whether it is a video on disk (decoded as a stream,
//! never held whole) or a stack already loaded in the window.

use std::sync::Arc;

use ndarray::{Array3, ArrayView3, s};
use serde::{Deserialize, Serialize};

use super::Source;
use super::error::AnalyzeError;
use crate::job::Job;
use crate::load::{self, LoadOptions, VideoReader};
use crate::stack::{FrameStack, SourceKind};

/// Which frames an analyzer looks at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sampling {
    /// Frames per second to analyse; 0 analyses every frame.
    pub fps: f64,
    /// Seconds from the start of the clip.
    pub start: f64,
    /// End in seconds (exclusive); `None`: to the end.
    pub end: Option<f64>,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            fps: 2.0,
            start: 0.0,
            end: None,
        }
    }
}

impl Sampling {
    pub fn every_frame() -> Self {
        Self {
            fps: 0.0,
            ..Self::default()
        }
    }

    pub fn validate(&self) -> Result<(), AnalyzeError> {
        let bad = |m: &str| Err(AnalyzeError::Settings(m.to_owned()));
        if !self.fps.is_finite() || self.fps < 0.0 {
            return bad(
                "the sampling rate must be 0 (every frame) or a positive number of frames per second",
            );
        }
        if !self.start.is_finite() || self.start < 0.0 {
            return bad("the start time must be 0 or more seconds");
        }
        if self.end.is_some_and(|e| !e.is_finite() || e <= self.start) {
            return bad("the end time must come after the start time");
        }
        Ok(())
    }

    /// The interval between sampled frames for a clip of `clip_fps`.
    pub fn interval(&self, clip_fps: f64) -> f64 {
        if self.fps > 0.0 && self.fps < clip_fps {
            1.0 / self.fps
        } else {
            1.0 / clip_fps
        }
    }

    fn selector(&self, clip_fps: f64) -> impl FnMut(usize) -> bool + use<> {
        let (fps, start, end) = (self.fps, self.start, self.end);
        let mut last_bin = None;
        move |index| {
            let t = index as f64 / clip_fps;
            if t + 1e-9 < start || end.is_some_and(|e| t >= e) {
                return false;
            }
            if fps <= 0.0 || fps >= clip_fps {
                return true;
            }
            // The first frame in each 1/fps bin, so that sampling follows the clock even when
            // the clip's rate is not a multiple of the sampling rate.
            let bin = ((t - start) * fps + 1e-6).floor() as i64;
            if last_bin == Some(bin) {
                false
            } else {
                last_bin = Some(bin);
                true
            }
        }
    }

    /// How many frames a clip of `frames` at `clip_fps` gives.
    pub fn count(&self, frames: usize, clip_fps: f64) -> usize {
        let mut wants = self.selector(clip_fps);
        (0..frames).filter(|&i| wants(i)).count()
    }
}

/// A sampled frame: its index in the clip, its time, and its pixels as `h × w × 3` RGB.
pub struct SampledFrame<'a> {
    pub index: usize,
    pub time: f64,
    pub rgb: ArrayView3<'a, u8>,
}

/// Facts about the clip a frame walk went through.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipFrames {
    pub fps: f64,
    /// Frames in the clip (decoded ones for a video).
    pub frames: usize,
    pub duration: f64,
    pub width: usize,
    pub height: usize,
}

pub use crate::stack::FALLBACK_FPS;

/// Walks the sampled frames of `source` in order. A loaded stack is read in place; a video
/// file is decoded as a stream; other files (folders, `.npy`, TIFF) are loaded first.
/// `on_frame` returns `Ok(false)` to stop early.
pub fn for_each_sampled(
    source: &Source,
    sampling: &Sampling,
    job: &Job,
    on_frame: impl FnMut(SampledFrame) -> Result<bool, AnalyzeError>,
) -> Result<ClipFrames, AnalyzeError> {
    sampling.validate()?;
    walk(
        source,
        job,
        |fps, frames| (sampling.selector(fps), sampling.count(frames, fps)),
        on_frame,
    )
}

/// Walks the frames numbered `chosen` (source frame numbers, in any order) and stops after
/// the last. A stack loaded with a step has only some frame numbers: each chosen one is
/// replaced by the nearest it has.
pub fn for_each_chosen(
    source: &Source,
    chosen: &[usize],
    job: &Job,
    mut on_frame: impl FnMut(SampledFrame) -> Result<bool, AnalyzeError>,
) -> Result<ClipFrames, AnalyzeError> {
    let mut wanted: Vec<usize> = match &source.stack {
        Some(stack) => {
            let have = &stack.meta().source_frames;
            let nearest = |c: usize| have.iter().min_by_key(|&s| s.abs_diff(c)).unwrap_or(c);
            chosen.iter().map(|&c| nearest(c)).collect()
        }
        None => chosen.to_vec(),
    };
    wanted.sort_unstable();
    wanted.dedup();
    let Some(&last) = wanted.last() else {
        return Err(AnalyzeError::Settings(
            "no frames were chosen to read".into(),
        ));
    };
    let total = wanted.len();
    walk(
        source,
        job,
        |_, _| (move |i: usize| wanted.binary_search(&i).is_ok(), total),
        |frame| {
            let index = frame.index;
            Ok(on_frame(frame)? && index < last)
        },
    )
}

/// The one walk both selections share: `select(fps, frames)` gives which frame numbers to
/// visit and how many that will be (for progress).
fn walk<W: FnMut(usize) -> bool>(
    source: &Source,
    job: &Job,
    select: impl FnOnce(f64, usize) -> (W, usize),
    mut on_frame: impl FnMut(SampledFrame) -> Result<bool, AnalyzeError>,
) -> Result<ClipFrames, AnalyzeError> {
    if let Some(stack) = &source.stack {
        return walk_stack(stack, job, select, on_frame);
    }
    if load::detect(&source.path) == SourceKind::Video {
        let mut reader = VideoReader::open(&source.path)?;
        let probe = reader.probe();
        let fps = probe.fps.filter(|f| *f > 0.0).unwrap_or(FALLBACK_FPS);
        let (mut wants, total) = select(fps, probe.estimated_frames);
        job.set_total(total as u64);
        let mut failure = None;
        let frames = reader.for_each(job, &mut wants, |index, rgb| {
            let frame = SampledFrame {
                index,
                time: index as f64 / fps,
                rgb,
            };
            match on_frame(frame) {
                Ok(go_on) => {
                    job.advance(1);
                    go_on
                }
                Err(e) => {
                    failure = Some(e);
                    false
                }
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
        let frames = frames?;
        return Ok(ClipFrames {
            fps,
            frames,
            duration: probe
                .duration_secs
                .unwrap_or(frames as f64 / fps)
                .max(frames as f64 / fps),
            width: probe.width,
            height: probe.height,
        });
    }
    job.set_message("loading frames");
    let loaded = load::load(&source.path, &LoadOptions::default(), job)?;
    walk_stack(&Arc::new(loaded.stack), job, select, on_frame)
}

fn walk_stack<W: FnMut(usize) -> bool>(
    stack: &FrameStack,
    job: &Job,
    select: impl FnOnce(f64, usize) -> (W, usize),
    mut on_frame: impl FnMut(SampledFrame) -> Result<bool, AnalyzeError>,
) -> Result<ClipFrames, AnalyzeError> {
    let meta = stack.meta();
    let fps = meta.fps.filter(|f| *f > 0.0).unwrap_or(FALLBACK_FPS);
    // A stack loaded with a step keeps its source frame numbers; sampling follows the
    // source's clock so that times agree with the same clip analysed from disk.
    let source_index = |i: usize| meta.source_frames.get(i).unwrap_or(i);
    let (mut wants, _) = select(fps, stack.len());
    let chosen: Vec<usize> = (0..stack.len())
        .filter(|&i| wants(source_index(i)))
        .collect();
    job.set_total(chosen.len() as u64);
    // Only gray stacks need a buffer to expand frames into.
    let mut rgb =
        (stack.channels() != 3).then(|| Array3::<u8>::zeros((stack.height(), stack.width(), 3)));
    for i in chosen {
        job.check()?;
        let Some(frame) = stack.frame(i) else { break };
        let view = match &mut rgb {
            None => frame,
            Some(rgb) => {
                for c in 0..3 {
                    rgb.slice_mut(s![.., .., c])
                        .assign(&frame.slice(s![.., .., 0]));
                }
                rgb.view()
            }
        };
        let go_on = on_frame(SampledFrame {
            index: source_index(i),
            time: meta.time_of(i),
            rgb: view,
        })?;
        job.advance(1);
        if !go_on {
            break;
        }
    }
    let frames = meta
        .source_frames
        .last()
        .map_or(stack.len(), |last| (last + 1).max(stack.len()));
    Ok(ClipFrames {
        fps,
        frames,
        duration: meta.duration_secs.unwrap_or(frames as f64 / fps),
        width: stack.width(),
        height: stack.height(),
    })
}

/// A region of the frame in fractions of its size (0–1), e.g. the subtitle band
/// `0,0.75,1,0.25`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Region {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl std::str::FromStr for Region {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let v: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("`{s}`: expected x,y,w,h as fractions of the frame"))?;
        let [x, y, w, h] = v[..] else {
            return Err(format!("`{s}`: expected four numbers x,y,w,h"));
        };
        let region = Self { x, y, w, h };
        region.validate().map_err(|e| e.to_string())?;
        Ok(region)
    }
}

impl Region {
    fn validate(&self) -> Result<(), AnalyzeError> {
        let ok = |v: f64| (0.0..=1.0).contains(&v);
        if ok(self.x)
            && ok(self.y)
            && self.w > 0.0
            && self.h > 0.0
            && ok(self.x + self.w)
            && ok(self.y + self.h)
        {
            Ok(())
        } else {
            Err(AnalyzeError::Settings(format!(
                "the hash region {},{},{},{} must lie inside the frame (fractions 0–1)",
                self.x, self.y, self.w, self.h
            )))
        }
    }

    /// The region in pixels of a `width × height` frame, at least one pixel.
    fn pixels(&self, width: usize, height: usize) -> (usize, usize, usize, usize) {
        let x0 = ((self.x * width as f64) as usize).min(width.saturating_sub(1));
        let y0 = ((self.y * height as f64) as usize).min(height.saturating_sub(1));
        let x1 = (((self.x + self.w) * width as f64).ceil() as usize).clamp(x0 + 1, width);
        let y1 = (((self.y + self.h) * height as f64).ceil() as usize).clamp(y0 + 1, height);
        (x0, y0, x1, y1)
    }
}

/// Side of the difference-hash grid: 16 × 16 comparisons, 256 bits. The classic 8 × 8 hash
/// misses a subtitle that changes a few words; 256 bits see it and still ignore codec noise.
pub const HASH_SIDE: usize = 16;

/// A difference hash: for each cell of a `HASH_SIDE × (HASH_SIDE + 1)` grid of mean
/// brightness, whether it is darker than its right neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHash([u64; HASH_SIDE * HASH_SIDE / 64]);

impl FrameHash {
    pub fn of(rgb: ArrayView3<u8>, region: Option<Region>) -> Self {
        let (h, w) = (rgb.shape()[0], rgb.shape()[1]);
        let (x0, y0, x1, y1) = region
            .unwrap_or(Region {
                x: 0.0,
                y: 0.0,
                w: 1.0,
                h: 1.0,
            })
            .pixels(w, h);
        let (cols, rows) = (HASH_SIDE + 1, HASH_SIDE);
        let mut sums = [[0u64; HASH_SIDE + 1]; HASH_SIDE];
        let mut counts = [[0u64; HASH_SIDE + 1]; HASH_SIDE];
        // Every second pixel in each direction is plenty for cell means and quarters the cost.
        let columns: Vec<(usize, usize)> = (x0..x1)
            .step_by(2)
            .map(|x| (x, (x - x0) * cols / (x1 - x0)))
            .collect();
        let contiguous = rgb.as_slice();
        for y in (y0..y1).step_by(2) {
            let r = (y - y0) * rows / (y1 - y0);
            let (sums, counts) = (&mut sums[r], &mut counts[r]);
            for &(x, c) in &columns {
                let l = match contiguous {
                    Some(data) => {
                        let i = (y * w + x) * 3;
                        load::luma(data[i], data[i + 1], data[i + 2])
                    }
                    None => load::luma(rgb[[y, x, 0]], rgb[[y, x, 1]], rgb[[y, x, 2]]),
                };
                sums[c] += u64::from(l);
                counts[c] += 1;
            }
        }
        let mut bits = [0u64; HASH_SIDE * HASH_SIDE / 64];
        for r in 0..rows {
            let mean = |c: usize| sums[r][c] * 1024 / counts[r][c].max(1);
            for c in 0..HASH_SIDE {
                if mean(c) < mean(c + 1) {
                    let bit = r * HASH_SIDE + c;
                    bits[bit / 64] |= 1 << (bit % 64);
                }
            }
        }
        Self(bits)
    }

    pub fn distance(&self, other: &Self) -> u32 {
        self.0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }
}

/// When a sampled frame may reuse the result of the last analysed one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DuplicateSkip {
    pub enabled: bool,
    /// Largest Hamming distance (of 256 bits) that still counts as the same picture.
    pub threshold: u32,
    /// Hash only this part of the frame (a subtitle band, a scoreboard).
    pub region: Option<Region>,
}

impl Default for DuplicateSkip {
    fn default() -> Self {
        Self {
            enabled: true,
            threshold: 4,
            region: None,
        }
    }
}

impl DuplicateSkip {
    pub fn validate(&self) -> Result<(), AnalyzeError> {
        if let Some(region) = &self.region {
            region.validate()?;
        }
        if self.threshold as usize >= HASH_SIDE * HASH_SIDE {
            return Err(AnalyzeError::Settings(format!(
                "the duplicate threshold must be below {} bits",
                HASH_SIDE * HASH_SIDE
            )));
        }
        Ok(())
    }
}

/// Remembers the hash of the last analysed frame.
#[derive(Debug, Default)]
pub struct Deduplicator {
    last: Option<FrameHash>,
    pub analysed: usize,
    pub skipped: usize,
}

impl Deduplicator {
    /// True when `rgb` must be analysed; false when the last analysed frame's result stands.
    pub fn needs_analysis(&mut self, settings: &DuplicateSkip, rgb: ArrayView3<u8>) -> bool {
        if !settings.enabled {
            self.analysed += 1;
            return true;
        }
        let hash = FrameHash::of(rgb, settings.region);
        if self
            .last
            .is_some_and(|last| last.distance(&hash) <= settings.threshold)
        {
            self.skipped += 1;
            false
        } else {
            self.last = Some(hash);
            self.analysed += 1;
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_fps_takes_the_first_frame_of_each_half_second() {
        let sampling = Sampling::default();
        let mut wants = sampling.selector(25.0);
        let chosen: Vec<usize> = (0..60).filter(|&i| wants(i)).collect();
        assert_eq!(chosen, vec![0, 13, 25, 38, 50]);
        assert_eq!(sampling.count(60, 25.0), 5);
        let ranged = Sampling {
            fps: 0.0,
            start: 1.0,
            end: Some(1.2),
        };
        let mut wants = ranged.selector(10.0);
        assert_eq!(
            (0..30).filter(|&i| wants(i)).collect::<Vec<_>>(),
            vec![10, 11]
        );
    }

    #[test]
    fn hash_ignores_noise_but_sees_changed_text() {
        let mut a = Array3::<u8>::from_elem((120, 200, 3), 30);
        // "Words": bright blocks of uneven widths along a subtitle line.
        let mut x = 20;
        for (k, width) in [9, 23, 5, 14, 31, 7, 12, 19]
            .iter()
            .cycle()
            .take(9)
            .enumerate()
        {
            a.slice_mut(s![90..105, x..x + width, ..])
                .fill(200 + k as u8 * 5);
            x += width + 6;
        }
        let mut noisy = a.clone();
        noisy.iter_mut().enumerate().for_each(|(i, v)| {
            *v = v.saturating_add((i % 3) as u8);
        });
        let mut changed = a.clone();
        changed.slice_mut(s![90..105, 100..180, ..]).fill(30);
        let ha = FrameHash::of(a.view(), None);
        assert!(ha.distance(&FrameHash::of(noisy.view(), None)) <= 4);
        assert!(ha.distance(&FrameHash::of(changed.view(), None)) > 4);
        let band = Some(Region {
            x: 0.0,
            y: 0.7,
            w: 1.0,
            h: 0.3,
        });
        assert!(FrameHash::of(a.view(), band).distance(&FrameHash::of(changed.view(), band)) > 10);
    }

    #[test]
    fn gray_stacks_are_walked_as_rgb_at_their_source_times() {
        use crate::stack::{ChannelOrder, SourceKind, StackMeta};
        let pixels = ndarray::Array4::from_shape_fn((6, 2, 3, 1), |(i, ..)| i as u8 * 10);
        let mut meta = StackMeta::new("x", SourceKind::Video, ChannelOrder::Gray);
        meta.fps = Some(10.0);
        meta.source_frames = vec![0, 2, 4, 6, 8, 10].into();
        let source = Source::loaded(Arc::new(FrameStack::from_array(pixels, meta)));
        let mut seen = Vec::new();
        let sampling = Sampling {
            fps: 5.0,
            ..Sampling::default()
        };
        let clip = for_each_sampled(&source, &sampling, &Job::new(), |f| {
            assert_eq!(f.rgb.shape(), &[2, 3, 3]);
            assert!(f.rgb.iter().all(|&v| v == f.rgb[[0, 0, 0]]));
            seen.push((f.index, f.time, f.rgb[[1, 2, 2]]));
            Ok(true)
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![
                (0, 0.0, 0),
                (2, 0.2, 10),
                (4, 0.4, 20),
                (6, 0.6, 30),
                (8, 0.8, 40),
                (10, 1.0, 50)
            ]
        );
        assert_eq!(clip.frames, 11);

        // Chosen frame numbers the stack lacks become the nearest it has; the walk stops
        // after the last.
        let mut chosen = Vec::new();
        for_each_chosen(&source, &[5, 1, 3], &Job::new(), |f| {
            chosen.push(f.index);
            Ok(true)
        })
        .unwrap();
        assert_eq!(chosen, vec![0, 2, 4]);
        assert!(for_each_chosen(&source, &[], &Job::new(), |_| Ok(true)).is_err());
    }

    #[test]
    fn regions_parse_and_must_fit() {
        let r: Region = "0,0.75,1,0.25".parse().unwrap();
        assert_eq!(r.pixels(100, 100), (0, 75, 100, 100));
        assert!("0,0.8,1,0.5".parse::<Region>().is_err());
        assert!("0,0.8,1".parse::<Region>().is_err());
    }
}
