//! Writing float images (reductions, references, kymographs) to files: PNG through a display
//! mapping, TIFF and `.npy` with the `f32` values kept.

use std::path::Path;

use ndarray::{Array2, ArrayView3, Axis};

use super::{DisplayMapping, rgb_from_rgba};
use crate::output::{Output, OutputError};

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{}: unknown image type; use .png, .tif/.tiff or .npy", .0.display())]
    Extension(std::path::PathBuf),
    #[error("{}: {reason}", .path.display())]
    Write {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Saves an `h × w × c` float image; the extension picks the format. PNG uses `mapping`, or
/// [`DisplayMapping::automatic`] when none is given. The file is written beside `path` and
/// renamed on success ([`Output`]): it may not be one of `inputs`, and an existing file is
/// replaced only with `overwrite`. Returns the bytes written.
pub fn save_image(
    path: &Path,
    image: ArrayView3<f32>,
    mapping: Option<DisplayMapping>,
    inputs: &[&Path],
    overwrite: bool,
) -> Result<u64, SaveError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("png" | "tif" | "tiff" | "npy")) {
        return Err(SaveError::Extension(path.to_path_buf()));
    }
    let out = Output::begin(path, inputs, overwrite)?;
    write_image(out.temp_path(), path, image, mapping)?;
    Ok(out.commit()?)
}

/// Writes the image to `file` in the format `named`'s extension says; errors name `named`.
fn write_image(
    file: &Path,
    named: &Path,
    image: ArrayView3<f32>,
    mapping: Option<DisplayMapping>,
) -> Result<(), SaveError> {
    let path = file;
    let err = |reason: String| SaveError::Write {
        path: named.to_path_buf(),
        reason,
    };
    let ext = named
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let (h, w, c) = image.dim();
    match ext.as_deref() {
        Some("png") => {
            let mapping = mapping.unwrap_or_else(|| DisplayMapping::automatic(image));
            let rgb = rgb_from_rgba(&mapping.rgba_from_f32(image));
            image::RgbImage::from_raw(w as u32, h as u32, rgb)
                .ok_or_else(|| err("image buffer has the wrong size".into()))?
                .save_with_format(path, image::ImageFormat::Png)
                .map_err(|e| err(e.to_string()))
        }
        Some("tif" | "tiff") => {
            use tiff::encoder::{TiffEncoder, colortype};
            // Encoded in memory (a result image is small) so that a write error is seen,
            // not lost in a buffered writer's drop.
            let mut buffer = std::io::Cursor::new(Vec::new());
            {
                let mut enc = TiffEncoder::new(&mut buffer).map_err(|e| err(e.to_string()))?;
                let data: Vec<f32> = image.iter().copied().collect();
                let written = if c == 1 {
                    enc.write_image::<colortype::Gray32Float>(w as u32, h as u32, &data)
                } else {
                    enc.write_image::<colortype::RGB32Float>(w as u32, h as u32, &data)
                };
                written.map_err(|e| err(e.to_string()))?;
            }
            std::fs::write(path, buffer.into_inner()).map_err(|e| err(e.to_string()))
        }
        Some("npy") => {
            let result = if c == 1 {
                let plane: Array2<f32> = image.index_axis(Axis(2), 0).to_owned();
                ndarray_npy::write_npy(path, &plane)
            } else {
                ndarray_npy::write_npy(path, &image.to_owned())
            };
            result.map_err(|e| err(e.to_string()))
        }
        _ => Err(SaveError::Extension(path.to_path_buf())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn each_format_round_trips_or_maps() {
        let dir = tempfile::tempdir().unwrap();
        let img = Array3::from_shape_fn((3, 4, 1), |(y, x, _)| (y * 4 + x) as f32 * 0.5 - 1.0);
        let npy = dir.path().join("r.npy");
        save_image(&npy, img.view(), None, &[], false).unwrap();
        let back: Array2<f32> = ndarray_npy::read_npy(&npy).unwrap();
        assert_eq!(back[[2, 3]], img[[2, 3, 0]]);
        let tif = dir.path().join("r.tif");
        save_image(&tif, img.view(), None, &[], false).unwrap();
        let mut dec = tiff::decoder::Decoder::new(std::fs::File::open(&tif).unwrap()).unwrap();
        match dec.read_image().unwrap() {
            tiff::decoder::DecodingResult::F32(v) => assert_eq!(v[11], img[[2, 3, 0]]),
            other => panic!(
                "expected f32 samples, got {:?}",
                std::mem::discriminant(&other)
            ),
        }
        let png = dir.path().join("r.png");
        save_image(&png, img.view(), None, &[], false).unwrap();
        let decoded = image::open(&png).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (4, 3));
        assert!(save_image(&dir.path().join("r.bmp"), img.view(), None, &[], true).is_err());
        // An existing file needs `overwrite`; a refused or failed save leaves it as it was.
        let before = std::fs::read(&png).unwrap();
        assert!(matches!(
            save_image(&png, img.view(), None, &[], false),
            Err(SaveError::Output(OutputError::Exists { .. }))
        ));
        assert!(matches!(
            save_image(&png, img.view(), None, &[&png], true),
            Err(SaveError::Output(OutputError::SameAsInput { .. }))
        ));
        assert_eq!(std::fs::read(&png).unwrap(), before);
    }
}
