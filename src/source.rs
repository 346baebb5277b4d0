//! Frame sources: a stream of `h × w × c` frames that sinks (the exporter, later the display
//! and analyzers) pull by index, without caring whether the frames sit in a loaded matrix or
//! are decoded on demand.

use std::sync::Arc;

use ndarray::{Array2, Array3, ArrayView3, ArrayView4, Axis};

use crate::display::DisplayMapping;
use crate::load::{FrameGeometry, LoadError};
use crate::ops::Normalizer;
use crate::stack::FrameStack;

/// A frame could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("frame {index} is past the end ({len} frames)")]
    OutOfRange { index: usize, len: usize },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("frame {index}: {reason}")]
    Frame { index: usize, reason: String },
}

/// Frames in order, by index. Implementations may decode lazily; each frame has the same
/// geometry.
pub trait FrameSource: Send {
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Size and channel count (1 or 3) of every frame.
    fn geometry(&self) -> FrameGeometry;

    /// Frames per second of the source, when it has one.
    fn fps(&self) -> Option<f64>;

    /// The file or folder the frames come from, when there is one: writers refuse to
    /// write over it.
    fn source_path(&self) -> Option<&std::path::Path> {
        None
    }

    /// Lends frame `index` to `use_frame`, as `h × w × c` bytes.
    fn with_frame(
        &mut self,
        index: usize,
        use_frame: &mut dyn FnMut(ArrayView3<u8>),
    ) -> Result<(), SourceError>;
}

impl<T: FrameSource + ?Sized> FrameSource for Box<T> {
    fn len(&self) -> usize {
        (**self).len()
    }

    fn geometry(&self) -> FrameGeometry {
        (**self).geometry()
    }

    fn fps(&self) -> Option<f64> {
        (**self).fps()
    }

    fn source_path(&self) -> Option<&std::path::Path> {
        (**self).source_path()
    }

    fn with_frame(
        &mut self,
        index: usize,
        use_frame: &mut dyn FnMut(ArrayView3<u8>),
    ) -> Result<(), SourceError> {
        (**self).with_frame(index, use_frame)
    }
}

/// A loaded stack as a source: frames are lent straight out of the matrix (or the map).
#[derive(Debug, Clone)]
pub struct StackSource {
    stack: Arc<FrameStack>,
}

impl StackSource {
    pub fn new(stack: Arc<FrameStack>) -> Self {
        Self { stack }
    }
}

impl FrameSource for StackSource {
    fn len(&self) -> usize {
        self.stack.len()
    }

    fn geometry(&self) -> FrameGeometry {
        FrameGeometry {
            width: self.stack.width(),
            height: self.stack.height(),
            channels: self.stack.channels(),
        }
    }

    fn fps(&self) -> Option<f64> {
        self.stack.meta().fps
    }

    fn source_path(&self) -> Option<&std::path::Path> {
        Some(&self.stack.meta().source)
    }

    fn with_frame(
        &mut self,
        index: usize,
        use_frame: &mut dyn FnMut(ArrayView3<u8>),
    ) -> Result<(), SourceError> {
        let frame = self.stack.frame(index).ok_or(SourceError::OutOfRange {
            index,
            len: self.stack.len(),
        })?;
        use_frame(frame);
        Ok(())
    }
}

/// Frame `index` (which must exist) as floats after normalization and mask (masked pixels
/// are NaN): the values a viewer shows and a display export maps to colours.
pub fn shown_values(
    stack: ArrayView4<u8>,
    index: usize,
    normalizer: Option<&Normalizer>,
    mask: Option<&Array2<bool>>,
) -> Array3<f32> {
    let mut values = match normalizer {
        Some(n) => n.frame(stack, index),
        None => stack.index_axis(Axis(0), index).mapv(f32::from),
    };
    if let Some(mask) = mask {
        crate::ops::apply_mask(&mut values, mask);
    }
    values
}

/// A stack seen through mask → normalization → display mapping, as RGB bytes: what the
/// viewer shows, so that an export of normalized or single-channel data looks the same
/// (levels, colormap) as on screen.
#[derive(Debug)]
pub struct DisplaySource {
    stack: Arc<FrameStack>,
    mask: Option<Array2<bool>>,
    normalizer: Option<Normalizer>,
    mapping: DisplayMapping,
    frame: Array3<u8>,
}

impl DisplaySource {
    /// `mask` (true = kept, the frames' size) blanks pixels to the mapping's lowest colour;
    /// `normalizer` must have been built for this stack.
    pub fn new(
        stack: Arc<FrameStack>,
        mask: Option<Array2<bool>>,
        normalizer: Option<Normalizer>,
        mapping: DisplayMapping,
    ) -> Self {
        let frame = Array3::zeros((stack.height(), stack.width(), 3));
        Self {
            stack,
            mask,
            normalizer,
            mapping,
            frame,
        }
    }

    /// Frame `index` as floats, after normalization and mask (masked pixels are NaN).
    pub fn values(&self, index: usize) -> Option<Array3<f32>> {
        (index < self.stack.len()).then(|| {
            shown_values(
                self.stack.view(),
                index,
                self.normalizer.as_ref(),
                self.mask.as_ref(),
            )
        })
    }

    /// Levels for this source picked from a few frames (first, middle, last): the data range,
    /// or `saturated_percent` auto-contrast when given; signed data get the diverging map.
    pub fn automatic_mapping(&self, saturated_percent: Option<f64>) -> DisplayMapping {
        let n = self.stack.len();
        let picks = [0, n / 2, n.saturating_sub(1)];
        let samples: Vec<Array3<f32>> = picks.iter().filter_map(|&i| self.values(i)).collect();
        let views: Vec<_> = samples.iter().map(|a| a.view()).collect();
        let Ok(joined) = ndarray::concatenate(Axis(0), &views) else {
            return DisplayMapping::default();
        };
        let mut mapping = DisplayMapping::automatic(joined.view());
        if let Some(pct) = saturated_percent {
            let (lo, hi) =
                crate::display::Histogram::of_f32(joined.view(), 1024).auto_contrast(pct);
            if mapping.colormap == crate::display::Colormap::Diverging {
                let m = lo.abs().max(hi.abs());
                (mapping.min, mapping.max) = (-m, m);
            } else {
                (mapping.min, mapping.max) = (lo, hi);
            }
        }
        mapping
    }

    pub fn set_mapping(&mut self, mapping: DisplayMapping) {
        self.mapping = mapping;
    }

    pub fn mapping(&self) -> DisplayMapping {
        self.mapping
    }

    /// True when frames come out different from the stack's bytes: a mask, a normalization,
    /// or levels, gamma or a colormap other than the identity.
    pub fn changes_anything(&self) -> bool {
        self.mask.is_some()
            || self.normalizer.is_some()
            || self.mapping != DisplayMapping::default()
    }

    /// The frames to export "as displayed": this display when it changes anything, else the
    /// stack's own frames (exact, and gray stays one channel).
    pub fn into_frame_source(self) -> Box<dyn FrameSource> {
        if self.changes_anything() {
            Box::new(self)
        } else {
            Box::new(StackSource::new(self.stack))
        }
    }
}

impl FrameSource for DisplaySource {
    fn len(&self) -> usize {
        self.stack.len()
    }

    fn geometry(&self) -> FrameGeometry {
        FrameGeometry {
            width: self.stack.width(),
            height: self.stack.height(),
            channels: 3,
        }
    }

    fn fps(&self) -> Option<f64> {
        self.stack.meta().fps
    }

    fn source_path(&self) -> Option<&std::path::Path> {
        Some(&self.stack.meta().source)
    }

    fn with_frame(
        &mut self,
        index: usize,
        use_frame: &mut dyn FnMut(ArrayView3<u8>),
    ) -> Result<(), SourceError> {
        let values = self.values(index).ok_or(SourceError::OutOfRange {
            index,
            len: self.stack.len(),
        })?;
        let rgba = self.mapping.rgba_from_f32(values.view());
        for (dst, src) in self
            .frame
            .as_slice_mut()
            .unwrap_or_default()
            .chunks_exact_mut(3)
            .zip(rgba.chunks_exact(4))
        {
            dst.copy_from_slice(&src[..3]);
        }
        use_frame(self.frame.view());
        Ok(())
    }
}

/// Frames `range` of another source, numbered from 0: exporting part of a stack.
pub struct RangeSource<S> {
    inner: S,
    start: usize,
    len: usize,
}

impl<S: FrameSource> RangeSource<S> {
    /// `range` is clamped to the inner source's frames.
    pub fn new(inner: S, range: std::ops::Range<usize>) -> Self {
        let end = range.end.min(inner.len());
        let start = range.start.min(end);
        Self {
            inner,
            start,
            len: end - start,
        }
    }
}

impl<S: FrameSource> FrameSource for RangeSource<S> {
    fn len(&self) -> usize {
        self.len
    }

    fn geometry(&self) -> FrameGeometry {
        self.inner.geometry()
    }

    fn fps(&self) -> Option<f64> {
        self.inner.fps()
    }

    fn source_path(&self) -> Option<&std::path::Path> {
        self.inner.source_path()
    }

    fn with_frame(
        &mut self,
        index: usize,
        use_frame: &mut dyn FnMut(ArrayView3<u8>),
    ) -> Result<(), SourceError> {
        if index >= self.len {
            return Err(SourceError::OutOfRange {
                index,
                len: self.len,
            });
        }
        self.inner.with_frame(self.start + index, use_frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::Colormap;
    use crate::ops::NormalizeSettings;
    use crate::stack::{ChannelOrder, SourceKind, StackMeta};
    use ndarray::Array4;

    fn ramp_stack() -> Arc<FrameStack> {
        let a = Array4::from_shape_fn((4, 2, 3, 1), |(t, _, x, _)| (10 * t + x) as u8);
        Arc::new(FrameStack::from_array(
            a,
            StackMeta::new("t", SourceKind::Generated, ChannelOrder::Gray),
        ))
    }

    #[test]
    fn display_source_maps_normalized_frames_through_the_colormap() {
        let stack = ramp_stack();
        let job = crate::job::Job::new();
        let n = Normalizer::new(
            stack.view(),
            NormalizeSettings::background_subtraction(),
            &job,
        )
        .unwrap();
        let mut source =
            DisplaySource::new(stack.clone(), None, Some(n), DisplayMapping::default());
        let mapping = source.automatic_mapping(None);
        // Background-subtracted data are signed: diverging map, symmetric levels.
        assert_eq!(mapping.colormap, Colormap::Diverging);
        assert_eq!(mapping.min, -mapping.max);
        source.set_mapping(mapping);
        let mut first = Vec::new();
        source
            .with_frame(0, &mut |f| first = f.iter().copied().collect())
            .unwrap();
        assert_eq!(first.len(), 2 * 3 * 3);
        // Frame 0 is below the mean everywhere: blue side of the map.
        assert!(first[2] > first[0], "{first:?}");
        assert_eq!(source.geometry().channels, 3);
    }

    #[test]
    fn masked_pixels_take_the_lowest_colour() {
        let stack = ramp_stack();
        let mut mask = Array2::from_elem((2, 3), true);
        mask[[0, 0]] = false;
        let mapping = DisplayMapping {
            min: 0.0,
            max: 40.0,
            ..DisplayMapping::default()
        };
        let mut source = DisplaySource::new(stack, Some(mask), None, mapping);
        let mut px = Vec::new();
        source
            .with_frame(3, &mut |f| px = f.iter().copied().collect())
            .unwrap();
        assert_eq!(&px[..3], &[0, 0, 0]);
        assert!(px[3] > 0);
    }
}
