//! Display mapping: values (bytes or `f32`) → RGBA8 for the window and RGB8 for files and the
//! exporter. Levels (min/max), gamma, a colormap for single-channel data, auto-contrast by
//! percentile (Fiji saturates 0.35 % by default) and histograms.
//!
//! Signed data (negative and positive values, such as dF/F or a background-subtracted frame)
//! gets a diverging map centred on zero when the mapping is chosen automatically.

mod save;

pub use save::{SaveError, save_image};

use ndarray::{ArrayView3, Zip};
use rayon::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Colormap {
    #[default]
    Gray,
    Viridis,
    Plasma,
    Magma,
    Inferno,
    /// Blue (negative) – white – red (positive).
    Diverging,
}

impl Colormap {
    pub const ALL: [Colormap; 6] = [
        Self::Gray,
        Self::Viridis,
        Self::Plasma,
        Self::Magma,
        Self::Inferno,
        Self::Diverging,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Gray => "gray",
            Self::Viridis => "viridis",
            Self::Plasma => "plasma",
            Self::Magma => "magma",
            Self::Inferno => "inferno",
            Self::Diverging => "diverging",
        }
    }

    /// The colour at position `t` ∈ [0, 1].
    pub fn color(self, t: f64) -> [u8; 3] {
        let t = t.clamp(0.0, 1.0);
        let c = match self {
            Self::Gray => {
                let v = (t * 255.0).round() as u8;
                return [v, v, v];
            }
            Self::Viridis => colorous::VIRIDIS.eval_continuous(t),
            Self::Plasma => colorous::PLASMA.eval_continuous(t),
            Self::Magma => colorous::MAGMA.eval_continuous(t),
            Self::Inferno => colorous::INFERNO.eval_continuous(t),
            // d3's RdBu runs red → blue; reversed so that positive values are red.
            Self::Diverging => colorous::RED_BLUE.eval_continuous(1.0 - t),
        };
        [c.r, c.g, c.b]
    }

    /// 256 samples of the map, for lookups.
    pub fn table(self) -> [[u8; 3]; 256] {
        std::array::from_fn(|i| self.color(i as f64 / 255.0))
    }
}

/// How values become colours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DisplayMapping {
    /// Value shown as the darkest colour.
    pub min: f32,
    /// Value shown as the brightest colour.
    pub max: f32,
    /// Applied to the normalized value: t^(1/gamma) brightens for gamma > 1.
    pub gamma: f32,
    /// Used for single-channel data; RGB data is shown as RGB with the levels applied.
    pub colormap: Colormap,
}

impl Default for DisplayMapping {
    fn default() -> Self {
        Self {
            min: 0.0,
            max: 255.0,
            gamma: 1.0,
            colormap: Colormap::Gray,
        }
    }
}

impl DisplayMapping {
    /// The mapping a viewer would start with for `image`: the full range for bytes; for
    /// floats the data range, or a symmetric diverging map when the data are signed.
    pub fn automatic(image: ArrayView3<f32>) -> Self {
        let (lo, hi) = finite_range(image);
        if lo < 0.0 && hi > 0.0 {
            let m = lo.abs().max(hi);
            Self {
                min: -m,
                max: m,
                gamma: 1.0,
                colormap: Colormap::Diverging,
            }
        } else {
            Self {
                min: lo,
                max: if hi > lo { hi } else { lo + 1.0 },
                ..Self::default()
            }
        }
    }

    /// Position of `v` in [0, 1] after levels and gamma; NaN maps to 0.
    pub fn position(&self, v: f32) -> f64 {
        if v.is_nan() {
            return 0.0;
        }
        let span = f64::from(self.max - self.min);
        let t = if span > 0.0 {
            (f64::from(v - self.min) / span).clamp(0.0, 1.0)
        } else {
            f64::from(u8::from(v >= self.max))
        };
        if (self.gamma - 1.0).abs() > f32::EPSILON && self.gamma > 0.0 {
            t.powf(1.0 / f64::from(self.gamma))
        } else {
            t
        }
    }

    /// One lookup table for byte data: every value 0..=255 through levels, gamma and map.
    fn byte_table(&self, channels: usize) -> [[u8; 3]; 256] {
        let map = if channels == 1 {
            self.colormap
        } else {
            Colormap::Gray
        };
        std::array::from_fn(|v| map.color(self.position(v as f32)))
    }

    /// Maps an `h × w × c` byte image (c = 1 or 3) to RGBA8, row-major.
    pub fn rgba_from_u8(&self, image: ArrayView3<u8>) -> Vec<u8> {
        let c = image.shape()[2];
        let table = self.byte_table(c);
        let mut out = vec![255u8; image.shape()[0] * image.shape()[1] * 4];
        fill_rgba(&mut out, image.shape()[1], |y, x| {
            if c == 1 {
                table[usize::from(image[[y, x, 0]])]
            } else {
                let ch = |k| table[usize::from(image[[y, x, k]])][0];
                [ch(0), ch(1), ch(2)]
            }
        });
        out
    }

    /// Maps an `h × w × c` float image (c = 1 or 3) to RGBA8, row-major.
    pub fn rgba_from_f32(&self, image: ArrayView3<f32>) -> Vec<u8> {
        let c = image.shape()[2];
        let table = self.colormap.table();
        let mut out = vec![255u8; image.shape()[0] * image.shape()[1] * 4];
        fill_rgba(&mut out, image.shape()[1], |y, x| {
            if c == 1 {
                table[(self.position(image[[y, x, 0]]) * 255.0).round() as usize]
            } else {
                let ch = |k| (self.position(image[[y, x, k]]) * 255.0).round() as u8;
                [ch(0), ch(1), ch(2)]
            }
        });
        out
    }
}

/// Fills RGBA rows in parallel from a per-pixel colour function.
fn fill_rgba(out: &mut [u8], width: usize, color: impl Fn(usize, usize) -> [u8; 3] + Sync) {
    out.par_chunks_mut(width.max(1) * 4)
        .enumerate()
        .for_each(|(y, row)| {
            for (x, px) in row.chunks_exact_mut(4).enumerate() {
                px[..3].copy_from_slice(&color(y, x));
            }
        });
}

/// Drops the alpha of RGBA8 rows: RGB8 for PNG files and the encoder.
pub fn rgb_from_rgba(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect()
}

/// Smallest and largest finite value (0, 0 when there is none).
pub fn finite_range(image: ArrayView3<f32>) -> (f32, f32) {
    let (lo, hi) = image
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if lo.is_finite() { (lo, hi) } else { (0.0, 0.0) }
}

/// Counts of values in equal bins between `min` and `max`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub min: f32,
    pub max: f32,
    pub counts: Vec<u64>,
}

impl Histogram {
    /// 256 bins, one per byte value.
    pub fn of_u8(image: ArrayView3<u8>) -> Self {
        let mut counts = vec![0u64; 256];
        for &v in &image {
            counts[usize::from(v)] += 1;
        }
        Self {
            min: 0.0,
            max: 255.0,
            counts,
        }
    }

    /// `bins` bins over the finite range of the data; NaN and ±inf are not counted.
    pub fn of_f32(image: ArrayView3<f32>, bins: usize) -> Self {
        let bins = bins.max(1);
        let (min, max) = finite_range(image);
        let mut counts = vec![0u64; bins];
        let span = f64::from(max - min);
        Zip::from(&image).for_each(|&v| {
            if v.is_finite() {
                let t = if span > 0.0 {
                    f64::from(v - min) / span
                } else {
                    0.0
                };
                counts[((t * bins as f64) as usize).min(bins - 1)] += 1;
            }
        });
        Self { min, max, counts }
    }

    fn bin_value(&self, bin: f64) -> f32 {
        let n = self.counts.len() as f64;
        if self.counts.len() == 256 && self.min == 0.0 && self.max == 255.0 {
            return bin as f32;
        }
        (f64::from(self.min) + f64::from(self.max - self.min) * bin / n) as f32
    }

    /// Levels that saturate `saturated_percent` of the values, half at each end (Fiji's
    /// "Auto" uses 0.35 %).
    pub fn auto_contrast(&self, saturated_percent: f64) -> (f32, f32) {
        let total: u64 = self.counts.iter().sum();
        if total == 0 {
            return (self.min, self.max);
        }
        let tail = (total as f64 * saturated_percent / 200.0) as u64;
        let mut seen = 0;
        let mut low = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen > tail {
                low = i;
                break;
            }
        }
        seen = 0;
        let mut high = self.counts.len() - 1;
        for (i, &c) in self.counts.iter().enumerate().rev() {
            seen += c;
            if seen > tail {
                high = i;
                break;
            }
        }
        let lo = self.bin_value(low as f64);
        let hi = if self.counts.len() == 256 && self.max == 255.0 {
            self.bin_value(high as f64)
        } else {
            self.bin_value(high as f64 + 1.0)
        };
        if hi > lo {
            (lo, hi)
        } else {
            (self.min, self.max)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn levels_and_gamma() {
        let m = DisplayMapping {
            min: 50.0,
            max: 150.0,
            ..Default::default()
        };
        assert_eq!(m.position(50.0), 0.0);
        assert_eq!(m.position(100.0), 0.5);
        assert_eq!(m.position(300.0), 1.0);
        assert_eq!(m.position(f32::NAN), 0.0);
        let g = DisplayMapping { gamma: 2.0, ..m };
        assert!((g.position(100.0) - 0.5f64.sqrt()).abs() < 1e-9);
        let img = Array3::from_shape_vec((1, 3, 1), vec![0u8, 100, 255]).unwrap();
        let rgba = m.rgba_from_u8(img.view());
        assert_eq!(
            &rgba,
            &[0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255]
        );
    }

    #[test]
    fn colormaps_run_dark_to_bright_and_diverging_is_white_at_zero() {
        for map in [
            Colormap::Viridis,
            Colormap::Magma,
            Colormap::Inferno,
            Colormap::Plasma,
        ] {
            let lum = |c: [u8; 3]| u32::from(c[0]) + u32::from(c[1]) + u32::from(c[2]);
            assert!(lum(map.color(0.0)) < lum(map.color(1.0)), "{map:?}");
        }
        let mid = Colormap::Diverging.color(0.5);
        assert!(mid.iter().all(|&v| v > 230), "{mid:?}");
        let [r, _, b] = Colormap::Diverging.color(1.0);
        assert!(r > b);
    }

    #[test]
    fn signed_data_gets_a_symmetric_diverging_map() {
        let img = Array3::from_shape_vec((1, 3, 1), vec![-0.5f32, 0.1, 2.0]).unwrap();
        let m = DisplayMapping::automatic(img.view());
        assert_eq!((m.min, m.max, m.colormap), (-2.0, 2.0, Colormap::Diverging));
        let pos = Array3::from_shape_vec((1, 2, 1), vec![1.0f32, 3.0]).unwrap();
        assert_eq!(
            DisplayMapping::automatic(pos.view()).colormap,
            Colormap::Gray
        );
    }

    #[test]
    fn auto_contrast_saturates_the_tails() {
        // 1000 values: 0..=9 ten times each... plus outliers at both ends.
        let mut v: Vec<u8> = (0..1000).map(|i| 100 + (i % 50) as u8).collect();
        v[0] = 0;
        v[1] = 255;
        let img = Array3::from_shape_vec((1, 1000, 1), v).unwrap();
        let h = Histogram::of_u8(img.view());
        assert_eq!(h.auto_contrast(0.35), (100.0, 149.0));
        assert_eq!(h.auto_contrast(0.0), (0.0, 255.0));
        let f = Array3::from_shape_fn((1, 100, 1), |(_, x, _)| x as f32);
        let hf = Histogram::of_f32(f.view(), 10);
        assert_eq!(hf.counts, vec![10; 10]);
        assert_eq!(hf.auto_contrast(0.0), (0.0, 99.0));
    }
}
