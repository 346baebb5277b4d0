//! Crop (frame range and rectangle, as zero-copy views) and masks (from a region or a binary
//! image). Masked-out pixels are left out of ROI curves and become NaN in reductions.

use std::ops::Range;
use std::path::Path;

use ndarray::{Array2, Array3, ArrayView4, Zip, s};

use super::roi::{Region, Shape};
use crate::load::Rect;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CropError {
    #[error("frame range {start}..{end} is empty or past the {frames} frames")]
    Range {
        start: usize,
        end: usize,
        frames: usize,
    },
    #[error("crop {x},{y},{w},{h} reaches outside the {fw}×{fh} frame", x = .rect.x, y = .rect.y, w = .rect.width, h = .rect.height, fw = .width, fh = .height)]
    Outside {
        rect: Rect,
        width: usize,
        height: usize,
    },
    #[error("{path}: {reason}")]
    MaskImage { path: String, reason: String },
}

/// A window of `stack`: frames `range`, pixels `rect`. No copy.
pub fn crop<'a>(
    stack: ArrayView4<'a, u8>,
    range: Option<Range<usize>>,
    rect: Option<Rect>,
) -> Result<ArrayView4<'a, u8>, CropError> {
    let [n, h, w] = [stack.shape()[0], stack.shape()[1], stack.shape()[2]];
    let range = range.unwrap_or(0..n);
    if range.start >= range.end || range.end > n {
        return Err(CropError::Range {
            start: range.start,
            end: range.end,
            frames: n,
        });
    }
    let rect = rect.unwrap_or(Rect {
        x: 0,
        y: 0,
        width: w,
        height: h,
    });
    if rect.x + rect.width > w || rect.y + rect.height > h || rect.width == 0 || rect.height == 0 {
        return Err(CropError::Outside {
            rect,
            width: w,
            height: h,
        });
    }
    Ok(stack.slice_move(s![
        range,
        rect.y..rect.y + rect.height,
        rect.x..rect.x + rect.width,
        ..
    ]))
}

/// A mask (true = kept) from a region drawn on a `width × height` image.
pub fn mask_from_shape(shape: &Shape, width: usize, height: usize) -> Array2<bool> {
    Region::new(shape, width, height, None).to_mask(width, height)
}

/// A mask from a binary image file of the frames' size: non-zero (after conversion to gray)
/// is kept.
pub fn mask_from_image(
    path: &Path,
    width: usize,
    height: usize,
) -> Result<Array2<bool>, CropError> {
    let err = |reason: String| CropError::MaskImage {
        path: path.display().to_string(),
        reason,
    };
    let img = image::open(path)
        .map_err(|e| err(e.to_string()))?
        .to_luma8();
    if (img.width() as usize, img.height() as usize) != (width, height) {
        return Err(err(format!(
            "the mask is {}×{} but frames are {width}×{height}",
            img.width(),
            img.height()
        )));
    }
    Ok(Array2::from_shape_fn((height, width), |(y, x)| {
        img.get_pixel(x as u32, y as u32)[0] > 0
    }))
}

/// Sets the pixels a mask leaves out to NaN in a reduction result.
pub fn apply_mask(image: &mut Array3<f32>, mask: &Array2<bool>) {
    for (mut column, &keep) in image
        .lanes_mut(ndarray::Axis(2))
        .into_iter()
        .zip(mask.iter())
    {
        if !keep {
            column.fill(f32::NAN);
        }
    }
}

/// Keeps only pixels both masks keep.
pub fn intersect(a: &Array2<bool>, b: &Array2<bool>) -> Array2<bool> {
    let mut out = a.clone();
    Zip::from(&mut out).and(b).for_each(|o, &k| *o = *o && k);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;

    #[test]
    fn crop_is_a_view_with_the_right_origin() {
        let stack =
            Array4::from_shape_fn((5, 6, 7, 1), |(t, y, x, _)| (t * 100 + y * 10 + x) as u8);
        let v = crop(
            stack.view(),
            Some(1..4),
            Some(Rect {
                x: 2,
                y: 3,
                width: 4,
                height: 2,
            }),
        )
        .unwrap();
        assert_eq!(v.shape(), &[3, 2, 4, 1]);
        assert_eq!(v[[0, 0, 0, 0]], 132);
        assert!(crop(stack.view(), Some(3..9), None).is_err());
        assert!(
            crop(
                stack.view(),
                None,
                Some(Rect {
                    x: 5,
                    y: 0,
                    width: 3,
                    height: 1
                })
            )
            .is_err()
        );
    }

    #[test]
    fn masks_from_images_and_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.png");
        let mut img = image::GrayImage::new(4, 3);
        img.put_pixel(1, 2, image::Luma([255]));
        img.save(&p).unwrap();
        let m = mask_from_image(&p, 4, 3).unwrap();
        assert_eq!(m.iter().filter(|&&k| k).count(), 1);
        assert!(m[[2, 1]]);
        assert!(mask_from_image(&p, 5, 3).is_err());
        let r = mask_from_shape(
            &Shape::Rect {
                x: 0.0,
                y: 0.0,
                width: 2.0,
                height: 3.0,
            },
            4,
            3,
        );
        assert_eq!(intersect(&m, &r).iter().filter(|&&k| k).count(), 1);
        let mut image = Array3::from_elem((3, 4, 2), 1.0f32);
        apply_mask(&mut image, &m);
        assert_eq!(image.iter().filter(|v| v.is_nan()).count(), 22);
        assert_eq!(image[[2, 1, 1]], 1.0);
    }
}
