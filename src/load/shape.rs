//! Turning one decoded source frame into one slot of the matrix: crop, then channel
//! conversion, then resize, in that order (converting to gray before resizing makes the
//! resize three times cheaper; the crop is given in source pixel coordinates).

use image::imageops::{self, FilterType};
use image::{ImageBuffer, Luma, Rgb};
use ndarray::{ArrayView3, ArrayViewMut3, s};

use super::options::{LoadOptions, Rect, Resize};

pub use crate::stack::FrameGeometry;

/// Why a frame geometry cannot be produced from the options.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeometryError {
    #[error(
        "crop {x},{y},{w},{h} reaches outside the {fw}×{fh} frame",
        x = .crop.x, y = .crop.y, w = .crop.width, h = .crop.height, fw = .width, fh = .height
    )]
    CropOutside {
        crop: Rect,
        width: usize,
        height: usize,
    },
    #[error("the source frame is empty ({width}×{height})")]
    EmptyFrame { width: usize, height: usize },
}

/// Why a frame could not be fitted into a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FitError {
    /// The frame's size differs from the first frame's and resizing odd frames is off.
    OddSize {
        width: usize,
        height: usize,
    },
    Geometry(GeometryError),
}

/// Luma of an RGB pixel, ITU-R BT.601 weights in 8-bit fixed point (77 + 150 + 29 = 256).
#[inline]
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((77 * u32::from(r) + 150 * u32::from(g) + 29 * u32::from(b) + 128) >> 8) as u8
}

/// The fixed recipe that maps source frames of one geometry onto matrix slots.
#[derive(Debug, Clone)]
pub struct Shaper {
    source: FrameGeometry,
    crop: Rect,
    output: FrameGeometry,
}

impl Shaper {
    /// Plans the recipe for frames of `source` geometry. Output channels: 1 when grayscale is
    /// asked for or the source is gray, else 3 (alpha is dropped).
    pub fn new(source: FrameGeometry, options: &LoadOptions) -> Result<Self, GeometryError> {
        let channels = if options.grayscale || source.channels == 1 {
            1
        } else {
            3
        };
        Self::with_channels(source, options, channels)
    }

    /// Like [`Shaper::new`] with the output channel count fixed (every frame of a stack must
    /// match the first one's).
    pub fn with_channels(
        source: FrameGeometry,
        options: &LoadOptions,
        channels: usize,
    ) -> Result<Self, GeometryError> {
        if source.width == 0 || source.height == 0 {
            return Err(GeometryError::EmptyFrame {
                width: source.width,
                height: source.height,
            });
        }
        let crop = options.crop.unwrap_or(Rect {
            x: 0,
            y: 0,
            width: source.width,
            height: source.height,
        });
        if crop.x + crop.width > source.width || crop.y + crop.height > source.height {
            return Err(GeometryError::CropOutside {
                crop,
                width: source.width,
                height: source.height,
            });
        }
        let (width, height) = match options.resize {
            None => (crop.width, crop.height),
            Some(Resize::Size { width, height }) => (width, height),
            Some(Resize::Factor(f)) => (
                ((crop.width as f64 * f).round() as usize).max(1),
                ((crop.height as f64 * f).round() as usize).max(1),
            ),
        };
        Ok(Self {
            source,
            crop,
            output: FrameGeometry {
                width,
                height,
                channels,
            },
        })
    }

    /// A recipe that resizes frames of another size to this one's output (used when the
    /// user allows mixed sizes: the crop is dropped for the odd frame, its whole area resized).
    pub fn for_odd_frame(&self, source: FrameGeometry) -> Result<Self, GeometryError> {
        let options = LoadOptions {
            resize: Some(Resize::Size {
                width: self.output.width,
                height: self.output.height,
            }),
            ..LoadOptions::default()
        };
        Self::with_channels(source, &options, self.output.channels)
    }

    /// Applies the recipe to `src` whatever its size: frames of the planned source size as
    /// planned; others resized to the output when `resize_odd` is on, else `OddSize`.
    pub fn apply_fitting(
        &self,
        src: ArrayView3<u8>,
        resize_odd: bool,
        dst: ArrayViewMut3<u8>,
    ) -> Result<(), FitError> {
        let (height, width, channels) = src.dim();
        if (width, height) == (self.source.width, self.source.height) {
            self.apply(src, dst);
            return Ok(());
        }
        if !resize_odd {
            return Err(FitError::OddSize { width, height });
        }
        let odd = self
            .for_odd_frame(FrameGeometry {
                width,
                height,
                channels,
            })
            .map_err(FitError::Geometry)?;
        odd.apply(src, dst);
        Ok(())
    }

    pub fn source(&self) -> FrameGeometry {
        self.source
    }

    pub fn output(&self) -> FrameGeometry {
        self.output
    }

    fn resizes(&self) -> bool {
        self.output.width != self.crop.width || self.output.height != self.crop.height
    }

    /// Writes `src` (`h × w × c_in`, the source geometry) into `dst` (the output geometry).
    pub fn apply(&self, src: ArrayView3<u8>, mut dst: ArrayViewMut3<u8>) {
        let c = self.crop;
        let src = src.slice(s![c.y..c.y + c.height, c.x..c.x + c.width, ..]);
        if !self.resizes() {
            convert_channels(src, dst.view_mut());
            return;
        }
        let (cw, ch) = (c.width as u32, c.height as u32);
        let (ow, oh) = (self.output.width as u32, self.output.height as u32);
        let mut converted = vec![0u8; c.width * c.height * self.output.channels];
        let shape = (c.height, c.width, self.output.channels);
        if let Ok(view) = ArrayViewMut3::from_shape(shape, &mut converted) {
            convert_channels(src, view);
        }
        // Triangle (bilinear) filtering: area-weighted when shrinking, no ringing.
        let resized: Vec<u8> = if self.output.channels == 1 {
            ImageBuffer::<Luma<u8>, _>::from_raw(cw, ch, converted)
                .map(|img| imageops::resize(&img, ow, oh, FilterType::Triangle).into_raw())
                .unwrap_or_default()
        } else {
            ImageBuffer::<Rgb<u8>, _>::from_raw(cw, ch, converted)
                .map(|img| imageops::resize(&img, ow, oh, FilterType::Triangle).into_raw())
                .unwrap_or_default()
        };
        let out_shape = (oh as usize, ow as usize, self.output.channels);
        if let Ok(view) = ArrayView3::from_shape(out_shape, &resized) {
            dst.assign(&view);
        }
    }
}

/// Copies pixels across, converting 1/3/4 input channels to 1 or 3 output channels.
fn convert_channels(src: ArrayView3<u8>, mut dst: ArrayViewMut3<u8>) {
    let (c_in, c_out) = (src.shape()[2], dst.shape()[2]);
    if c_in == c_out {
        dst.assign(&src);
        return;
    }
    for (src_row, mut dst_row) in src.outer_iter().zip(dst.outer_iter_mut()) {
        for (p, mut q) in src_row.outer_iter().zip(dst_row.outer_iter_mut()) {
            match (c_in, c_out) {
                (1, _) => q.fill(p[0]),
                (_, 1) => q[0] = luma(p[0], p[1], p[2]),
                _ => {
                    q[0] = p[0];
                    q[1] = p[1];
                    q[2] = p[2];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn geom(width: usize, height: usize, channels: usize) -> FrameGeometry {
        FrameGeometry {
            width,
            height,
            channels,
        }
    }

    fn ramp(h: usize, w: usize, c: usize) -> Array3<u8> {
        Array3::from_shape_fn((h, w, c), |(y, x, k)| (y * 16 + x * 2 + k) as u8)
    }

    #[test]
    fn crop_takes_source_coordinates() {
        let opts = LoadOptions {
            crop: Some(Rect {
                x: 2,
                y: 1,
                width: 3,
                height: 2,
            }),
            ..Default::default()
        };
        let shaper = Shaper::new(geom(8, 4, 3), &opts).unwrap();
        assert_eq!(shaper.output(), geom(3, 2, 3));
        let src = ramp(4, 8, 3);
        let mut dst = Array3::zeros((2, 3, 3));
        shaper.apply(src.view(), dst.view_mut());
        assert_eq!(dst[[0, 0, 1]], src[[1, 2, 1]]);
        assert_eq!(dst[[1, 2, 2]], src[[2, 4, 2]]);
    }

    #[test]
    fn crop_outside_is_an_error() {
        let opts = LoadOptions {
            crop: Some(Rect {
                x: 6,
                y: 0,
                width: 3,
                height: 2,
            }),
            ..Default::default()
        };
        assert!(matches!(
            Shaper::new(geom(8, 4, 1), &opts),
            Err(GeometryError::CropOutside { .. })
        ));
    }

    #[test]
    fn grayscale_uses_bt601_and_drops_alpha() {
        let opts = LoadOptions {
            grayscale: true,
            ..Default::default()
        };
        let shaper = Shaper::new(geom(1, 1, 4), &opts).unwrap();
        let src = Array3::from_shape_vec((1, 1, 4), vec![200, 100, 50, 7]).unwrap();
        let mut dst = Array3::zeros((1, 1, 1));
        shaper.apply(src.view(), dst.view_mut());
        // ITU-R BT.601: Y = 0.299 R + 0.587 G + 0.114 B (written out here, not `luma`).
        let bt601 = |r: f64, g: f64, b: f64| 0.299 * r + 0.587 * g + 0.114 * b;
        // The integer weights (77, 150, 29)/256 round the coefficients: within one level.
        assert!((f64::from(dst[[0, 0, 0]]) - bt601(200.0, 100.0, 50.0)).abs() <= 1.0);
        // Non-gray colours tell the coefficients apart (any weights summing to 256 pass on
        // white and black).
        for [r, g, b] in [
            [255, 0, 0],
            [0, 255, 0],
            [0, 0, 255],
            [30, 180, 220],
            [250, 240, 10],
            [12, 34, 200],
        ] {
            let want = bt601(f64::from(r), f64::from(g), f64::from(b));
            let got = f64::from(luma(r, g, b));
            assert!(
                (got - want).abs() <= 1.0,
                "({r}, {g}, {b}): {got} vs {want:.3}"
            );
        }
    }

    #[test]
    fn bilinear_resize_matches_values_computed_by_hand() {
        // Triangle filter with pixel centres at (i + 0.5) · scale − 0.5, as PIL's BILINEAR:
        // up 2×: [0, 100] → [0, 25, 75, 100] (the edge samples clamp).
        let up = LoadOptions {
            resize: Some(Resize::Size {
                width: 4,
                height: 1,
            }),
            ..Default::default()
        };
        let shaper = Shaper::new(geom(2, 1, 1), &up).unwrap();
        let src = Array3::from_shape_vec((1, 2, 1), vec![0, 100]).unwrap();
        let mut dst = Array3::zeros((1, 4, 1));
        shaper.apply(src.view(), dst.view_mut());
        assert_eq!(dst.as_slice().unwrap(), &[0, 25, 75, 100]);
        // Down 2×: the kernel widens to two source pixels; for output 0 (centre 0.5) the
        // weights of x = 0, 1, 2 are 0.75, 0.75, 0.25: (0·0.75 + 100·0.75 + 200·0.25)/1.75
        // = 71.4; for output 1 (centre 2.5): (100·0.25 + 200·0.75 + 250·0.75)/1.75 = 207.1.
        let down = LoadOptions {
            resize: Some(Resize::Factor(0.5)),
            ..Default::default()
        };
        let shaper = Shaper::new(geom(4, 1, 1), &down).unwrap();
        let src = Array3::from_shape_vec((1, 4, 1), vec![0, 100, 200, 250]).unwrap();
        let mut dst = Array3::zeros((1, 2, 1));
        shaper.apply(src.view(), dst.view_mut());
        let got = dst.as_slice().unwrap();
        assert!(
            got[0].abs_diff(71) <= 1 && got[1].abs_diff(207) <= 1,
            "{got:?}"
        );
        // In two dimensions: a 2×2 checker up to 4×4; the centre pixels mix all four.
        let square = LoadOptions {
            resize: Some(Resize::Factor(2.0)),
            ..Default::default()
        };
        let shaper = Shaper::new(geom(2, 2, 1), &square).unwrap();
        let src = Array3::from_shape_vec((2, 2, 1), vec![0, 200, 200, 0]).unwrap();
        let mut dst = Array3::zeros((4, 4, 1));
        shaper.apply(src.view(), dst.view_mut());
        // (1, 1): weights 0.75/0.25 each way: 0·0.5625 + 200·0.1875·2 + 0·0.0625 = 75.
        assert_eq!(dst[[1, 1, 0]], 75);
        assert_eq!(dst[[0, 0, 0]], 0);
        assert_eq!(dst[[0, 3, 0]], 200);
        // (2, 1): 200·0.5625 + 0·0.1875·2 + 200·0.0625 = 125.
        assert_eq!(dst[[1, 2, 0]], 125);
    }

    #[test]
    fn resize_by_factor_keeps_flat_values() {
        let opts = LoadOptions {
            resize: Some(Resize::Factor(0.5)),
            ..Default::default()
        };
        let shaper = Shaper::new(geom(10, 6, 1), &opts).unwrap();
        assert_eq!(shaper.output(), geom(5, 3, 1));
        let src = Array3::from_elem((6, 10, 1), 77u8);
        let mut dst = Array3::zeros((3, 5, 1));
        shaper.apply(src.view(), dst.view_mut());
        assert!(dst.iter().all(|&v| v == 77));
    }

    #[test]
    fn gray_source_expands_to_rgb_when_asked() {
        let shaper = Shaper::with_channels(geom(2, 1, 1), &LoadOptions::default(), 3).unwrap();
        let src = Array3::from_shape_vec((1, 2, 1), vec![9, 90]).unwrap();
        let mut dst = Array3::zeros((1, 2, 3));
        shaper.apply(src.view(), dst.view_mut());
        assert_eq!(dst.as_slice().unwrap(), &[9, 9, 9, 90, 90, 90]);
    }
}
