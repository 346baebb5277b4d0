//! Analysis operations on the frame matrix: reductions, normalization, ROI time curves,
//! line profiles with envelopes and kymographs, crop and mask. Plain data in, plain data out;
//! the window and the CLI call exactly these functions.

pub mod normalize;
pub mod reduce;
pub mod roi;

pub use normalize::{NormalizeError, NormalizeSettings, Normalizer, Reference, gaussian_blur};
pub use reduce::{ReduceError, ReduceOp, reduce};
pub use roi::{Region, RoiCurve, RoiStats, Shape, curves_csv, roi_curves};
