//! Analysis operations on the frame matrix: reductions, normalization, ROI time curves,
//! line profiles with envelopes and kymographs, crop and mask. Plain data in, plain data out;
//! the window and the CLI call exactly these functions.

pub mod crop;
pub mod normalize;
pub mod profile;
pub mod reduce;
pub mod roi;
pub mod shown;

pub use crop::{CropError, apply_mask, crop, intersect, mask_from_image, mask_from_shape};
pub use normalize::{NormalizeError, NormalizeSettings, Normalizer, Reference, gaussian_blur};
pub use profile::{
    Envelope, LineSpec, Sample, envelope, kymograph, kymograph_f32, profile, profile_csv,
};
pub use reduce::{ReduceError, ReduceOp, reduce, reduce_f32};
pub use roi::{Region, RoiCurve, RoiStats, Shape, curves_csv, roi_curves, roi_curves_f32};
pub use shown::{curves_shown, kymograph_shown, reduce_shown, stack_curves_csv};
