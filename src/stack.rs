//! The frame matrix at the centre of stackscope: `n × h × w × c` bytes, `c` ∈ {1, 3}.
//!
//! A [`FrameStack`] owns its pixels ([`Array4<u8>`]) or borrows them from a memory-mapped
//! `.npy` file; either way everyone else sees one [`ArrayView4<u8>`]. A mapped stack may be a
//! strided window into the file (frame range, step, crop) without copying a byte.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use memmap2::Mmap;
use ndarray::{Array4, ArrayView3, ArrayView4, Axis, ShapeBuilder};
use serde::Serialize;

/// Where a stack came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Folder,
    Image,
    Video,
    Npy,
    Tiff,
    Generated,
}

/// How the last axis is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelOrder {
    Gray,
    Rgb,
}

impl ChannelOrder {
    pub fn from_channels(c: usize) -> Self {
        if c == 3 { Self::Rgb } else { Self::Gray }
    }

    pub fn channels(self) -> usize {
        match self {
            Self::Gray => 1,
            Self::Rgb => 3,
        }
    }
}

/// The range of the original values that was mapped onto 0..=255 when the source was not `u8`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ValueRange {
    pub min: f64,
    pub max: f64,
}

impl ValueRange {
    /// The original value that a stored byte stands for.
    pub fn original_value(&self, stored: u8) -> f64 {
        self.min + (self.max - self.min) * f64::from(stored) / 255.0
    }
}

/// Everything known about a stack besides its pixels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackMeta {
    pub source: PathBuf,
    pub kind: SourceKind,
    pub channels: ChannelOrder,
    /// Frames per second of the source video; `None` for image sources.
    pub fps: Option<f64>,
    #[serde(rename = "duration_s")]
    pub duration_secs: Option<f64>,
    /// Element type of the source when it was not `u8` (numpy spelling: `uint16`, `float32`, …).
    pub original_dtype: Option<String>,
    /// Original values mapped onto 0..=255 (present when `original_dtype` is).
    pub value_range: Option<ValueRange>,
    /// Step between loaded source frames, including any step the memory guard added.
    pub frame_step: usize,
    /// Index in the source of every loaded frame (skipped files leave gaps).
    pub source_frames: SourceFrames,
}

/// The source index of every loaded frame: arithmetic for a regular selection (so a header's
/// frame count never turns into an allocation), a list when skipped frames left gaps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceFrames {
    /// `start, start + step, …`, `len` of them.
    Every {
        start: usize,
        step: usize,
        len: usize,
    },
    Listed(Vec<usize>),
}

impl Default for SourceFrames {
    fn default() -> Self {
        Self::Listed(Vec::new())
    }
}

impl SourceFrames {
    pub fn every(start: usize, step: usize, len: usize) -> Self {
        Self::Every {
            start,
            step: step.max(1),
            len,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Self::Every { len, .. } => *len,
            Self::Listed(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The source index of loaded frame `i`.
    pub fn get(&self, i: usize) -> Option<usize> {
        match self {
            Self::Every { start, step, len } => (i < *len)
                .then(|| step.checked_mul(i).and_then(|o| o.checked_add(*start)))
                .flatten(),
            Self::Listed(v) => v.get(i).copied(),
        }
    }

    pub fn last(&self) -> Option<usize> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    pub fn to_vec(&self) -> Vec<usize> {
        self.iter().collect()
    }
}

impl From<Vec<usize>> for SourceFrames {
    fn from(v: Vec<usize>) -> Self {
        Self::Listed(v)
    }
}

impl PartialEq<Vec<usize>> for SourceFrames {
    fn eq(&self, other: &Vec<usize>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().copied())
    }
}

impl Serialize for SourceFrames {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl StackMeta {
    pub fn new(source: impl Into<PathBuf>, kind: SourceKind, channels: ChannelOrder) -> Self {
        Self {
            source: source.into(),
            kind,
            channels,
            fps: None,
            duration_secs: None,
            original_dtype: None,
            value_range: None,
            frame_step: 1,
            source_frames: SourceFrames::default(),
        }
    }

    /// Time of loaded frame `index` in seconds, when the source has a frame rate.
    pub fn frame_time_secs(&self, index: usize) -> Option<f64> {
        let fps = self.fps.filter(|f| *f > 0.0)?;
        let source_index = self.source_frames.get(index).unwrap_or(index);
        Some(source_index as f64 / fps)
    }
}

/// Row `y` of an `h × w × c` frame as contiguous bytes: borrowed when the row is contiguous
/// (owned stacks, mapped windows), copied only for exotic strides.
pub fn row_bytes<'a>(frame: ArrayView3<'a, u8>, y: usize) -> std::borrow::Cow<'a, [u8]> {
    let row = frame.index_axis_move(Axis(0), y);
    match row.to_slice() {
        Some(slice) => std::borrow::Cow::Borrowed(slice),
        None => std::borrow::Cow::Owned(row.iter().copied().collect()),
    }
}

/// Pixels of a stack: in memory, or a (possibly strided) window into a mapped file.
#[derive(Debug)]
enum Storage {
    Owned(Array4<u8>),
    Mapped(MappedFrames),
}

#[derive(Debug, Clone)]
struct MappedFrames {
    map: Arc<Mmap>,
    offset: usize,
    shape: [usize; 4],
    strides: [usize; 4],
}

impl MappedFrames {
    /// The bytes of the map that frame `index` covers.
    fn frame_span(&self, index: usize) -> Option<std::ops::Range<usize>> {
        let [n, h, w, c] = self.shape;
        if index >= n || h == 0 || w == 0 || c == 0 {
            return None;
        }
        let [s0, s1, s2, s3] = self.strides;
        let start = self.offset + index * s0;
        let last = start + (h - 1) * s1 + (w - 1) * s2 + (c - 1) * s3;
        Some(start..last + 1)
    }

    fn view(&self) -> ArrayView4<'_, u8> {
        let data = self.map.get(self.offset..).unwrap_or(&[]);
        #[allow(clippy::expect_used)] // shape and strides were checked against the map in new().
        ArrayView4::from_shape(self.shape.strides(self.strides), data)
            .expect("mapped window validated at construction")
    }
}

/// The frame matrix: `n × h × w × c` bytes and what is known about them.
#[derive(Debug)]
pub struct FrameStack {
    storage: Storage,
    meta: StackMeta,
}

/// A mapped window does not fit inside its file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("a {shape:?} window at byte {offset} does not fit in a mapped file of {len} bytes")]
pub struct WindowOutOfBounds {
    shape: [usize; 4],
    offset: usize,
    len: usize,
}

impl FrameStack {
    /// Wraps an owned matrix. Its channel axis must have length 1 or 3.
    pub fn from_array(pixels: Array4<u8>, mut meta: StackMeta) -> Self {
        meta.channels = ChannelOrder::from_channels(pixels.len_of(Axis(3)));
        if meta.source_frames.len() != pixels.len_of(Axis(0)) {
            meta.source_frames = SourceFrames::every(0, meta.frame_step, pixels.len_of(Axis(0)));
        }
        Self {
            storage: Storage::Owned(pixels),
            meta,
        }
    }

    /// Wraps a window of a memory-mapped file: element `[i, y, x, c]` lives at byte
    /// `offset + i*strides[0] + y*strides[1] + x*strides[2] + c*strides[3]`.
    pub fn from_mapped(
        map: Arc<Mmap>,
        offset: usize,
        shape: [usize; 4],
        strides: [usize; 4],
        meta: StackMeta,
    ) -> Result<Self, WindowOutOfBounds> {
        let out_of_bounds = WindowOutOfBounds {
            shape,
            offset,
            len: map.len(),
        };
        let data = map.get(offset..).ok_or_else(|| out_of_bounds.clone())?;
        ArrayView4::from_shape(shape.strides(strides), data).map_err(|_| out_of_bounds)?;
        let mut meta = meta;
        meta.channels = ChannelOrder::from_channels(shape[3]);
        Ok(Self {
            storage: Storage::Mapped(MappedFrames {
                map,
                offset,
                shape,
                strides,
            }),
            meta,
        })
    }

    /// All frames as one view, whatever the storage.
    pub fn view(&self) -> ArrayView4<'_, u8> {
        match &self.storage {
            Storage::Owned(a) => a.view(),
            Storage::Mapped(m) => m.view(),
        }
    }

    /// Frame `index` as `h × w × c`, or `None` past the end.
    pub fn frame(&self, index: usize) -> Option<ArrayView3<'_, u8>> {
        (index < self.len()).then(|| self.view().index_axis_move(Axis(0), index))
    }

    pub fn len(&self) -> usize {
        self.shape()[0]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `[n, h, w, c]`.
    pub fn shape(&self) -> [usize; 4] {
        match &self.storage {
            Storage::Owned(a) => {
                let s = a.shape();
                [s[0], s[1], s[2], s[3]]
            }
            Storage::Mapped(m) => m.shape,
        }
    }

    pub fn width(&self) -> usize {
        self.shape()[2]
    }

    pub fn height(&self) -> usize {
        self.shape()[1]
    }

    pub fn channels(&self) -> usize {
        self.shape()[3]
    }

    /// Bytes of pixel data the stack exposes (for a mapped stack: bytes of the file it covers).
    pub fn nbytes(&self) -> usize {
        self.shape().iter().product()
    }

    /// Whether frame `index` can be read without waiting for the disk: always for pixels in
    /// RAM; for a mapped stack, whether the OS holds every page of the frame now.
    pub fn frame_resident(&self, index: usize) -> bool {
        let Storage::Mapped(m) = &self.storage else {
            return true;
        };
        let Some(span) = m.frame_span(index) else {
            return true;
        };
        resident(&m.map, span)
    }

    /// Asks the OS to read frame `index` of a mapped stack in the background, so that a
    /// later read does not wait; nothing for pixels in RAM.
    pub fn prefetch_frame(&self, index: usize) {
        if let Storage::Mapped(m) = &self.storage
            && let Some(span) = m.frame_span(index)
        {
            let _ = m
                .map
                .advise_range(memmap2::Advice::WillNeed, span.start, span.len());
        }
    }

    /// True when the pixels live in a memory-mapped file rather than in RAM.
    pub fn is_mapped(&self) -> bool {
        matches!(self.storage, Storage::Mapped(_))
    }

    pub fn meta(&self) -> &StackMeta {
        &self.meta
    }

    /// The same pixels described by `meta` (its channel order follows the pixels).
    pub fn with_meta(mut self, mut meta: StackMeta) -> Self {
        meta.channels = ChannelOrder::from_channels(self.channels());
        if meta.source_frames.len() != self.len() {
            meta.source_frames = SourceFrames::every(0, meta.frame_step, self.len());
        }
        self.meta = meta;
        self
    }

    pub fn meta_mut(&mut self) -> &mut StackMeta {
        &mut self.meta
    }

    pub fn source(&self) -> &Path {
        &self.meta.source
    }

    /// Takes the owned matrix out, copying a mapped window into memory.
    pub fn into_array(self) -> Array4<u8> {
        match self.storage {
            Storage::Owned(a) => a,
            Storage::Mapped(m) => m.view().to_owned(),
        }
    }
}

/// Whether every page of `span` of `map` is in memory (`mincore`). Unknown counts as yes,
/// so a failed query never holds a frame back.
fn resident(map: &Mmap, span: std::ops::Range<usize>) -> bool {
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let Some(bytes) = map.get(span.clone()) else {
        return true;
    };
    let addr = bytes.as_ptr() as usize;
    let aligned = addr - addr % page.max(1);
    let len = addr + bytes.len() - aligned;
    let mut pages = vec![0u8; len.div_ceil(page.max(1))];
    // SAFETY: `aligned..aligned + len` lies within the live map (rounded down to its page,
    // which the map starts on), and `pages` has one byte for each of its pages.
    let ok = unsafe {
        libc::mincore(
            aligned as *mut libc::c_void,
            len,
            pages.as_mut_ptr().cast::<libc::c_uchar>(),
        )
    } == 0;
    !ok || pages.iter().all(|p| p & 1 == 1)
}

/// The frame rate assumed for sources without one (image folders, `.npy`, TIFF): one frame
/// per second, so times are frame numbers.
pub const FALLBACK_FPS: f64 = 1.0;

/// Size and channel count of a frame, `c` ∈ {1, 3} for output, {1, 3, 4} for input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameGeometry {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
}

impl FrameGeometry {
    pub fn bytes(&self) -> usize {
        self.width * self.height * self.channels
    }
}

/// A rectangle in source pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rect {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

impl FromStr for Rect {
    type Err = String;

    /// `X,Y,W,H`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<usize> = s
            .split(',')
            .map(|t| t.trim().parse::<usize>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("crop '{s}' must be four whole numbers X,Y,W,H"))?;
        match parts[..] {
            [x, y, width, height] if width > 0 && height > 0 => Ok(Self {
                x,
                y,
                width,
                height,
            }),
            [_, _, _, _] => Err(format!("crop '{s}' has a zero width or height")),
            _ => Err(format!("crop '{s}' must be four whole numbers X,Y,W,H")),
        }
    }
}

impl StackMeta {
    /// The time of loaded frame `index`: its source frame over the source's rate (or
    /// [`FALLBACK_FPS`]); what analyzers record and the timeline shows.
    pub fn time_of(&self, index: usize) -> f64 {
        self.frame_time_secs(index)
            .unwrap_or_else(|| self.source_frames.get(index).unwrap_or(index) as f64 / FALLBACK_FPS)
    }

    /// The loaded frame of a `len`-frame stack that shows time `t`: the last one at or before
    /// it.
    pub fn frame_at(&self, len: usize, t: f64) -> usize {
        // Times grow with the index, so a binary search finds the frame.
        let (mut lo, mut hi) = (0, len);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.time_of(mid) <= t + 1e-9 {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo.saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn meta() -> StackMeta {
        StackMeta::new("test", SourceKind::Generated, ChannelOrder::Gray)
    }

    #[test]
    fn owned_stack_reports_shape_and_frames() {
        let a = Array4::from_shape_fn((3, 2, 4, 1), |(i, y, x, _)| (i * 100 + y * 10 + x) as u8);
        let s = FrameStack::from_array(a, meta());
        assert_eq!(s.shape(), [3, 2, 4, 1]);
        assert_eq!(s.frame(2).map(|f| f[[1, 3, 0]]), Some(213));
        assert!(s.frame(3).is_none());
        assert!(!s.is_mapped());
        assert_eq!(s.meta().source_frames, vec![0, 1, 2]);
    }

    #[test]
    fn mapped_window_is_strided_and_bounds_checked() {
        let mut file = tempfile::tempfile().unwrap();
        let bytes: Vec<u8> = (0..=255u8).collect();
        file.write_all(&bytes).unwrap();
        let map = Arc::new(unsafe { Mmap::map(&file).unwrap() });
        // The file read as 4 frames of 4×4: take frames 0 and 1 from byte 16, 2×2 crop.
        let s =
            FrameStack::from_mapped(map.clone(), 16, [2, 2, 2, 1], [64, 4, 1, 1], meta()).unwrap();
        assert!(s.is_mapped());
        assert_eq!(s.frame(1).map(|f| f[[1, 1, 0]]), Some(16 + 64 + 4 + 1));
        assert_eq!(s.meta().channels, ChannelOrder::Gray);
        // The file was just written: its pages are in memory.
        assert!(s.frame_resident(0) && s.frame_resident(1) && s.frame_resident(9));
        s.prefetch_frame(1);
        let too_big = FrameStack::from_mapped(map, 200, [2, 4, 4, 1], [64, 4, 1, 1], meta());
        assert!(too_big.is_err());
    }

    #[test]
    fn value_range_maps_bytes_back() {
        let r = ValueRange {
            min: -1.0,
            max: 1.0,
        };
        assert_eq!(r.original_value(0), -1.0);
        assert_eq!(r.original_value(255), 1.0);
    }
}
