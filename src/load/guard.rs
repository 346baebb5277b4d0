//! The memory guard: estimate the matrix before decoding, and thin the selection if it would
//! not fit in the RAM limit.

use std::path::Path;

use super::cache::{EntryWriter, Slot};
use super::error::LoadError;
use super::options::LoadOptions;
use super::report::GuardDecision;
use crate::stack::FrameGeometry;

/// Share of the memory available at load time that a load may take when no limit is given.
const DEFAULT_SHARE: f64 = 0.6;

/// The RAM limit for a load: the user's, or a share of what the system has available now.
pub fn ram_limit(options: &LoadOptions) -> u64 {
    options.max_ram_bytes.unwrap_or_else(|| {
        let available = sysinfo::System::new()
            .map(|mut sys| {
                sys.refresh_memory();
                sys.available_memory()
            })
            .unwrap_or(0);
        // Containers sometimes report 0; do not let that refuse every load.
        if available == 0 {
            u64::MAX
        } else {
            (available as f64 * DEFAULT_SHARE) as u64
        }
    })
}

/// Where a selection's frames go.
#[derive(Debug)]
pub enum Placement {
    /// Into RAM, every `extra_step`-th frame (1 unless the guard had to thin).
    Ram {
        extra_step: usize,
        decision: Option<GuardDecision>,
    },
    /// Into a new frame cache entry on disk, every frame.
    Cache(EntryWriter),
}

impl Placement {
    /// The step the guard adds to the selection (1 into the cache).
    pub fn extra_step(&self) -> usize {
        match self {
            Self::Ram { extra_step, .. } => *extra_step,
            Self::Cache(_) => 1,
        }
    }

    /// The guard's decision to thin, for the report.
    pub fn decision(&self) -> Option<GuardDecision> {
        match self {
            Self::Ram { decision, .. } => *decision,
            Self::Cache(_) => None,
        }
    }
}

/// Where `frames` frames of `frame` go: RAM when they fit under `limit_bytes`, else the
/// frame cache when there is one, else RAM thinned to fit.
pub fn place(
    path: &Path,
    frame: FrameGeometry,
    frames: usize,
    limit_bytes: u64,
    cache: Option<&Slot>,
) -> Result<Placement, LoadError> {
    let frame_bytes = frame.bytes() as u64;
    if let Some(slot) = cache
        && frames > 0
        && frame_bytes.saturating_mul(frames as u64) > limit_bytes
    {
        return slot.begin(frame, frames).map(Placement::Cache);
    }
    let (extra_step, decision) = plan(path, frame_bytes, frames, limit_bytes)?;
    Ok(Placement::Ram {
        extra_step,
        decision,
    })
}

/// The smallest extra step that makes `frames` frames of `frame_bytes` fit in `limit_bytes`,
/// with the decision to report when one was needed.
pub fn plan(
    path: &Path,
    frame_bytes: u64,
    frames: usize,
    limit_bytes: u64,
) -> Result<(usize, Option<GuardDecision>), LoadError> {
    let wanted_bytes = frame_bytes.saturating_mul(frames as u64);
    if wanted_bytes <= limit_bytes || frames == 0 {
        return Ok((1, None));
    }
    if frame_bytes > limit_bytes {
        return Err(LoadError::FrameOverLimit {
            path: path.to_path_buf(),
            frame_bytes,
            limit_bytes,
        });
    }
    let fits = (limit_bytes / frame_bytes).max(1) as usize;
    let mut step = frames.div_ceil(fits);
    while frames.div_ceil(step) > fits {
        step += 1;
    }
    Ok((
        step,
        Some(GuardDecision {
            limit_bytes,
            wanted_bytes,
            extra_step: step,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_without_a_step() {
        assert_eq!(plan(Path::new("x"), 100, 10, 1000).unwrap(), (1, None));
    }

    #[test]
    fn picks_the_smallest_step_that_fits() {
        // 10 frames of 100 bytes, 350 allowed: steps 1–3 keep 10, 5, 4 frames (too many);
        // step 4 keeps frames 0, 4, 8.
        let (step, decision) = plan(Path::new("x"), 100, 10, 350).unwrap();
        assert_eq!(step, 4);
        assert_eq!(decision.map(|d| d.wanted_bytes), Some(1000));
        // The definition, over many cases: the kept frames (every step-th, from the first)
        // fit, and one step less would not.
        for frames in 1..60usize {
            for frame_bytes in [1u64, 7, 100] {
                for limit in [frame_bytes, 3 * frame_bytes, 350, 1000] {
                    let (step, _) = plan(Path::new("x"), frame_bytes, frames, limit).unwrap();
                    let kept = |step: usize| (0..frames).step_by(step).count() as u64;
                    assert!(
                        kept(step) * frame_bytes <= limit,
                        "{frames}, {frame_bytes}, {limit}"
                    );
                    if step > 1 {
                        assert!(kept(step - 1) * frame_bytes > limit, "{frames}, {limit}");
                    }
                }
            }
        }
    }

    #[test]
    fn one_frame_over_the_limit_is_an_error() {
        assert!(matches!(
            plan(Path::new("x"), 500, 2, 100),
            Err(LoadError::FrameOverLimit { .. })
        ));
    }

    #[test]
    fn default_limit_is_positive() {
        assert!(ram_limit(&LoadOptions::default()) > 0);
    }
}
