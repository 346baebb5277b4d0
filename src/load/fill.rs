//! Filling a preallocated matrix in parallel, and closing the gaps left by frames that failed.

use ndarray::{Array4, ArrayViewMut3, ArrayViewMut4, Axis, s};
use rayon::prelude::*;

use super::cache::{CacheUse, EntryWriter};
use super::error::LoadError;
use super::guard::Placement;
use super::report::Skipped;
use crate::job::{Cancelled, Job};
use crate::stack::{FrameGeometry, FrameStack, StackMeta};

/// Bytes decoded at a time before they are written to a cache entry: enough frames for every
/// thread, little enough to keep memory flat.
const CACHE_BATCH_BYTES: usize = 64 << 20;

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
    mut pixels: ArrayViewMut4<u8>,
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

/// Where a loader's frames go: a matrix in RAM, or a frame cache entry written in order.
pub enum Matrix {
    Ram(Array4<u8>),
    Cache(EntryWriter),
}

impl Matrix {
    /// The destination of `count` frames of `frame` that were placed by the guard.
    pub fn new(placement: Placement, count: usize, frame: FrameGeometry) -> Self {
        match placement {
            Placement::Ram { .. } => {
                Self::Ram(allocate([count, frame.height, frame.width, frame.channels]))
            }
            Placement::Cache(writer) => Self::Cache(writer),
        }
    }

    /// Runs `fill(slot_index, slot)` for `count` slots in parallel (see [`fill_parallel`]).
    /// Into a cache entry, slots are filled a batch at a time and the filled ones appended in
    /// order, so skipped frames leave no gap and memory stays at one batch.
    pub fn fill<E, F>(
        &mut self,
        count: usize,
        job: &Job,
        fill: F,
    ) -> Result<Vec<SlotOutcome<E>>, LoadError>
    where
        E: Send,
        F: Fn(usize, ArrayViewMut3<u8>) -> SlotOutcome<E> + Sync,
    {
        let writer = match self {
            Self::Ram(pixels) => return Ok(fill_parallel(pixels.view_mut(), job, fill)?),
            Self::Cache(writer) => writer,
        };
        let frame = writer.frame();
        let batch = (CACHE_BATCH_BYTES / frame.bytes().max(1))
            .max(2 * rayon::current_num_threads())
            .min(count)
            .max(1);
        let mut buffer = allocate([batch, frame.height, frame.width, frame.channels]);
        let mut outcomes = Vec::with_capacity(count);
        for start in (0..count).step_by(batch) {
            let n = batch.min(count - start);
            let part = buffer.slice_mut(s![..n, .., .., ..]);
            let done = fill_parallel(part, job, |i, slot| fill(start + i, slot))?;
            let fatal = done.iter().any(|o| matches!(o, SlotOutcome::Fatal(_)));
            for (i, outcome) in done.iter().enumerate() {
                if matches!(outcome, SlotOutcome::Filled)
                    && let Some(bytes) = buffer.index_axis(Axis(0), i).to_slice()
                {
                    writer.push(bytes)?;
                }
            }
            outcomes.extend(done);
            if fatal {
                break;
            }
        }
        outcomes.resize_with(count, || SlotOutcome::Skipped("not reached".into()));
        Ok(outcomes)
    }

    /// The stack: the kept slots of the RAM matrix, or the finished cache entry mapped.
    pub fn finish(
        self,
        keep: &[bool],
        meta: StackMeta,
    ) -> Result<(FrameStack, Option<CacheUse>), LoadError> {
        match self {
            Self::Ram(pixels) => Ok((FrameStack::from_array(compact(pixels, keep), meta), None)),
            Self::Cache(writer) => {
                let (stack, used) = writer.finish(meta)?;
                Ok((stack, Some(used)))
            }
        }
    }
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
        let outcomes = fill_parallel::<(), _>(a.view_mut(), &job, |i, mut slot| {
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
        let r = fill_parallel::<(), _>(a.view_mut(), &job, |_, _| SlotOutcome::Filled);
        assert!(r.is_err());
    }
}
