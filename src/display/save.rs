//! Writing float images (reductions, references, kymographs) to files: PNG through a display
//! mapping, TIFF and `.npy` with the `f32` values kept.

use std::path::Path;

use ndarray::{Array2, ArrayView3, Axis};

use super::{DisplayMapping, rgb_from_rgba};

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{}: unknown image type; use .png, .tif/.tiff or .npy", .0.display())]
    Extension(std::path::PathBuf),
    #[error("{}: {reason}", .path.display())]
    Write {
        path: std::path::PathBuf,
        reason: String,
    },
}

/// Saves an `h × w × c` float image; the extension picks the format. PNG uses `mapping`, or
/// [`DisplayMapping::automatic`] when none is given.
pub fn save_image(
    path: &Path,
    image: ArrayView3<f32>,
    mapping: Option<DisplayMapping>,
) -> Result<(), SaveError> {
    let err = |reason: String| SaveError::Write {
        path: path.to_path_buf(),
        reason,
    };
    let ext = path
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
                .save(path)
                .map_err(|e| err(e.to_string()))
        }
        Some("tif" | "tiff") => {
            use tiff::encoder::{TiffEncoder, colortype};
            let file = std::fs::File::create(path).map_err(|e| err(e.to_string()))?;
            let mut enc =
                TiffEncoder::new(std::io::BufWriter::new(file)).map_err(|e| err(e.to_string()))?;
            let data: Vec<f32> = image.iter().copied().collect();
            let written = if c == 1 {
                enc.write_image::<colortype::Gray32Float>(w as u32, h as u32, &data)
            } else {
                enc.write_image::<colortype::RGB32Float>(w as u32, h as u32, &data)
            };
            written.map_err(|e| err(e.to_string()))
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
        save_image(&npy, img.view(), None).unwrap();
        let back: Array2<f32> = ndarray_npy::read_npy(&npy).unwrap();
        assert_eq!(back[[2, 3]], img[[2, 3, 0]]);
        let tif = dir.path().join("r.tif");
        save_image(&tif, img.view(), None).unwrap();
        let mut dec = tiff::decoder::Decoder::new(std::fs::File::open(&tif).unwrap()).unwrap();
        match dec.read_image().unwrap() {
            tiff::decoder::DecodingResult::F32(v) => assert_eq!(v[11], img[[2, 3, 0]]),
            other => panic!(
                "expected f32 samples, got {:?}",
                std::mem::discriminant(&other)
            ),
        }
        let png = dir.path().join("r.png");
        save_image(&png, img.view(), None).unwrap();
        let decoded = image::open(&png).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (4, 3));
        assert!(save_image(&dir.path().join("r.bmp"), img.view(), None).is_err());
    }
}
