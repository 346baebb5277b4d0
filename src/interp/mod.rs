//! Interpolation between consecutive frames: the blend schedule, YUV 4:2:0 frames, and the
//! blenders that mix two frames with an integer weight.
//!
//! A [`Blender`] holds one pair of source frames at a time ([`Blender::set_pair`]) and
//! produces any number of blends of it ([`Blender::blend_into`]); a GPU implementation keeps
//! the pair resident on the device between calls. Every blender computes exactly
//! `(a·(256−w) + b·w + 128) >> 8` per byte.

pub mod choice;
pub mod cpu;
pub mod gpu;
pub mod schedule;
pub mod yuv;

use std::sync::Arc;

pub use choice::{BlendDevice, Choice, Converter, choose};
pub use cpu::CpuBlender;
pub use gpu::{GpuBlender, GpuContext, GpuError};
pub use schedule::{BlendSchedule, MAX_STEPS, ScheduleError, Step, blend_byte};
pub use yuv::{Region, Yuv420, even_size};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlendError {
    #[error("blend asked for before a pair of frames was set")]
    NoPair,
    #[error("the frames to blend differ in size")]
    SizeMismatch,
    #[error("blend weight {0} is above 256")]
    Weight(u16),
    #[error("the blender failed: {0}")]
    Device(String),
}

/// Three writable 4:2:0 planes with their row strides in bytes: a [`Yuv420`] frame, or an
/// encoder's own picture buffer, so blends land where they are consumed without a copy.
pub struct PlanesMut<'a> {
    pub width: usize,
    pub height: usize,
    /// Y, U, V; each at least `stride × rows` long.
    pub planes: [&'a mut [u8]; 3],
    pub strides: [usize; 3],
}

impl PlanesMut<'_> {
    /// Width and height of plane `p` in samples.
    pub fn plane_size(&self, p: usize) -> (usize, usize) {
        if p == 0 {
            (self.width, self.height)
        } else {
            (self.width / 2, self.height / 2)
        }
    }
}

/// Mixes two frames of equal size.
pub trait Blender: Send {
    /// Which implementation runs, for reports ("cpu", an adapter name).
    fn name(&self) -> String;
    /// Makes (a, b) the pair that following blends mix.
    fn set_pair(&mut self, a: Arc<Yuv420>, b: Arc<Yuv420>) -> Result<(), BlendError>;
    /// Announces the weights the next `blend_into` calls will ask for, in order, so that a
    /// device blender can start the next blend while one is read back. Optional.
    fn prefetch(&mut self, _weights: &[u16]) {}
    /// Writes the blend with `weight` (0 = a, 256 = b) into `out`.
    fn blend_into(&mut self, weight: u16, out: &mut PlanesMut) -> Result<(), BlendError>;
}
