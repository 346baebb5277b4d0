//! The ops over the frames as the user sees them: the stack's bytes, or its normalized
//! values when a normalization is on, with the mask applied. The window and the command line
//! both call these, so the same settings give the same numbers in both.

use std::ops::Range;

use ndarray::{Array2, Array3, ArrayView4};

use super::{
    LineSpec, Normalizer, ReduceError, ReduceOp, RoiCurve, Shape, apply_mask, curves_csv,
    kymograph, kymograph_f32, reduce, reduce_f32, roi_curves, roi_curves_f32,
};
use crate::job::{Cancelled, Job};
use crate::stack::FrameStack;

/// `op` over frames `range` (all when `None`), of the normalized values when `normalizer` is
/// given; masked-out pixels of the result are NaN.
pub fn reduce_shown(
    stack: ArrayView4<u8>,
    normalizer: Option<&Normalizer>,
    mask: Option<&Array2<bool>>,
    op: ReduceOp,
    range: Option<Range<usize>>,
    job: &Job,
) -> Result<Array3<f32>, ReduceError> {
    let mut image = match normalizer {
        Some(n) => {
            let range = super::reduce::checked_range(range, stack.shape()[0])?;
            // A sliding-window normalization depends on the frames before: run it from the
            // first frame and keep the range.
            let values = n.frames(stack).skip(range.start).take(range.len());
            reduce_f32(values, op, job)?
        }
        None => reduce(stack, op, range, job)?,
    };
    if let Some(mask) = mask {
        apply_mask(&mut image, mask);
    }
    Ok(image)
}

/// Time curves of `shapes` over every frame as shown.
pub fn curves_shown(
    stack: ArrayView4<u8>,
    normalizer: Option<&Normalizer>,
    shapes: &[Shape],
    mask: Option<&Array2<bool>>,
    with_median: bool,
    job: &Job,
) -> Result<Vec<RoiCurve>, Cancelled> {
    let mask = mask.map(|m| m.view());
    match normalizer {
        Some(n) => {
            let size = (stack.shape()[2], stack.shape()[1]);
            roi_curves_f32(n.frames(stack), size, shapes, mask, with_median, job)
        }
        None => roi_curves(stack, shapes, mask, with_median, job),
    }
}

/// The kymograph (frames × positions × channels) along `line` over every frame as shown.
pub fn kymograph_shown(
    stack: ArrayView4<u8>,
    normalizer: Option<&Normalizer>,
    line: &LineSpec,
    job: &Job,
) -> Result<Array3<f32>, Cancelled> {
    match normalizer {
        Some(n) => kymograph_f32(n.frames(stack), line, job),
        None => kymograph(stack, line, job),
    }
}

/// The curves as CSV, one row per loaded frame, numbered by its frame in the source (and
/// timed when the source has a frame rate).
pub fn stack_curves_csv(stack: &FrameStack, curves: &[RoiCurve], with_median: bool) -> String {
    let meta = stack.meta();
    let times: Option<Vec<f64>> = meta.fps.map(|_| {
        (0..stack.len())
            .filter_map(|i| meta.frame_time_secs(i))
            .collect()
    });
    curves_csv(
        curves,
        &meta.source_frames.to_vec(),
        times.as_deref(),
        with_median,
    )
}

#[cfg(test)]
mod tests {
    use ndarray::Array4;

    use super::*;
    use crate::ops::NormalizeSettings;

    #[test]
    fn a_range_of_normalized_frames_is_the_range_of_the_values() {
        // Frame i is flat i·10; the mean of all four is 15; frames 1..3 minus it are
        // −5 and 5, whose mean is 0 and whose max is 5.
        let stack = Array4::from_shape_fn((4, 2, 3, 1), |(i, ..)| (10 * i) as u8);
        let job = Job::new();
        let n = Normalizer::new(
            stack.view(),
            NormalizeSettings::background_subtraction(),
            &job,
        )
        .unwrap();
        let max = reduce_shown(
            stack.view(),
            Some(&n),
            None,
            ReduceOp::Max,
            Some(1..3),
            &job,
        )
        .unwrap();
        assert!(max.iter().all(|&v| v == 5.0), "{max:?}");
        let raw = reduce_shown(stack.view(), None, None, ReduceOp::Max, Some(1..3), &job).unwrap();
        assert!(raw.iter().all(|&v| v == 20.0));
        let mut mask = Array2::from_elem((2, 3), true);
        mask[[0, 0]] = false;
        let masked =
            reduce_shown(stack.view(), None, Some(&mask), ReduceOp::Mean, None, &job).unwrap();
        assert!(masked[[0, 0, 0]].is_nan());
        assert_eq!(masked[[1, 2, 0]], 15.0);
        assert!(
            reduce_shown(
                stack.view(),
                Some(&n),
                None,
                ReduceOp::Max,
                Some(3..9),
                &job
            )
            .is_err()
        );
    }
}
