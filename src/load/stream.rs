//! A folder of images as a lazily decoded [`FrameSource`]: the exporter reads one frame at a
//! time, so memory stays flat however many files the folder holds.

use std::path::{Path, PathBuf};

use ndarray::{Array3, ArrayView3};

use super::error::LoadError;
use super::folder::list_images;
use super::image_file::{self, Decoded};
use super::options::LoadOptions;
use super::shape::{FitError, FrameGeometry, Shaper};
use crate::source::{FrameSource, SourceError};

/// The selected images of a folder, decoded on demand with the load options applied.
#[derive(Debug)]
pub struct FolderStream {
    files: Vec<PathBuf>,
    shaper: Shaper,
    options: LoadOptions,
    frame: Array3<u8>,
}

impl FolderStream {
    /// Lists and selects the images of `dir` and decodes the first to fix the geometry.
    /// The memory guard does not apply: only one frame is ever held.
    pub fn open(dir: &Path, options: &LoadOptions) -> Result<Self, LoadError> {
        options.validate().map_err(LoadError::Options)?;
        let (all, _) = list_images(dir)?;
        let files: Vec<PathBuf> = options
            .select(all.len(), 1)
            .iter()
            .map(|i| all[i].clone())
            .collect();
        let first = files.first().ok_or_else(|| LoadError::EmptySelection {
            path: dir.to_path_buf(),
            found: all.len(),
        })?;
        let decoded = image_file::decode(first, options.grayscale).map_err(|reason| {
            LoadError::NothingDecoded {
                path: dir.to_path_buf(),
                tried: 1,
                first: reason,
            }
        })?;
        let shaper =
            Shaper::new(decoded.geometry, options).map_err(|cause| LoadError::Geometry {
                path: first.clone(),
                cause,
            })?;
        let out = shaper.output();
        Ok(Self {
            files,
            shaper,
            options: options.clone(),
            frame: Array3::zeros((out.height, out.width, out.channels)),
        })
    }

    fn shape_into_frame(&mut self, decoded: &Decoded, index: usize) -> Result<(), SourceError> {
        let frame_err = |reason: String| SourceError::Frame { index, reason };
        let view = decoded
            .view()
            .ok_or_else(|| frame_err("decoder returned a short buffer".into()))?;
        let source = self.shaper.source();
        self.shaper
            .apply_fitting(view, self.options.resize_to_first, self.frame.view_mut())
            .map_err(|e| match e {
                FitError::OddSize { width, height } => frame_err(format!(
                    "{} is {width}×{height} but the first frame is {}×{}; resizing every frame to the first one's size loads them together",
                    self.files[index].display(),
                    source.width,
                    source.height
                )),
                FitError::Geometry(e) => frame_err(e.to_string()),
            })
    }
}

impl FrameSource for FolderStream {
    fn len(&self) -> usize {
        self.files.len()
    }

    fn geometry(&self) -> FrameGeometry {
        self.shaper.output()
    }

    fn fps(&self) -> Option<f64> {
        None
    }

    fn with_frame(
        &mut self,
        index: usize,
        use_frame: &mut dyn FnMut(ArrayView3<u8>),
    ) -> Result<(), SourceError> {
        let path = self.files.get(index).ok_or(SourceError::OutOfRange {
            index,
            len: self.files.len(),
        })?;
        let decoded = image_file::decode(path, self.options.grayscale).map_err(|reason| {
            SourceError::Frame {
                index,
                reason: format!("{}: {reason}", path.display()),
            }
        })?;
        self.shape_into_frame(&decoded, index)?;
        use_frame(self.frame.view());
        Ok(())
    }
}
