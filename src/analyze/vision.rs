//! Pixel work the vision models share: resampling an RGB frame (or a part of it) straight
//! into a normalized `3 × h × w` float tensor in one pass, boxes, and non-maximum
//! suppression.

use ndarray::{ArrayView3, ArrayViewMut3};
use serde::{Deserialize, Serialize};

/// An axis-aligned box in frame pixels: left, top, width, height.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoxXywh {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl BoxXywh {
    pub fn from_corners(x0: f32, y0: f32, x1: f32, y1: f32) -> Self {
        Self {
            x: x0,
            y: y0,
            w: (x1 - x0).max(0.0),
            h: (y1 - y0).max(0.0),
        }
    }

    pub fn area(&self) -> f32 {
        self.w * self.h
    }

    pub fn iou(&self, other: &Self) -> f32 {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = (self.x + self.w).min(other.x + other.w);
        let y1 = (self.y + self.h).min(other.y + other.h);
        let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
        let union = self.area() + other.area() - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }

    /// Clipped to a `width × height` frame.
    pub fn clip(&self, width: usize, height: usize) -> Self {
        let (w, h) = (width as f32, height as f32);
        Self::from_corners(
            self.x.clamp(0.0, w),
            self.y.clamp(0.0, h),
            (self.x + self.w).clamp(0.0, w),
            (self.y + self.h).clamp(0.0, h),
        )
    }

    /// `[x, y, w, h]` rounded to tenths of a pixel, as results store it.
    pub fn to_json(self) -> serde_json::Value {
        let r = |v: f32| (f64::from(v) * 10.0).round() / 10.0;
        serde_json::json!([r(self.x), r(self.y), r(self.w), r(self.h)])
    }

    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        let v = value.as_array()?;
        let f = |i: usize| {
            v.get(i)
                .and_then(serde_json::Value::as_f64)
                .map(|x| x as f32)
        };
        Some(Self {
            x: f(0)?,
            y: f(1)?,
            w: f(2)?,
            h: f(3)?,
        })
    }
}

/// How a tensor's channels come from RGB bytes: `value = (byte / 255 − mean) / std`.
#[derive(Debug, Clone, Copy)]
pub struct Normalize {
    pub bgr: bool,
    pub mean: f32,
    pub std: f32,
}

/// Resamples the `src_box` part of `frame` (bilinear, pixel centres aligned) into the top-left
/// `out_w × out_h` of `dst` (`3 × H × W`, H ≥ out_h, W ≥ out_w), normalized. The rest of
/// `dst` is left as it is, so callers pre-fill padding.
pub fn resample_into(
    frame: ArrayView3<u8>,
    src_box: BoxXywh,
    dst: &mut ArrayViewMut3<f32>,
    out_w: usize,
    out_h: usize,
    norm: Normalize,
) {
    let (fh, fw) = (frame.shape()[0], frame.shape()[1]);
    if out_w == 0 || out_h == 0 || fw == 0 || fh == 0 {
        return;
    }
    let sx = src_box.w / out_w as f32;
    let sy = src_box.h / out_h as f32;
    let scale = 1.0 / (255.0 * norm.std);
    let offset = norm.mean / norm.std;
    // Column taps are the same for every row; work them out once.
    let cols: Vec<(usize, usize, f32)> = (0..out_w)
        .map(|x| {
            let fx = (src_box.x + (x as f32 + 0.5) * sx - 0.5).clamp(0.0, (fw - 1) as f32);
            let x0 = fx.floor() as usize;
            (x0, (x0 + 1).min(fw - 1), fx - x0 as f32)
        })
        .collect();
    let order: [usize; 3] = if norm.bgr { [2, 1, 0] } else { [0, 1, 2] };
    let contiguous = frame.as_slice();
    for y in 0..out_h {
        let fy = (src_box.y + (y as f32 + 0.5) * sy - 0.5).clamp(0.0, (fh - 1) as f32);
        let y0 = fy.floor() as usize;
        let y1 = (y0 + 1).min(fh - 1);
        let wy = fy - y0 as f32;
        for (x, &(x0, x1, wx)) in cols.iter().enumerate() {
            for (dc, &sc) in order.iter().enumerate() {
                let p = |yy: usize, xx: usize| -> f32 {
                    match contiguous {
                        Some(data) => f32::from(data[(yy * fw + xx) * 3 + sc]),
                        None => f32::from(frame[[yy, xx, sc]]),
                    }
                };
                let top = p(y0, x0) + (p(y0, x1) - p(y0, x0)) * wx;
                let bottom = p(y1, x0) + (p(y1, x1) - p(y1, x0)) * wx;
                let v = top + (bottom - top) * wy;
                dst[[dc, y, x]] = v * scale - offset;
            }
        }
    }
}

/// Keeps the best-scoring of boxes that overlap by more than `iou` (boxes sorted by score,
/// best first, are compared with those kept); returns the kept indices.
pub fn nms(boxes: &[BoxXywh], scores: &[f32], iou: f32) -> Vec<usize> {
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        if kept.iter().all(|&k| boxes[k].iou(&boxes[i]) <= iou) {
            kept.push(i);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array3, s};

    #[test]
    fn nms_keeps_the_best_of_an_overlapping_pair() {
        let boxes = [
            BoxXywh::from_corners(10.0, 10.0, 110.0, 110.0),
            BoxXywh::from_corners(14.0, 12.0, 112.0, 108.0),
            BoxXywh::from_corners(200.0, 10.0, 260.0, 90.0),
        ];
        let kept = nms(&boxes, &[0.6, 0.9, 0.5], 0.45);
        assert_eq!(kept, vec![1, 2]);
        assert!(boxes[0].iou(&boxes[1]) > 0.8);
        assert_eq!(boxes[0].iou(&boxes[2]), 0.0);
    }

    #[test]
    fn resampling_normalizes_and_swaps_channels() {
        let mut frame = Array3::<u8>::zeros((4, 4, 3));
        frame.slice_mut(s![.., .., 0]).fill(255);
        let mut dst = ndarray::Array3::<f32>::from_elem((3, 2, 2), 9.0);
        let whole = BoxXywh::from_corners(0.0, 0.0, 4.0, 4.0);
        let norm = Normalize {
            bgr: true,
            mean: 0.5,
            std: 0.5,
        };
        resample_into(frame.view(), whole, &mut dst.view_mut(), 2, 2, norm);
        // Red lands in the last (R of BGR) plane at +1, the others at -1.
        assert!(
            dst.slice(s![2, .., ..])
                .iter()
                .all(|&v| (v - 1.0).abs() < 1e-6)
        );
        assert!(
            dst.slice(s![0, .., ..])
                .iter()
                .all(|&v| (v + 1.0).abs() < 1e-6)
        );
    }
}
