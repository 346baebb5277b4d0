//! What a load would give, known before it runs: the load dialog's RAM estimate and preview.
//!
//! [`probe`] reads only the first frame (and the frame count: a directory listing, a header,
//! or a container's estimate for video), so it answers in milliseconds even for a large
//! source. [`estimate`] then turns the probe and any options into the loaded matrix's size
//! without touching the source again, so the dialog can update it on every keystroke.

use std::path::Path;

use super::error::LoadError;
use super::guard::{plan, ram_limit};
use super::options::{CacheChoice, FrameRange, LoadOptions};
use super::shape::{FrameGeometry, GeometryError, Shaper};
use crate::job::Job;
use crate::stack::{FrameStack, SourceKind};

/// The first frame of a source, as it is (no crop, resize or channel change), and how many
/// frames the source holds.
#[derive(Debug)]
pub struct Probe {
    pub kind: SourceKind,
    /// Frames in the source; an estimate from the container for video.
    pub frames_found: usize,
    pub geometry: FrameGeometry,
    /// A one-frame stack holding the first frame.
    pub first: FrameStack,
}

/// The matrix a load with some options would produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    pub frames_selected: usize,
    pub geometry: FrameGeometry,
    /// Bytes of the matrix before the memory guard.
    pub wanted_bytes: u64,
    pub limit_bytes: u64,
    /// The extra step the memory guard would apply (1: everything fits).
    pub extra_step: usize,
    /// Frames that would be loaded after the guard.
    pub frames_loaded: usize,
    /// The selection is over the limit and goes to the frame cache on disk instead of being
    /// thinned.
    pub to_cache: bool,
}

impl Estimate {
    pub fn loaded_bytes(&self) -> u64 {
        self.geometry.bytes() as u64 * self.frames_loaded as u64
    }
}

/// Reads the first frame and the frame count of the source at `path`.
pub fn probe(path: &Path, job: &Job) -> Result<Probe, LoadError> {
    let options = LoadOptions {
        range: FrameRange {
            start: 0,
            end: Some(1),
        },
        cache: CacheChoice::Off,
        ..LoadOptions::default()
    };
    let loaded = super::load(path, &options, job)?;
    let [_, height, width, channels] = loaded.stack.shape();
    let frames_found = loaded.report.frames_found.max(1);
    Ok(Probe {
        kind: loaded.report.kind,
        frames_found,
        geometry: FrameGeometry {
            width,
            height,
            channels,
        },
        first: loaded.stack,
    })
}

/// What loading the probed source with `options` would take; memory-mapped `.npy` files
/// are not limited by the guard but are reported the same way for comparison.
pub fn estimate(probe: &Probe, options: &LoadOptions) -> Result<Estimate, GeometryError> {
    let geometry = Shaper::new(probe.geometry, options)?.output();
    let frames_selected = options.select(probe.frames_found, 1).len();
    let frame_bytes = geometry.bytes() as u64;
    let limit_bytes = ram_limit(options);
    let cacheable = matches!(
        probe.kind,
        SourceKind::Folder | SourceKind::Tiff | SourceKind::Video
    );
    let wanted_bytes = frame_bytes.saturating_mul(frames_selected as u64);
    if cacheable && wanted_bytes > limit_bytes && options.cache.dir().is_some() {
        return Ok(Estimate {
            frames_selected,
            geometry,
            wanted_bytes,
            limit_bytes,
            extra_step: 1,
            frames_loaded: frames_selected,
            to_cache: true,
        });
    }
    let extra_step = plan(
        &probe.first.meta().source,
        frame_bytes,
        frames_selected,
        limit_bytes,
    )
    .map_or(usize::MAX, |(step, _)| step);
    let frames_loaded = if extra_step == usize::MAX {
        0
    } else {
        options.select(probe.frames_found, extra_step).len()
    };
    Ok(Estimate {
        frames_selected,
        geometry,
        wanted_bytes,
        limit_bytes,
        extra_step,
        frames_loaded,
        to_cache: false,
    })
}

/// The first frame of `path` as floats with `channels` channels: a reference image for
/// normalization, read with the same loaders as stacks.
pub fn reference_image(
    path: &Path,
    channels: usize,
    job: &Job,
) -> Result<ndarray::Array3<f32>, LoadError> {
    let options = LoadOptions {
        grayscale: channels == 1,
        range: FrameRange {
            start: 0,
            end: Some(1),
        },
        cache: CacheChoice::Off,
        ..LoadOptions::default()
    };
    let loaded = super::load(path, &options, job)?;
    Ok(loaded
        .stack
        .view()
        .index_axis(ndarray::Axis(0), 0)
        .mapv(f32::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Resize;
    use crate::stack::{ChannelOrder, StackMeta};
    use ndarray::Array4;

    fn fake_probe(frames: usize) -> Probe {
        let meta = StackMeta::new("x", SourceKind::Folder, ChannelOrder::Rgb);
        Probe {
            kind: SourceKind::Folder,
            frames_found: frames,
            geometry: FrameGeometry {
                width: 100,
                height: 50,
                channels: 3,
            },
            first: FrameStack::from_array(Array4::zeros((1, 50, 100, 3)), meta),
        }
    }

    #[test]
    fn follows_step_resize_and_grayscale() {
        let probe = fake_probe(10);
        let options = LoadOptions {
            step: 2,
            grayscale: true,
            resize: Some(Resize::Factor(0.5)),
            max_ram_bytes: Some(u64::MAX),
            ..LoadOptions::default()
        };
        let e = estimate(&probe, &options).unwrap();
        assert_eq!(e.frames_selected, 5);
        assert_eq!((e.geometry.width, e.geometry.height), (50, 25));
        assert_eq!(e.geometry.channels, 1);
        assert_eq!(e.wanted_bytes, 5 * 50 * 25);
        assert_eq!((e.extra_step, e.frames_loaded), (1, 5));
    }

    #[test]
    fn shows_what_the_guard_would_do() {
        let probe = fake_probe(10);
        let options = LoadOptions {
            max_ram_bytes: Some(3 * 100 * 50 * 3),
            cache: CacheChoice::Off,
            ..LoadOptions::default()
        };
        let e = estimate(&probe, &options).unwrap();
        assert_eq!(e.extra_step, 4);
        assert_eq!(e.frames_loaded, 3);
        assert!(e.loaded_bytes() <= e.limit_bytes);
        assert!(!e.to_cache);
        // With the cache every frame loads, to disk.
        let cached = LoadOptions {
            cache: CacheChoice::In("/some/cache".into()),
            ..options
        };
        let e = estimate(&probe, &cached).unwrap();
        assert_eq!((e.extra_step, e.frames_loaded), (1, 10));
        assert!(e.to_cache);
    }

    #[test]
    fn a_crop_outside_the_frame_is_an_error() {
        let options = LoadOptions {
            crop: Some(crate::load::Rect {
                x: 90,
                y: 0,
                width: 20,
                height: 10,
            }),
            ..LoadOptions::default()
        };
        assert!(estimate(&fake_probe(3), &options).is_err());
    }
}
