//! Display mapping (levels, colormap) as command-line flags.

use clap::Args;
use stackscope::display::{Colormap, DisplayMapping};

/// How a float image becomes a PNG.
#[derive(Debug, Clone, Args)]
pub struct MappingArgs {
    /// Colormap for PNG output of single-channel results (default: gray, or diverging for
    /// signed data).
    #[arg(long, value_parser = super::named::<Colormap>())]
    pub colormap: Option<Colormap>,
    /// Value shown black in PNG output (default: the data's minimum).
    #[arg(long)]
    pub min: Option<f32>,
    /// Value shown white in PNG output (default: the data's maximum).
    #[arg(long)]
    pub max: Option<f32>,
    /// Auto-contrast PNG output, saturating this percentage of pixels (Fiji uses 0.35).
    #[arg(long, value_name = "PCT")]
    pub auto_contrast: Option<f64>,
}

impl MappingArgs {
    /// The mapping for `image`: automatic, then the user's choices on top.
    pub fn mapping(&self, image: ndarray::ArrayView3<f32>) -> DisplayMapping {
        let m = DisplayMapping::automatic(image);
        self.apply(m, image)
    }

    /// True when the user asked for anything beyond the defaults.
    pub fn is_set(&self) -> bool {
        self.colormap.is_some()
            || self.min.is_some()
            || self.max.is_some()
            || self.auto_contrast.is_some()
    }

    /// The user's choices on top of `m`; `image` serves auto-contrast.
    pub fn apply(&self, mut m: DisplayMapping, image: ndarray::ArrayView3<f32>) -> DisplayMapping {
        if let Some(pct) = self.auto_contrast {
            let (lo, hi) = stackscope::display::Histogram::of_f32(image, 1024).auto_contrast(pct);
            (m.min, m.max) = (lo, hi);
        }
        self.fixed_choices(m)
    }

    /// Colormap and explicit levels on top of `m` (auto-contrast left to the caller).
    pub fn fixed_choices(&self, mut m: DisplayMapping) -> DisplayMapping {
        if let Some(c) = self.colormap {
            m.colormap = c;
        }
        m.min = self.min.unwrap_or(m.min);
        m.max = self.max.unwrap_or(m.max);
        m
    }
}
