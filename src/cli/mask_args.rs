//! Masks as command-line flags, shared by every subcommand that reads frames.

use std::path::PathBuf;

use clap::Args;
use stackscope::FrameStack;
use stackscope::ops::{self, Shape};

#[derive(Debug, Clone, Args)]
pub struct MaskArgs {
    /// Binary mask image of the frames' size: pixels that are 0 are masked out (NaN in
    /// reductions, left out of ROI curves, the lowest colour in exports).
    #[arg(long, value_name = "FILE")]
    pub mask: Option<PathBuf>,

    /// Keep only pixels inside a shape: rect:X,Y,W,H, ellipse:CX,CY,RX,RY, polygon:X,Y,…
    #[arg(long, value_name = "SHAPE")]
    pub mask_shape: Option<Shape>,
}

impl MaskArgs {
    pub fn is_set(&self) -> bool {
        self.mask.is_some() || self.mask_shape.is_some()
    }

    /// The mask for `stack` (true = kept); both flags give their intersection.
    pub fn mask(&self, stack: &FrameStack) -> anyhow::Result<Option<ndarray::Array2<bool>>> {
        let (w, h) = (stack.width(), stack.height());
        let from_file = self
            .mask
            .as_ref()
            .map(|p| ops::mask_from_image(p, w, h))
            .transpose()?;
        let from_shape = self
            .mask_shape
            .as_ref()
            .map(|s| ops::mask_from_shape(s, w, h));
        Ok(match (from_file, from_shape) {
            (Some(a), Some(b)) => Some(ops::intersect(&a, &b)),
            (a, b) => a.or(b),
        })
    }
}
