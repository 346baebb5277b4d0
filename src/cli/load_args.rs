//! Load options as command-line flags, shared by every subcommand that reads a stack.

use clap::Args;
use stackscope::load::{CacheChoice, FrameRange, LoadOptions, Rect, Resize, Scaling, parse_bytes};

#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Source frames to load, START:END (END exclusive), e.g. 100:200, 50: or :10.
    #[arg(long, value_name = "A:B")]
    pub range: Option<FrameRange>,

    /// Load every STEP-th frame of the range.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub step: u64,

    /// Load this fraction of the frames (0 < R ≤ 1), as an extra step of round(1/R).
    #[arg(long, value_name = "R", default_value_t = 1.0)]
    pub subset: f64,

    /// Crop rectangle in source pixels: X,Y,WIDTH,HEIGHT (applied before resizing).
    #[arg(long, value_name = "X,Y,W,H")]
    pub crop: Option<Rect>,

    /// Resize by a factor (0.5) or to a size (640x480), after cropping.
    #[arg(long, value_name = "F|WxH")]
    pub resize: Option<Resize>,

    /// Convert frames to one gray channel (ITU-R BT.601 luma).
    #[arg(long)]
    pub grayscale: bool,

    /// Resize frames whose size differs from the first frame's instead of failing.
    #[arg(long)]
    pub resize_to_first: bool,

    /// RAM the loaded frames may take (e.g. 512M, 8G); above it the frames go to the frame
    /// cache on disk (or, with --cache off, a frame step is chosen and reported). Default:
    /// 60% of the memory available when the load starts.
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes)]
    pub max_ram: Option<u64>,

    /// Frames over the RAM limit are decoded once into a file in the frame cache and
    /// memory-mapped: `auto` (the cache in $XDG_CACHE_HOME/stackscope/frames), a folder, or
    /// `off` (thin the frames to fit instead). Opening the same thing again maps it at once.
    #[arg(long, value_name = "auto|off|DIR", default_value_t = CacheChoice::Auto)]
    pub cache: CacheChoice,

    /// Most the frame cache may hold (e.g. 50G); older entries are evicted to stay under it.
    /// Default: half of the disk's free space plus what the cache holds.
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes)]
    pub cache_limit: Option<u64>,

    /// How wider types (16-bit TIFF, float .npy, …) become bytes.
    #[arg(long, value_parser = super::named::<Scaling>(), default_value_t = Scaling::MinMax)]
    pub scaling: Scaling,
}

impl LoadArgs {
    pub fn options(&self) -> LoadOptions {
        LoadOptions {
            range: self.range.unwrap_or_default(),
            step: usize::try_from(self.step).unwrap_or(usize::MAX),
            subset: self.subset,
            crop: self.crop,
            resize: self.resize,
            grayscale: self.grayscale,
            resize_to_first: self.resize_to_first,
            max_ram_bytes: self.max_ram,
            scaling: self.scaling,
            cache: self.cache.clone(),
            cache_limit_bytes: self.cache_limit,
        }
    }
}
