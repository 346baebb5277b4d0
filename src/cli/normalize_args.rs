//! Normalization as command-line flags, shared by every subcommand that reads frames.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use stackscope::load::FrameRange;
use stackscope::ops::{NormalizeSettings, Normalizer, ReduceOp, Reference};
use stackscope::{FrameStack, Job};

#[derive(Debug, Clone, Args)]
pub struct NormalizeArgs {
    /// Subtract the reference from every frame.
    #[arg(long, help_heading = "Normalize")]
    pub subtract: bool,

    /// Divide every frame by the reference.
    #[arg(long, help_heading = "Normalize")]
    pub divide: bool,

    /// dF/F: subtract and divide by the reference (default reference: mean of all frames).
    #[arg(long, help_heading = "Normalize")]
    pub dff: bool,

    /// How the reference aggregates its frames.
    #[arg(
        long,
        value_parser = super::named::<ReduceOp>(),
        default_value_t = ReduceOp::Mean,
        help_heading = "Normalize"
    )]
    pub ref_op: ReduceOp,

    /// Frames the reference aggregates (of the loaded frames), START:END.
    #[arg(long, value_name = "A:B", help_heading = "Normalize")]
    pub ref_range: Option<FrameRange>,

    /// Use this image file as the reference (same size as the frames).
    #[arg(long, value_name = "FILE", help_heading = "Normalize")]
    pub ref_file: Option<PathBuf>,

    /// Use a trailing sliding window of W frames as the reference.
    #[arg(long, value_name = "W", help_heading = "Normalize")]
    pub window: Option<usize>,

    /// With --window: frames between the window's end and the current frame.
    #[arg(
        long,
        value_name = "L",
        default_value_t = 0,
        help_heading = "Normalize"
    )]
    pub lag: usize,

    /// Percentage of the reference applied (0–100).
    #[arg(
        long,
        value_name = "PCT",
        default_value_t = 100.0,
        help_heading = "Normalize"
    )]
    pub amount: f32,

    /// Gaussian blur of the reference, sigma in pixels.
    #[arg(
        long,
        value_name = "SIGMA",
        default_value_t = 0.0,
        help_heading = "Normalize"
    )]
    pub ref_blur: f32,
}

impl NormalizeArgs {
    pub fn is_active(&self) -> bool {
        self.subtract || self.divide || self.dff
    }

    /// The normalizer for `stack`, or `None` when no normalization was asked for.
    pub fn normalizer(&self, stack: &FrameStack, job: &Job) -> anyhow::Result<Option<Normalizer>> {
        if !self.is_active() {
            return Ok(None);
        }
        let reference = if let Some(file) = &self.ref_file {
            let frame = stackscope::load::reference_image(file, stack.channels(), job)
                .with_context(|| format!("reading the reference {}", file.display()))?;
            Reference::Image(frame)
        } else if let Some(window) = self.window {
            Reference::SlidingWindow {
                window,
                lag: self.lag,
            }
        } else {
            Reference::Aggregate {
                op: self.ref_op,
                range: self
                    .ref_range
                    .map(|r| r.start..r.end.unwrap_or(stack.len())),
            }
        };
        let settings = NormalizeSettings {
            subtract: self.subtract || self.dff,
            divide: self.divide || self.dff,
            amount: self.amount / 100.0,
            blur_sigma: self.ref_blur,
            reference,
        };
        Ok(Some(Normalizer::new(stack.view(), settings, job)?))
    }
}
