//! Line profiles along a (poly)line with a width, their envelope over frames, and kymographs.
//!
//! The line is sampled every pixel of its length (both ends included). At each sample the
//! values are averaged across the width along the line's normal, one pixel apart, with
//! bilinear interpolation between pixel centres (pixel `(x, y)` has its centre at
//! `(x + ½, y + ½)`). A kymograph stacks the profile of every frame: frame × position.

use std::fmt::Write as _;

use ndarray::{Array2, Array3, ArrayView3, ArrayView4, Axis};
use rayon::prelude::*;
use serde::Serialize;

use crate::job::{Cancelled, Job};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineSpec {
    /// At least two points, in pixel coordinates.
    pub points: Vec<(f32, f32)>,
    /// Pixels averaged across the line (≥ 1).
    pub width: usize,
}

impl LineSpec {
    /// `x0,y0,x1,y1[,x2,y2…]`.
    pub fn parse(points: &str, width: usize) -> Result<Self, String> {
        let v: Vec<f32> = points
            .split(',')
            .map(|t| t.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("line '{points}' must be comma-separated numbers"))?;
        if v.len() < 4 || !v.len().is_multiple_of(2) {
            return Err(format!("line '{points}' needs at least two X,Y points"));
        }
        if width == 0 {
            return Err("the line width must be at least 1".into());
        }
        Ok(Self {
            points: v.chunks_exact(2).map(|p| (p[0], p[1])).collect(),
            width,
        })
    }

    /// Sample positions and unit normals, one pixel apart along the whole polyline.
    pub fn samples(&self) -> Vec<Sample> {
        let mut out = Vec::new();
        let mut carry = 0.0f32; // distance into the next segment where the next sample falls
        let mut travelled = 0.0f32;
        for pair in self.points.windows(2) {
            let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
            let len = ((x1 - x0).powi(2) + (y1 - y0).powi(2)).sqrt();
            if len == 0.0 {
                continue;
            }
            let (dx, dy) = ((x1 - x0) / len, (y1 - y0) / len);
            let mut s = carry;
            while s <= len + 1e-4 {
                out.push(Sample {
                    x: x0 + dx * s,
                    y: y0 + dy * s,
                    normal: (-dy, dx),
                    distance: travelled + s,
                });
                s += 1.0;
            }
            carry = s - len;
            travelled += len;
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    pub x: f32,
    pub y: f32,
    pub normal: (f32, f32),
    /// Distance from the start along the line, in pixels.
    pub distance: f32,
}

/// Bilinear value of channel `c` at image point `(px, py)`; edges clamp.
fn bilinear<T: Copy + Into<f32>>(frame: &ArrayView3<T>, px: f32, py: f32, c: usize) -> f32 {
    let (h, w) = (frame.shape()[0], frame.shape()[1]);
    let fx = (px - 0.5).clamp(0.0, (w - 1) as f32);
    let fy = (py - 0.5).clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
    let v = |x: usize, y: usize| -> f32 { frame[[y, x, c]].into() };
    let top = v(x0, y0) * (1.0 - tx) + v(x1, y0) * tx;
    let bottom = v(x0, y1) * (1.0 - tx) + v(x1, y1) * tx;
    top * (1.0 - ty) + bottom * ty
}

/// The profile of one frame (bytes or floats): positions × channels.
pub fn profile<T: Copy + Into<f32>>(
    frame: ArrayView3<T>,
    samples: &[Sample],
    width: usize,
) -> Array2<f32> {
    let c = frame.shape()[2];
    let half = (width as f32 - 1.0) / 2.0;
    Array2::from_shape_fn((samples.len(), c), |(i, k)| {
        let s = samples[i];
        let total: f32 = (0..width)
            .map(|j| {
                let o = j as f32 - half;
                bilinear(&frame, s.x + s.normal.0 * o, s.y + s.normal.1 * o, k)
            })
            .sum();
        total / width as f32
    })
}

/// Profiles of every frame: frames × positions × channels (in parallel over frames).
pub fn kymograph(
    stack: ArrayView4<u8>,
    line: &LineSpec,
    job: &Job,
) -> Result<Array3<f32>, Cancelled> {
    let samples = line.samples();
    let (n, c) = (stack.shape()[0], stack.shape()[3]);
    job.set_total(n as u64);
    let rows: Vec<Array2<f32>> = stack
        .axis_iter(Axis(0))
        .into_par_iter()
        .map(|frame| {
            if job.is_cancelled() {
                return Array2::zeros((samples.len(), c));
            }
            job.advance(1);
            profile(frame, &samples, line.width)
        })
        .collect();
    job.check()?;
    let mut out = Array3::zeros((n, samples.len(), c));
    for (mut dst, src) in out.outer_iter_mut().zip(&rows) {
        dst.assign(src);
    }
    Ok(out)
}

/// Profiles of float frames as they come (for example normalized frames).
pub fn kymograph_f32(
    frames: impl Iterator<Item = Array3<f32>>,
    line: &LineSpec,
    job: &Job,
) -> Result<Array3<f32>, Cancelled> {
    let samples = line.samples();
    let mut rows = Vec::new();
    for frame in frames {
        job.check()?;
        rows.push(profile(frame.view(), &samples, line.width));
        job.advance(1);
    }
    let c = rows.first().map_or(1, |r| r.shape()[1]);
    let mut out = Array3::zeros((rows.len(), samples.len(), c));
    for (mut dst, src) in out.outer_iter_mut().zip(&rows) {
        dst.assign(src);
    }
    Ok(out)
}

/// Per-position statistics over frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub min: Array2<f32>,
    pub max: Array2<f32>,
    /// Percentile `p` and `100 − p` per position, when asked for.
    pub percentiles: Option<(f32, Array2<f32>, Array2<f32>)>,
}

/// Min, max and optionally the `p` / `100 − p` percentiles (linear interpolation between
/// order statistics, numpy's default) of a kymograph over its frames.
pub fn envelope(kymo: &Array3<f32>, percentile: Option<f32>) -> Envelope {
    let (_, positions, c) = kymo.dim();
    let column = |i: usize, k: usize| -> Vec<f32> { kymo.slice(ndarray::s![.., i, k]).to_vec() };
    let min = Array2::from_shape_fn((positions, c), |(i, k)| {
        column(i, k).into_iter().fold(f32::INFINITY, f32::min)
    });
    let max = Array2::from_shape_fn((positions, c), |(i, k)| {
        column(i, k).into_iter().fold(f32::NEG_INFINITY, f32::max)
    });
    let percentiles = percentile.map(|p| {
        let p = p.clamp(0.0, 100.0);
        let at = |q: f32| {
            Array2::from_shape_fn((positions, c), |(i, k)| {
                let mut v = column(i, k);
                v.sort_by(f32::total_cmp);
                let rank = f64::from(q) / 100.0 * (v.len() - 1) as f64;
                let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
                (f64::from(v[lo]) + f64::from(v[hi] - v[lo]) * (rank - lo as f64)) as f32
            })
        };
        (p, at(p), at(100.0 - p))
    });
    Envelope {
        min,
        max,
        percentiles,
    }
}

/// CSV: `position,distance,value_c<k>,min_c<k>,max_c<k>[,p<p>_c<k>,p<100−p>_c<k>]`.
pub fn profile_csv(samples: &[Sample], current: &Array2<f32>, env: &Envelope) -> String {
    let c = current.shape()[1];
    let mut out = String::from("position,distance");
    for k in 0..c {
        let _ = write!(out, ",value_c{k},min_c{k},max_c{k}");
        if let Some((p, _, _)) = &env.percentiles {
            let _ = write!(out, ",p{p}_c{k},p{}_c{k}", 100.0 - p);
        }
    }
    out.push('\n');
    for (i, s) in samples.iter().enumerate() {
        let _ = write!(out, "{i},{:.3}", s.distance);
        for k in 0..c {
            let _ = write!(
                out,
                ",{},{},{}",
                current[[i, k]],
                env.min[[i, k]],
                env.max[[i, k]]
            );
            if let Some((_, low, high)) = &env.percentiles {
                let _ = write!(out, ",{},{}", low[[i, k]], high[[i, k]]);
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;

    /// A bright 1-pixel vertical bar at x = 5 + t on black, 30 × 8, 10 frames.
    fn moving_bar() -> Array4<u8> {
        Array4::from_shape_fn(
            (10, 8, 30, 1),
            |(t, _, x, _)| if x == 5 + t { 200 } else { 0 },
        )
    }

    fn across() -> LineSpec {
        LineSpec::parse("0.5,4,29.5,4", 3).unwrap()
    }

    #[test]
    fn samples_are_one_pixel_apart_across_segments() {
        let line = LineSpec::parse("0,0,3,0,3,2", 1).unwrap();
        let s = line.samples();
        let d: Vec<f32> = s.iter().map(|s| s.distance).collect();
        assert_eq!(d, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!((s[5].x, s[5].y), (3.0, 2.0));
        assert!(LineSpec::parse("1,2", 1).is_err());
        assert!(LineSpec::parse("0,0,1,1", 0).is_err());
    }

    #[test]
    fn kymograph_tracks_the_bar() {
        let stack = moving_bar();
        let line = across();
        let k = kymograph(stack.view(), &line, &Job::new()).unwrap();
        assert_eq!(k.dim(), (10, 30, 1));
        for t in 0..10 {
            let row = k.slice(ndarray::s![t, .., 0]);
            let peak = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i);
            assert_eq!(peak, Some(5 + t), "frame {t}");
            assert_eq!(row[5 + t], 200.0);
        }
    }

    #[test]
    fn envelope_covers_the_bar_path() {
        let stack = moving_bar();
        let k = kymograph(stack.view(), &across(), &Job::new()).unwrap();
        let env = envelope(&k, Some(10.0));
        for x in 0..30 {
            let want = if (5..15).contains(&x) { 200.0 } else { 0.0 };
            assert_eq!(env.max[[x, 0]], want, "x {x}");
            assert_eq!(env.min[[x, 0]], 0.0);
        }
        let (p, low, high) = env.percentiles.as_ref().unwrap();
        assert_eq!(*p, 10.0);
        // The bar visits each of its positions in exactly 1 of 10 frames: the 90th
        // percentile interpolates to 0 + (200 − 0)·0.1 = 20.
        assert!(
            (high[[7, 0]] - 20.0).abs() < 1e-4 && low[[7, 0]] == 0.0,
            "{} {}",
            low[[7, 0]],
            high[[7, 0]]
        );
        let csv = profile_csv(
            &across().samples(),
            &k.index_axis(Axis(0), 0).to_owned(),
            &env,
        );
        assert!(csv.starts_with("position,distance,value_c0,min_c0,max_c0,p10_c0,p90_c0\n"));
        assert_eq!(csv.lines().count(), 31);
    }

    #[test]
    fn width_averages_across_the_line() {
        // Rows alternate 0 / 90: a 3-wide horizontal line through a 90 row averages 30 or 60.
        let stack = Array4::from_shape_fn(
            (1, 6, 6, 1),
            |(_, y, _, _)| if y % 2 == 0 { 90u8 } else { 0 },
        );
        let frame = stack.index_axis(Axis(0), 0);
        let line = LineSpec::parse("0.5,2.5,5.5,2.5", 3).unwrap();
        let p = profile(frame, &line.samples(), 3);
        assert!(p.iter().all(|&v| (v - 30.0).abs() < 1e-4), "{p:?}");
    }
}
