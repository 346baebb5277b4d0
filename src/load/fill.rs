//! Filling a preallocated matrix in parallel, and closing the gaps left by frames that failed.

use ndarray::{Array4, ArrayViewMut3, Axis};
use rayon::prelude::*;

use super::report::Skipped;
use crate::job::{Cancelled, Job};

/// What happened to one slot of the matrix.
#[derive(Debug)]
pub enum SlotOutcome<E> {
    Filled,
    /// The frame is left out; the reason goes into the load report.
    Skipped(String),
    /// The load must stop (for example a frame of the wrong size).
    Fatal(E),
}

/// Allocates `n × h × w × c` zeroed bytes. The zeroed allocation is lazy (calloc), so peak
/// memory stays at the final matrix size as slots are written.
pub fn allocate(shape: [usize; 4]) -> Array4<u8> {
    Array4::zeros((shape[0], shape[1], shape[2], shape[3]))
}

/// Runs `fill(slot_index, slot)` for every frame slot in parallel. Stops early when the job is
/// cancelled or a slot returned `Fatal`; outcomes come back in slot order.
pub fn fill_parallel<E, F>(
    pixels: &mut Array4<u8>,
    job: &Job,
    fill: F,
) -> Result<Vec<SlotOutcome<E>>, Cancelled>
where
    E: Send,
    F: Fn(usize, ArrayViewMut3<u8>) -> SlotOutcome<E> + Sync,
{
    let abort = std::sync::atomic::AtomicBool::new(false);
    let outcomes: Vec<SlotOutcome<E>> = pixels
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .map(|(i, slot)| {
            if job.is_cancelled() || abort.load(std::sync::atomic::Ordering::Relaxed) {
                return SlotOutcome::Skipped("not reached".into());
            }
            let outcome = fill(i, slot);
            if matches!(outcome, SlotOutcome::Fatal(_)) {
                abort.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            job.advance(1);
            outcome
        })
        .collect();
    job.check()?;
    Ok(outcomes)
}

/// The outcomes of a fill, sorted for the stack and its report.
pub struct Settled<E> {
    /// Per slot: whether its frame stays.
    pub keep: Vec<bool>,
    /// Source index of every kept frame.
    pub source_frames: Vec<usize>,
    pub fatal: Vec<E>,
}

/// Sorts outcomes: skipped frames go into `skipped` (named by `name(source_index)`).
pub fn settle<E>(
    outcomes: Vec<SlotOutcome<E>>,
    selected: &[usize],
    name: impl Fn(usize) -> String,
    skipped: &mut Vec<Skipped>,
) -> Settled<E> {
    let mut settled = Settled {
        keep: Vec::with_capacity(outcomes.len()),
        source_frames: Vec::with_capacity(outcomes.len()),
        fatal: Vec::new(),
    };
    for (outcome, &index) in outcomes.into_iter().zip(selected) {
        settled.keep.push(matches!(outcome, SlotOutcome::Filled));
        match outcome {
            SlotOutcome::Filled => settled.source_frames.push(index),
            SlotOutcome::Skipped(reason) => skipped.push(Skipped {
                name: name(index),
                reason,
            }),
            SlotOutcome::Fatal(e) => settled.fatal.push(e),
        }
    }
    settled
}

/// Drops the frames whose `keep` is false by moving later frames down, in place.
pub fn compact(pixels: Array4<u8>, keep: &[bool]) -> Array4<u8> {
    let shape = pixels.shape().to_vec();
    let kept = keep.iter().filter(|k| **k).count();
    if kept == shape[0] {
        return pixels;
    }
    let frame_len = shape[1] * shape[2] * shape[3];
    let pixels = if pixels.is_standard_layout() {
        pixels
    } else {
        pixels.as_standard_layout().into_owned()
    };
    let (mut data, _offset) = pixels.into_raw_vec_and_offset();
    let kept_frames = keep.iter().enumerate().filter(|(_, k)| **k).map(|(i, _)| i);
    for (write, read) in kept_frames.enumerate() {
        if read != write {
            data.copy_within(read * frame_len..(read + 1) * frame_len, write * frame_len);
        }
    }
    data.truncate(kept * frame_len);
    Array4::from_shape_vec((kept, shape[1], shape[2], shape[3]), data)
        .unwrap_or_else(|_| Array4::zeros((0, shape[1], shape[2], shape[3])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_closes_gaps_in_order() {
        let a = Array4::from_shape_fn((4, 1, 2, 1), |(i, _, _, _)| i as u8);
        let c = compact(a, &[false, true, false, true]);
        assert_eq!(c.shape(), &[2, 1, 2, 1]);
        assert_eq!(c.as_slice().unwrap(), &[1, 1, 3, 3]);
    }

    #[test]
    fn fill_reports_each_slot_and_honours_cancel() {
        let mut a = allocate([5, 1, 1, 1]);
        let job = Job::new();
        let outcomes = fill_parallel::<(), _>(&mut a, &job, |i, mut slot| {
            slot.fill(i as u8 + 1);
            if i == 2 {
                SlotOutcome::Skipped("bad".into())
            } else {
                SlotOutcome::Filled
            }
        })
        .unwrap();
        assert!(matches!(outcomes[2], SlotOutcome::Skipped(_)));
        assert_eq!(a.as_slice().unwrap(), &[1, 2, 3, 4, 5]);
        job.cancel();
        let r = fill_parallel::<(), _>(&mut a, &job, |_, _| SlotOutcome::Filled);
        assert!(r.is_err());
    }
}
