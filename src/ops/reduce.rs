//! Reductions over frames: one `f32` image (`h × w × c`) from a range of frames.
//!
//! The work is split into bands of rows that accumulate in integers, in parallel; the frames
//! are read front to back, a window at a time, so each byte of the stack is read once per op
//! (a memory-mapped stack streams from disk in order) and the result is exact (std from exact
//! integer sums, no cancellation). Median uses a 256-bin count per
//! element: O(n), exact, no sorting. Works the same on owned and memory-mapped stacks.

use std::ops::Range;

use ndarray::{Array3, ArrayView4, s};
use rayon::prelude::*;
use serde::Serialize;

use crate::job::{Cancelled, Job};
use crate::stack::row_bytes;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReduceOp {
    Mean,
    Sum,
    Max,
    Min,
    /// Population standard deviation.
    Std,
    /// For an even count, the mean of the two middle values (numpy's definition).
    Median,
}

impl ReduceOp {
    pub fn name(self) -> &'static str {
        match self {
            Self::Mean => "mean",
            Self::Sum => "sum",
            Self::Max => "max",
            Self::Min => "min",
            Self::Std => "std",
            Self::Median => "median",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReduceError {
    #[error("frame range {start}..{end} is empty or past the {frames} frames")]
    Range {
        start: usize,
        end: usize,
        frames: usize,
    },
    #[error("cancelled")]
    Cancelled,
}

impl From<Cancelled> for ReduceError {
    fn from(_: Cancelled) -> Self {
        Self::Cancelled
    }
}

/// Elements per band and per accumulator kind: the accumulators of one band stay in L2.
fn band_rows(row_elems: usize, bytes_per_elem: usize) -> usize {
    const BAND_BYTES: usize = 256 * 1024;
    (BAND_BYTES / (row_elems * bytes_per_elem).max(1)).max(1)
}

/// Accumulator bytes alive at once. Mean, max, min and std of any usual frame size fit in one
/// pass over the frames; median (a 256-bin count per element) takes a few.
const PASS_ACC_BYTES: usize = 256 << 20;

/// Bytes of frames every band takes in one go before the bands move on together: the stack
/// is read front to back, a window at a time, so a memory-mapped file larger than RAM streams
/// in from disk once instead of once per band. A window this large keeps the accumulator
/// traffic small even for median's 1 KiB of counts per element, and a stack that fits in one
/// window is reduced band by band over all its frames.
const WINDOW_BYTES: usize = 1 << 30;

/// How much memory a reduction keeps in flight: [`WINDOW_BYTES`] and [`PASS_ACC_BYTES`]
/// (tests make them small to cover the windows and passes on small stacks).
#[derive(Debug, Clone, Copy)]
struct Limits {
    window_bytes: usize,
    pass_acc_bytes: usize,
}

const LIMITS: Limits = Limits {
    window_bytes: WINDOW_BYTES,
    pass_acc_bytes: PASS_ACC_BYTES,
};

/// Faults in the pages of `frames` in order, one byte a page: on a memory-mapped stack the
/// kernel sees a sequential read and reads ahead; on a stack in RAM it costs next to nothing.
fn touch_in_order(frames: ArrayView4<u8>) {
    const PAGE: usize = 4096;
    for frame in frames.outer_iter() {
        match frame.to_slice() {
            Some(bytes) => {
                for i in (0..bytes.len()).step_by(PAGE) {
                    std::hint::black_box(bytes[i]);
                }
            }
            None => {
                for row in frame.outer_iter() {
                    if let Some(&b) = row.iter().next() {
                        std::hint::black_box(b);
                    }
                }
            }
        }
    }
}

/// Streams every frame of `range` over each band of rows, in parallel across bands.
/// `visit(frame_row_bytes, band_accumulator_row)` is called for every row of every frame;
/// `(acc_per_elem, acc_init)` sizes and starts the accumulators;
/// `finish(band_accumulator, band_output)` turns a band's accumulator into `f32` values.
fn reduce_bands<A, V, F>(
    stack: ArrayView4<u8>,
    range: Range<usize>,
    (acc_per_elem, acc_init): (usize, A),
    visit: V,
    finish: F,
    limits: Limits,
    job: &Job,
) -> Result<Array3<f32>, ReduceError>
where
    A: Clone + Send + Sync,
    V: Fn(&[u8], &mut [A]) + Sync,
    F: Fn(&[A], &mut [f32]) + Sync,
{
    let (h, w, c) = (stack.shape()[1], stack.shape()[2], stack.shape()[3]);
    let row_elems = w * c;
    let acc_elem_bytes = acc_per_elem * std::mem::size_of::<A>();
    let rows_per_band = band_rows(row_elems, acc_elem_bytes);
    let band_elems = rows_per_band * row_elems;
    let bands_per_pass = (limits.pass_acc_bytes / (band_elems * acc_elem_bytes).max(1)).max(1);
    let mut out = vec![0f32; h * w * c];
    let frames = stack.slice(s![range.clone(), .., .., ..]);
    job.set_total(h.div_ceil(rows_per_band) as u64);
    // Adds the rows `y0..y0 + rows` of every frame of `chunk` to a band's accumulator.
    let accumulate = |chunk: ArrayView4<u8>, y0: usize, rows: usize, acc: &mut [A]| {
        for frame in chunk.outer_iter() {
            // Contiguous frames (owned, or a mapped file without crop) hand over the whole
            // band at once; strided windows go row by row.
            let band = frame.slice_move(s![y0..y0 + rows, .., ..]);
            if let Some(bytes) = band.to_slice() {
                visit(bytes, acc);
                continue;
            }
            for r in 0..rows {
                let bytes = row_bytes(frame, y0 + r);
                let at = r * row_elems * acc_per_elem;
                visit(&bytes, &mut acc[at..at + row_elems * acc_per_elem]);
            }
        }
    };
    let step = (limits.window_bytes / (h * row_elems).max(1)).max(1);
    if range.len() <= step {
        // One window: each band goes over all the frames with only its own accumulator
        // alive, after the pages were faulted in, in order.
        touch_in_order(frames);
        out.par_chunks_mut(band_elems).enumerate().try_for_each(
            |(band, out_band)| -> Result<(), ReduceError> {
                job.check()?;
                let rows = out_band.len() / row_elems;
                let mut acc = vec![acc_init.clone(); rows * row_elems * acc_per_elem];
                accumulate(frames, band * rows_per_band, rows, &mut acc);
                finish(&acc, out_band);
                job.advance(1);
                Ok(())
            },
        )?;
        return Ok(
            Array3::from_shape_vec((h, w, c), out).unwrap_or_else(|_| Array3::zeros((h, w, c)))
        );
    }
    let window =
        |start: usize| frames.slice(s![start..(start + step).min(range.len()), .., .., ..]);
    let starts: Vec<usize> = (0..range.len()).step_by(step).collect();
    for (pass, pass_out) in out.chunks_mut(bands_per_pass * band_elems).enumerate() {
        let first_band = pass * bands_per_pass;
        let mut bands: Vec<(usize, usize, Vec<A>)> = pass_out
            .chunks(band_elems)
            .enumerate()
            .map(|(b, chunk)| {
                let rows = chunk.len() / row_elems;
                let acc = vec![acc_init.clone(); rows * row_elems * acc_per_elem];
                ((first_band + b) * rows_per_band, rows, acc)
            })
            .collect();
        touch_in_order(window(0));
        for (k, &start) in starts.iter().enumerate() {
            job.check()?;
            let chunk = window(start);
            let next = starts.get(k + 1).map(|&n| window(n));
            // The next window streams in while this one is reduced.
            rayon::join(
                || next.map(touch_in_order),
                || {
                    bands
                        .par_iter_mut()
                        .for_each(|(y0, rows, acc)| accumulate(chunk, *y0, *rows, acc))
                },
            );
        }
        pass_out
            .par_chunks_mut(band_elems)
            .zip(bands.par_iter())
            .for_each(|(o, (_, _, acc))| finish(acc, o));
        job.advance(bands.len() as u64);
    }
    Ok(Array3::from_shape_vec((h, w, c), out).unwrap_or_else(|_| Array3::zeros((h, w, c))))
}

/// An integer sum accumulator.
trait SumAcc: Copy + Default + Send + Sync + std::ops::AddAssign + From<u8> {
    fn to_f64(self) -> f64;
}

impl SumAcc for u32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl SumAcc for u64 {
    fn to_f64(self) -> f64 {
        // Exact below 2^53, i.e. for 3.5e13 frames of 255.
        self as f64
    }
}

/// Per-element sums in accumulator `A`, times `scale`.
fn sum_bands<A: SumAcc>(
    stack: ArrayView4<u8>,
    range: Range<usize>,
    scale: f64,
    limits: Limits,
    job: &Job,
) -> Result<Array3<f32>, ReduceError> {
    reduce_bands(
        stack,
        range,
        (1, A::default()),
        |bytes, acc| {
            for (a, &b) in acc.iter_mut().zip(bytes) {
                *a += A::from(b);
            }
        },
        |acc, out| {
            for (o, &a) in out.iter_mut().zip(acc) {
                *o = (a.to_f64() * scale) as f32;
            }
        },
        limits,
        job,
    )
}

/// `range` (all `frames` when `None`), or an error when it is empty or runs past the end.
pub(crate) fn checked_range(
    range: Option<Range<usize>>,
    frames: usize,
) -> Result<Range<usize>, ReduceError> {
    let range = range.unwrap_or(0..frames);
    if range.start >= range.end || range.end > frames {
        return Err(ReduceError::Range {
            start: range.start,
            end: range.end,
            frames,
        });
    }
    Ok(range)
}

/// Reduces frames `range` (all frames when `None`) of `stack` with `op`.
pub fn reduce(
    stack: ArrayView4<u8>,
    op: ReduceOp,
    range: Option<Range<usize>>,
    job: &Job,
) -> Result<Array3<f32>, ReduceError> {
    reduce_within(stack, op, range, LIMITS, job)
}

fn reduce_within(
    stack: ArrayView4<u8>,
    op: ReduceOp,
    range: Option<Range<usize>>,
    limits: Limits,
    job: &Job,
) -> Result<Array3<f32>, ReduceError> {
    let range = checked_range(range, stack.shape()[0])?;
    let n = range.len();
    match op {
        ReduceOp::Sum | ReduceOp::Mean => {
            let scale = if op == ReduceOp::Mean {
                1.0 / n as f64
            } else {
                1.0
            };
            // u32 holds 16.8 M frames of 255; longer stacks take the u64 path.
            if n < (u32::MAX / 255) as usize {
                sum_bands::<u32>(stack, range, scale, limits, job)
            } else {
                sum_bands::<u64>(stack, range, scale, limits, job)
            }
        }
        ReduceOp::Max | ReduceOp::Min => {
            let is_max = op == ReduceOp::Max;
            reduce_bands(
                stack,
                range,
                (1, if is_max { 0u8 } else { 255u8 }),
                |bytes, acc| {
                    if is_max {
                        for (a, &b) in acc.iter_mut().zip(bytes) {
                            *a = (*a).max(b);
                        }
                    } else {
                        for (a, &b) in acc.iter_mut().zip(bytes) {
                            *a = (*a).min(b);
                        }
                    }
                },
                |acc, out| {
                    for (o, &a) in out.iter_mut().zip(acc) {
                        *o = f32::from(a);
                    }
                },
                limits,
                job,
            )
        }
        ReduceOp::Std => reduce_bands(
            stack,
            range,
            (2, 0u64),
            |bytes, acc| {
                for (pair, &b) in acc.chunks_exact_mut(2).zip(bytes) {
                    let v = u64::from(b);
                    pair[0] += v;
                    pair[1] += v * v;
                }
            },
            |acc, out| {
                let nf = n as f64;
                for (o, pair) in out.iter_mut().zip(acc.chunks_exact(2)) {
                    // Exact integers: n·Σx² − (Σx)² has no cancellation error.
                    let (s1, s2) = (pair[0] as f64, pair[1] as f64);
                    let var = ((nf * s2 - s1 * s1) / (nf * nf)).max(0.0);
                    *o = var.sqrt() as f32;
                }
            },
            limits,
            job,
        ),
        ReduceOp::Median => reduce_bands(
            stack,
            range,
            (256, 0u32),
            |bytes, acc| {
                for (i, &b) in bytes.iter().enumerate() {
                    acc[i * 256 + usize::from(b)] += 1;
                }
            },
            |acc, out| {
                for (o, hist) in out.iter_mut().zip(acc.chunks_exact(256)) {
                    *o = median_of_histogram(hist, n);
                }
            },
            limits,
            job,
        ),
    }
}

/// Reduces float frames as they come (normalized data). Mean, sum, max, min and std stream
/// with per-pixel accumulators (std by Welford's update); median has to see every value of a
/// pixel, so it keeps the float frames in memory (`n × h × w × c × 4` bytes). NaN propagates.
pub fn reduce_f32(
    frames: impl Iterator<Item = Array3<f32>>,
    op: ReduceOp,
    job: &Job,
) -> Result<Array3<f32>, ReduceError> {
    let mut frames = frames.peekable();
    let Some(first) = frames.peek() else {
        return Err(ReduceError::Range {
            start: 0,
            end: 0,
            frames: 0,
        });
    };
    let dims = first.raw_dim();
    if op == ReduceOp::Median {
        let mut all = Vec::new();
        for f in frames {
            job.check()?;
            all.push(f);
        }
        let n = all.len();
        let mut values = vec![0f32; n];
        return Ok(Array3::from_shape_fn(dims, |idx| {
            for (v, f) in values.iter_mut().zip(&all) {
                *v = f[idx];
            }
            values.sort_by(f32::total_cmp);
            (values[(n - 1) / 2] + values[n / 2]) / 2.0
        }));
    }
    let mut count = 0f64;
    let mut acc = Array3::<f64>::zeros(dims);
    let mut m2 = Array3::<f64>::zeros(if op == ReduceOp::Std {
        dims
    } else {
        ndarray::Dim([0, 0, 0])
    });
    let init = match op {
        ReduceOp::Max => f64::NEG_INFINITY,
        ReduceOp::Min => f64::INFINITY,
        _ => 0.0,
    };
    acc.fill(init);
    for f in frames {
        job.check()?;
        count += 1.0;
        match op {
            ReduceOp::Sum | ReduceOp::Mean => acc.zip_mut_with(&f, |a, &v| *a += f64::from(v)),
            ReduceOp::Max => acc.zip_mut_with(&f, |a, &v| *a = a.max(f64::from(v))),
            ReduceOp::Min => acc.zip_mut_with(&f, |a, &v| *a = a.min(f64::from(v))),
            ReduceOp::Std => {
                ndarray::Zip::from(&mut acc)
                    .and(&mut m2)
                    .and(&f)
                    .for_each(|mean, m2, &v| {
                        let v = f64::from(v);
                        let delta = v - *mean;
                        *mean += delta / count;
                        *m2 += delta * (v - *mean);
                    })
            }
            ReduceOp::Median => {}
        }
        job.advance(1);
    }
    Ok(match op {
        ReduceOp::Mean => acc.mapv(|a| (a / count) as f32),
        ReduceOp::Std => m2.mapv(|m| (m / count).sqrt() as f32),
        _ => acc.mapv(|a| a as f32),
    })
}

/// Median of `n` values counted in a 256-bin histogram (two middle values averaged).
fn median_of_histogram(hist: &[u32], n: usize) -> f32 {
    let lower_rank = (n - 1) / 2;
    let upper_rank = n / 2;
    let (mut lower, mut upper) = (None, None);
    let mut seen = 0usize;
    for (value, &count) in hist.iter().enumerate() {
        seen += count as usize;
        if lower.is_none() && seen > lower_rank {
            lower = Some(value);
        }
        if seen > upper_rank {
            upper = Some(value);
            break;
        }
    }
    let (lo, hi) = (lower.unwrap_or(0), upper.unwrap_or(0));
    (lo + hi) as f32 / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;

    fn pseudo_random(n: usize, h: usize, w: usize, c: usize, seed: u32) -> Array4<u8> {
        let mut state = seed | 1;
        Array4::from_shape_simple_fn((n, h, w, c), || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 7) as u8
        })
    }

    /// The definition, element by element, in f64.
    fn naive(stack: &Array4<u8>, op: ReduceOp, range: Range<usize>) -> Array3<f32> {
        let (h, w, c) = (stack.shape()[1], stack.shape()[2], stack.shape()[3]);
        Array3::from_shape_fn((h, w, c), |(y, x, k)| {
            let mut v: Vec<f64> = range
                .clone()
                .map(|i| f64::from(stack[[i, y, x, k]]))
                .collect();
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            (match op {
                ReduceOp::Sum => v.iter().sum(),
                ReduceOp::Mean => mean,
                ReduceOp::Max => v.iter().cloned().fold(f64::MIN, f64::max),
                ReduceOp::Min => v.iter().cloned().fold(f64::MAX, f64::min),
                ReduceOp::Std => (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt(),
                ReduceOp::Median => {
                    v.sort_by(f64::total_cmp);
                    let m = v.len();
                    (v[(m - 1) / 2] + v[m / 2]) / 2.0
                }
            }) as f32
        })
    }

    #[test]
    fn every_op_matches_the_naive_definition() {
        for (shape, range) in [
            ((7, 5, 9, 1), 0..7),
            ((6, 11, 3, 3), 1..5),
            ((4, 2, 2, 1), 2..3),
        ] {
            let (n, h, w, c) = shape;
            let stack = pseudo_random(n, h, w, c, (n * 31 + h) as u32);
            for op in [
                ReduceOp::Mean,
                ReduceOp::Sum,
                ReduceOp::Max,
                ReduceOp::Min,
                ReduceOp::Std,
                ReduceOp::Median,
            ] {
                let want = naive(&stack, op, range.clone());
                // One window for all frames; and windows of two frames with one band per
                // pass, as a stack far larger than RAM is read.
                let small = Limits {
                    window_bytes: 2 * h * w * c,
                    pass_acc_bytes: 1,
                };
                for limits in [LIMITS, small] {
                    let got =
                        reduce_within(stack.view(), op, Some(range.clone()), limits, &Job::new())
                            .unwrap();
                    for (g, w) in got.iter().zip(want.iter()) {
                        assert!(
                            (g - w).abs() <= 1e-3 * w.abs().max(1.0),
                            "{op:?} {shape:?} {limits:?}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn median_of_even_counts_averages_the_middle_pair() {
        let mut stack = Array4::zeros((4, 1, 1, 1));
        for (i, v) in [10u8, 3, 200, 7].into_iter().enumerate() {
            stack[[i, 0, 0, 0]] = v;
        }
        let m = reduce(stack.view(), ReduceOp::Median, None, &Job::new()).unwrap();
        assert_eq!(m[[0, 0, 0]], 8.5);
    }

    #[test]
    fn std_of_constant_data_is_zero() {
        let stack = Array4::from_elem((1000, 3, 3, 1), 251u8);
        let s = reduce(stack.view(), ReduceOp::Std, None, &Job::new()).unwrap();
        assert!(s.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn strided_views_reduce_like_their_copies() {
        let stack = pseudo_random(6, 8, 10, 1, 9);
        let view = stack.slice(s![..;2, 1..7, 2..9, ..]);
        let copy = view.to_owned();
        for op in [ReduceOp::Mean, ReduceOp::Median, ReduceOp::Std] {
            let a = reduce(view, op, None, &Job::new()).unwrap();
            let b = reduce(copy.view(), op, None, &Job::new()).unwrap();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn float_frames_reduce_like_bytes() {
        let stack = pseudo_random(9, 4, 5, 3, 77);
        let floats = || stack.outer_iter().map(|f| f.mapv(f32::from));
        for op in [
            ReduceOp::Mean,
            ReduceOp::Sum,
            ReduceOp::Max,
            ReduceOp::Min,
            ReduceOp::Std,
            ReduceOp::Median,
        ] {
            let a = reduce(stack.view(), op, None, &Job::new()).unwrap();
            let b = reduce_f32(floats(), op, &Job::new()).unwrap();
            for (x, y) in a.iter().zip(b.iter()) {
                assert!(
                    (x - y).abs() <= 1e-3 * x.abs().max(1.0),
                    "{op:?}: {x} vs {y}"
                );
            }
        }
    }

    #[test]
    fn bad_ranges_are_errors() {
        let stack = Array4::<u8>::zeros((3, 2, 2, 1));
        assert!(reduce(stack.view(), ReduceOp::Mean, Some(2..2), &Job::new()).is_err());
        assert!(reduce(stack.view(), ReduceOp::Mean, Some(1..4), &Job::new()).is_err());
    }
}
