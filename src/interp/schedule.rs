//! Which frame comes out at each output index when blending between consecutive frames.
//!
//! For `n` source frames and `steps = k`, every pair (a, b) emits a, then k blends with
//! weight t = j/(k+1) · intensity for j = 1..k; the last source frame closes the sequence.
//! That is `n + (n−1)·k` frames. Weights are integers out of 256 so that every blender (CPU,
//! GPU) computes exactly `(a·(256−w) + b·w + 128) >> 8`.

use serde::Serialize;

/// The largest number of in-between frames per pair.
pub const MAX_STEPS: usize = 200;

/// One output frame: source frame `a` alone (`weight == 0`), or a blend towards `a + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub a: usize,
    /// 0..=256: how much of frame `a + 1` is mixed in.
    pub weight: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BlendSchedule {
    pub sources: usize,
    pub steps: usize,
    pub intensity: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    #[error("{0} interpolation steps asked for; the most is {MAX_STEPS}")]
    TooManySteps(usize),
    #[error("intensity {0} must be between 0 and 1")]
    Intensity(f64),
    #[error("there are no frames to export")]
    Empty,
}

impl BlendSchedule {
    pub fn new(sources: usize, steps: usize, intensity: f64) -> Result<Self, ScheduleError> {
        if steps > MAX_STEPS {
            return Err(ScheduleError::TooManySteps(steps));
        }
        if !(0.0..=1.0).contains(&intensity) {
            return Err(ScheduleError::Intensity(intensity));
        }
        if sources == 0 {
            return Err(ScheduleError::Empty);
        }
        Ok(Self {
            sources,
            steps,
            intensity,
        })
    }

    /// Number of output frames: `n + (n−1)·k`.
    pub fn len(&self) -> usize {
        self.sources + (self.sources - 1) * self.steps
    }

    pub fn is_empty(&self) -> bool {
        self.sources == 0
    }

    /// The weight of in-between frame `j` (1..=k) of a pair, out of 256.
    pub fn weight(&self, j: usize) -> u16 {
        let t = j as f64 / (self.steps + 1) as f64 * self.intensity;
        (t * 256.0).round().clamp(0.0, 256.0) as u16
    }

    /// What output frame `index` is.
    pub fn step(&self, index: usize) -> Step {
        let per_pair = self.steps + 1;
        let a = (index / per_pair).min(self.sources - 1);
        let j = if a == self.sources - 1 {
            0
        } else {
            index % per_pair
        };
        Step {
            a,
            weight: if j == 0 { 0 } else { self.weight(j) },
        }
    }

    /// The expected value of a blend of two constant frames (for tests and docs).
    pub fn blend_value(a: u8, b: u8, weight: u16) -> u8 {
        blend_byte(a, b, weight)
    }
}

/// The one blend formula every blender implements.
#[inline(always)]
pub fn blend_byte(a: u8, b: u8, weight: u16) -> u8 {
    ((u32::from(a) * u32::from(256 - weight) + u32::from(b) * u32::from(weight) + 128) >> 8) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_order() {
        let s = BlendSchedule::new(3, 2, 1.0).unwrap();
        assert_eq!(s.len(), 3 + 2 * 2);
        let steps: Vec<(usize, u16)> = (0..s.len())
            .map(|i| (s.step(i).a, s.step(i).weight))
            .collect();
        assert_eq!(
            steps,
            vec![(0, 0), (0, 85), (0, 171), (1, 0), (1, 85), (1, 171), (2, 0)]
        );
    }

    #[test]
    fn zero_steps_and_zero_intensity() {
        let s = BlendSchedule::new(4, 0, 1.0).unwrap();
        assert_eq!(s.len(), 4);
        assert!((0..4).all(|i| s.step(i) == Step { a: i, weight: 0 }));
        let s = BlendSchedule::new(2, 3, 0.0).unwrap();
        assert!((0..s.len()).all(|i| s.step(i).weight == 0));
        assert_eq!(s.step(4).a, 1);
    }

    #[test]
    fn indices_past_the_end_stay_on_the_last_frame() {
        // A preview asking past the end (a slider at its maximum after the range shrank)
        // gets the last source frame, never a frame that does not exist.
        let s = BlendSchedule::new(3, 2, 1.0).unwrap();
        for index in [s.len(), s.len() + 1, s.len() + 3, 10 * s.len()] {
            assert_eq!(s.step(index), Step { a: 2, weight: 0 }, "index {index}");
        }
    }

    #[test]
    fn bad_parameters() {
        assert_eq!(
            BlendSchedule::new(2, 201, 1.0),
            Err(ScheduleError::TooManySteps(201))
        );
        assert!(BlendSchedule::new(2, 1, 1.5).is_err());
        assert_eq!(BlendSchedule::new(0, 1, 1.0), Err(ScheduleError::Empty));
        assert_eq!(BlendSchedule::new(1, 50, 1.0).map(|s| s.len()), Ok(1));
    }

    #[test]
    fn blend_formula_endpoints() {
        assert_eq!(blend_byte(40, 200, 0), 40);
        assert_eq!(blend_byte(40, 200, 256), 200);
        assert_eq!(blend_byte(40, 200, 128), 120);
        assert_eq!(blend_byte(255, 255, 77), 255);
    }
}
