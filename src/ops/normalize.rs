//! Normalization: subtract and/or divide by a reference, scaled by an amount.
//!
//! With amount `a` ∈ [0, 1] and reference `r`:
//! - subtract: `x − a·r`
//! - divide: `x / (a·r + (1 − a))`
//! - both (dF/F when r is the baseline F0): `(x − a·r) / (a·r + (1 − a))`
//!
//! A division by zero gives 0 (a defined value that keeps means and plots finite).
//!
//! The reference is an aggregate of a frame range (any reduce op), an image (from a file), or
//! a trailing **sliding window**: for frame t, window w and lag l it is the mean of frames
//! `t−l−w … t−l−1`. Frames before the first full window use the first full window (frames
//! `0 … w−1`), and so do frames whose window would run past the end. [`Normalizer::frames`]
//! keeps a running sum, so one pass costs the same whatever w is; [`Normalizer::frame`]
//! computes any single frame on demand.

use std::ops::Range;

use ndarray::{Array3, ArrayView3, ArrayView4, Axis, Zip};
use serde::Serialize;

use super::reduce::{ReduceError, ReduceOp, reduce};
use crate::job::Job;

/// Where the reference comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Reference {
    /// A reduction of a frame range (all frames when `None`).
    Aggregate {
        op: ReduceOp,
        range: Option<Range<usize>>,
    },
    /// A fixed image, `h × w × c` like the frames.
    Image(#[serde(skip)] Array3<f32>),
    /// The mean of a trailing window of `window` frames, ending `lag` frames before t.
    SlidingWindow { window: usize, lag: usize },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NormalizeSettings {
    pub subtract: bool,
    pub divide: bool,
    /// 0–1: how much of the reference is applied.
    pub amount: f32,
    /// Gaussian blur of the reference, in pixels (0: none).
    pub blur_sigma: f32,
    pub reference: Reference,
}

impl NormalizeSettings {
    /// Subtract the mean of all frames.
    pub fn background_subtraction() -> Self {
        Self {
            subtract: true,
            divide: false,
            amount: 1.0,
            blur_sigma: 0.0,
            reference: Reference::Aggregate {
                op: ReduceOp::Mean,
                range: None,
            },
        }
    }

    /// dF/F = (F − F0) / F0 with F0 the mean of `baseline` frames.
    pub fn delta_f_over_f(baseline: Option<Range<usize>>) -> Self {
        Self {
            subtract: true,
            divide: true,
            amount: 1.0,
            blur_sigma: 0.0,
            reference: Reference::Aggregate {
                op: ReduceOp::Mean,
                range: baseline,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NormalizeError {
    #[error("choose subtract, divide or both")]
    NothingToDo,
    #[error("amount {0} must be between 0 and 1")]
    Amount(f32),
    #[error("the sliding window of {window} frames does not fit in {frames} frames")]
    Window { window: usize, frames: usize },
    #[error("the reference image is {found:?} but frames are {expected:?}")]
    ReferenceShape {
        expected: [usize; 3],
        found: [usize; 3],
    },
    #[error(transparent)]
    Reduce(#[from] ReduceError),
}

/// A ready normalization for one stack geometry.
#[derive(Debug, Clone)]
pub struct Normalizer {
    settings: NormalizeSettings,
    /// The fixed reference (aggregate or image), blurred; `None` for a sliding window.
    fixed: Option<Array3<f32>>,
    frames: usize,
}

impl Normalizer {
    /// Validates the settings against `stack` and computes a fixed reference once.
    pub fn new(
        stack: ArrayView4<u8>,
        settings: NormalizeSettings,
        job: &Job,
    ) -> Result<Self, NormalizeError> {
        if !settings.subtract && !settings.divide {
            return Err(NormalizeError::NothingToDo);
        }
        if !(0.0..=1.0).contains(&settings.amount) {
            return Err(NormalizeError::Amount(settings.amount));
        }
        let [n, h, w, c] = [
            stack.shape()[0],
            stack.shape()[1],
            stack.shape()[2],
            stack.shape()[3],
        ];
        let fixed = match &settings.reference {
            Reference::Aggregate { op, range } => Some(reduce(stack, *op, range.clone(), job)?),
            Reference::Image(image) => {
                let found = [image.shape()[0], image.shape()[1], image.shape()[2]];
                if found != [h, w, c] {
                    return Err(NormalizeError::ReferenceShape {
                        expected: [h, w, c],
                        found,
                    });
                }
                Some(image.clone())
            }
            Reference::SlidingWindow { window, .. } => {
                if *window == 0 || *window > n {
                    return Err(NormalizeError::Window {
                        window: *window,
                        frames: n,
                    });
                }
                None
            }
        };
        let fixed = fixed.map(|r| gaussian_blur(r, settings.blur_sigma));
        Ok(Self {
            settings,
            fixed,
            frames: n,
        })
    }

    pub fn settings(&self) -> &NormalizeSettings {
        &self.settings
    }

    /// First frame of the trailing window used for frame `t` (see the module docs).
    pub fn window_start(&self, t: usize) -> Option<usize> {
        match self.settings.reference {
            Reference::SlidingWindow { window, lag } => {
                let start = t.saturating_sub(lag + window);
                Some(if t < lag + window { 0 } else { start }.min(self.frames - window))
            }
            _ => None,
        }
    }

    /// Applies the formula to one frame given its reference.
    fn apply(&self, frame: ArrayView3<u8>, reference: ArrayView3<f32>) -> Array3<f32> {
        let a = self.settings.amount;
        let (sub, div) = (self.settings.subtract, self.settings.divide);
        let mut out = Array3::<f32>::zeros(frame.raw_dim());
        Zip::from(&mut out)
            .and(&frame)
            .and(&reference)
            .for_each(|o, &x, &r| {
                let x = f32::from(x);
                let numerator = if sub { x - a * r } else { x };
                *o = if div {
                    let d = a * r + (1.0 - a);
                    if d == 0.0 { 0.0 } else { numerator / d }
                } else {
                    numerator
                };
            });
        out
    }

    /// Normalized frame `t`, computed on demand (a sliding window costs O(w) here).
    pub fn frame(&self, stack: ArrayView4<u8>, t: usize) -> Array3<f32> {
        let frame = stack.index_axis(Axis(0), t);
        match (&self.fixed, self.settings.reference.clone()) {
            (Some(reference), _) => self.apply(frame, reference.view()),
            (None, Reference::SlidingWindow { window, .. }) => {
                let start = self.window_start(t).unwrap_or(0);
                let mut sum = Array3::<u32>::zeros(frame.raw_dim());
                for f in stack
                    .slice(ndarray::s![start..start + window, .., .., ..])
                    .outer_iter()
                {
                    Zip::from(&mut sum)
                        .and(&f)
                        .for_each(|s, &v| *s += u32::from(v));
                }
                let reference = self.window_reference(&sum, window);
                self.apply(frame, reference.view())
            }
            (None, _) => self.apply(frame, Array3::zeros(frame.raw_dim()).view()),
        }
    }

    fn window_reference(&self, sum: &Array3<u32>, window: usize) -> Array3<f32> {
        let mean = sum.mapv(|s| s as f32 / window as f32);
        gaussian_blur(mean, self.settings.blur_sigma)
    }

    /// Every normalized frame in order; a sliding window keeps a running sum, so each frame
    /// costs O(1) in the window length.
    pub fn frames<'s>(
        &'s self,
        stack: ArrayView4<'s, u8>,
    ) -> impl Iterator<Item = Array3<f32>> + 's {
        let dims = stack.index_axis(Axis(0), 0).raw_dim();
        let mut sum: Option<(usize, Array3<u32>)> = None;
        (0..stack.shape()[0]).map(move |t| {
            let Reference::SlidingWindow { window, .. } = self.settings.reference else {
                return self.frame(stack, t);
            };
            let start = self.window_start(t).unwrap_or(0);
            let state = sum.get_or_insert_with(|| {
                let mut s = Array3::<u32>::zeros(dims);
                for f in stack
                    .slice(ndarray::s![start..start + window, .., .., ..])
                    .outer_iter()
                {
                    Zip::from(&mut s)
                        .and(&f)
                        .for_each(|a, &v| *a += u32::from(v));
                }
                (start, s)
            });
            while state.0 < start {
                let (leaving, entering) = (state.0, state.0 + window);
                Zip::from(&mut state.1)
                    .and(&stack.index_axis(Axis(0), leaving))
                    .and(&stack.index_axis(Axis(0), entering))
                    .for_each(|s, &old, &new| *s = *s - u32::from(old) + u32::from(new));
                state.0 += 1;
            }
            let reference = self.window_reference(&state.1, window);
            self.apply(stack.index_axis(Axis(0), t), reference.view())
        })
    }
}

/// Separable Gaussian blur per channel, edges clamped; `sigma <= 0` returns the image.
pub fn gaussian_blur(image: Array3<f32>, sigma: f32) -> Array3<f32> {
    if sigma <= 0.0 || !sigma.is_finite() {
        return image;
    }
    let radius = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f32> = (-radius..=radius)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / total).collect();
    let (h, w, _) = image.dim();
    let pass = |src: &Array3<f32>, along_x: bool| {
        Array3::from_shape_fn(src.raw_dim(), |(y, x, c)| {
            kernel
                .iter()
                .enumerate()
                .map(|(k, weight)| {
                    let d = k as isize - radius;
                    let (yy, xx) = if along_x {
                        (y, (x as isize + d).clamp(0, w as isize - 1) as usize)
                    } else {
                        ((y as isize + d).clamp(0, h as isize - 1) as usize, x)
                    };
                    weight * src[[yy, xx, c]]
                })
                .sum()
        })
    };
    pass(&pass(&image, true), false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;

    fn tiny() -> Array4<u8> {
        // 6 frames of 1×2 pixels: values 10·t and 10·t + 100.
        Array4::from_shape_fn((6, 1, 2, 1), |(t, _, x, _)| (10 * t + 100 * x) as u8)
    }

    fn sliding(window: usize, lag: usize, subtract: bool, divide: bool) -> NormalizeSettings {
        NormalizeSettings {
            subtract,
            divide,
            amount: 1.0,
            blur_sigma: 0.0,
            reference: Reference::SlidingWindow { window, lag },
        }
    }

    #[test]
    fn sliding_window_by_hand() {
        let stack = tiny();
        let n = Normalizer::new(stack.view(), sliding(2, 1, true, false), &Job::new()).unwrap();
        // t = 4, w = 2, l = 1: frames 1 and 2 → mean 15; x = 40 → 25.
        assert_eq!(n.frame(stack.view(), 4)[[0, 0, 0]], 25.0);
        assert_eq!(n.window_start(4), Some(1));
        // t = 0..=3 use the first full window (frames 0, 1): mean 5.
        assert_eq!(n.window_start(2), Some(0));
        assert_eq!(n.frame(stack.view(), 2)[[0, 0, 0]], 15.0);
        assert_eq!(n.frame(stack.view(), 5)[[0, 1, 0]], 150.0 - 125.0);
    }

    #[test]
    fn running_iterator_equals_on_demand_frames() {
        let stack = Array4::from_shape_fn((40, 3, 4, 3), |(t, y, x, c)| {
            ((t * 37 + y * 11 + x * 5 + c * 3) % 251) as u8
        });
        for (w, l) in [(1, 0), (3, 2), (10, 0), (40, 0), (7, 30)] {
            let n = Normalizer::new(stack.view(), sliding(w, l, true, true), &Job::new()).unwrap();
            for (t, f) in n.frames(stack.view()).enumerate() {
                let g = n.frame(stack.view(), t);
                for (a, b) in f.iter().zip(g.iter()) {
                    assert!(
                        (a - b).abs() <= 1e-5 * a.abs().max(1.0),
                        "w {w} l {l} t {t}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn delta_f_over_f_and_amount() {
        let stack = tiny();
        let dff = NormalizeSettings::delta_f_over_f(Some(0..2));
        let n = Normalizer::new(stack.view(), dff, &Job::new()).unwrap();
        // F0 = 5 for pixel 0; frame 3: (30 − 5)/5 = 5.
        assert_eq!(n.frame(stack.view(), 3)[[0, 0, 0]], 5.0);
        let half = NormalizeSettings {
            amount: 0.5,
            ..NormalizeSettings::background_subtraction()
        };
        let n = Normalizer::new(stack.view(), half, &Job::new()).unwrap();
        // mean of pixel 0 over 6 frames = 25; x − 0.5·25 at t = 1.
        assert_eq!(n.frame(stack.view(), 1)[[0, 0, 0]], 10.0 - 12.5);
    }

    #[test]
    fn division_by_zero_gives_zero() {
        let stack = Array4::<u8>::zeros((3, 1, 1, 1));
        let n = Normalizer::new(
            stack.view(),
            NormalizeSettings::delta_f_over_f(None),
            &Job::new(),
        )
        .unwrap();
        assert_eq!(n.frame(stack.view(), 1)[[0, 0, 0]], 0.0);
    }

    #[test]
    fn bad_settings() {
        let stack = tiny();
        let none = NormalizeSettings {
            subtract: false,
            ..NormalizeSettings::background_subtraction()
        };
        assert_eq!(
            Normalizer::new(stack.view(), none, &Job::new()).unwrap_err(),
            NormalizeError::NothingToDo
        );
        assert!(Normalizer::new(stack.view(), sliding(7, 0, true, false), &Job::new()).is_err());
        let img = NormalizeSettings {
            reference: Reference::Image(Array3::zeros((2, 2, 1))),
            ..NormalizeSettings::background_subtraction()
        };
        assert!(matches!(
            Normalizer::new(stack.view(), img, &Job::new()),
            Err(NormalizeError::ReferenceShape { .. })
        ));
    }

    #[test]
    fn blur_keeps_flat_images_flat_and_spreads_a_point() {
        let flat = Array3::from_elem((5, 7, 1), 3.0f32);
        assert!(
            gaussian_blur(flat, 1.5)
                .iter()
                .all(|v| (v - 3.0).abs() < 1e-5)
        );
        let mut point = Array3::zeros((9, 9, 1));
        point[[4, 4, 0]] = 1.0;
        let b = gaussian_blur(point, 1.0);
        assert!(b[[4, 4, 0]] < 1.0 && b[[4, 5, 0]] > 0.0);
        assert!((b.sum() - 1.0).abs() < 1e-4);
    }
}
