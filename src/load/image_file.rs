//! Decoding one image file into bytes: JPEG through zune-jpeg (which can decode only the luma
//! plane when gray output is wanted: no chroma upsampling, no colour conversion), everything
//! else through the `image` crate.

use std::path::Path;

use image::{DynamicImage, ImageReader};
use ndarray::ArrayView3;
use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use super::shape::FrameGeometry;

/// One decoded image, 1 or 3 interleaved channels.
#[derive(Debug)]
pub struct Decoded {
    pub geometry: FrameGeometry,
    pub pixels: Vec<u8>,
}

impl Decoded {
    pub fn view(&self) -> Option<ArrayView3<'_, u8>> {
        let g = self.geometry;
        ArrayView3::from_shape((g.height, g.width, g.channels), &self.pixels).ok()
    }
}

pub fn is_jpeg(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"))
}

/// Decodes `path`; `prefer_gray` lets decoders that can produce luma directly do so.
/// Errors are human-readable reasons for the load report.
pub fn decode(path: &Path, prefer_gray: bool) -> Result<Decoded, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if bytes.is_empty() {
        return Err("empty file (0 bytes)".into());
    }
    // A decoder that panics on this file skips it like one that refuses it.
    std::panic::catch_unwind(|| {
        if is_jpeg(path) {
            decode_jpeg(&bytes, prefer_gray)
        } else {
            decode_other(&bytes)
        }
    })
    .unwrap_or_else(|payload| {
        Err(format!(
            "the decoder failed on this file: {}",
            super::panic_message(payload.as_ref())
        ))
    })
}

fn decode_jpeg(bytes: &[u8], prefer_gray: bool) -> Result<Decoded, String> {
    // Strict mode turns a truncated scan into an error instead of a silently gray frame.
    let strict = DecoderOptions::default().set_strict_mode(true);
    let mut probe = JpegDecoder::new_with_options(ZCursor::new(bytes), strict);
    probe.decode_headers().map_err(|e| format!("JPEG: {e:?}"))?;
    let input = probe.input_colorspace().unwrap_or(ColorSpace::RGB);
    let gray_out = prefer_gray || matches!(input, ColorSpace::Luma);
    let out = if gray_out {
        ColorSpace::Luma
    } else {
        ColorSpace::RGB
    };
    let mut decoder =
        JpegDecoder::new_with_options(ZCursor::new(bytes), strict.jpeg_set_out_colorspace(out));
    let pixels = decoder.decode().map_err(|e| format!("JPEG: {e:?}"))?;
    let info = decoder.info().ok_or("JPEG: no image information")?;
    let geometry = FrameGeometry {
        width: usize::from(info.width),
        height: usize::from(info.height),
        channels: if gray_out { 1 } else { 3 },
    };
    if pixels.len() != geometry.bytes() {
        return Err(format!(
            "JPEG: decoded {} bytes for a {}×{}×{} image",
            pixels.len(),
            geometry.width,
            geometry.height,
            geometry.channels
        ));
    }
    Ok(Decoded { geometry, pixels })
}

fn decode_other(bytes: &[u8]) -> Result<Decoded, String> {
    let image = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .decode()
        .map_err(|e| e.to_string())?;
    let (width, height) = (image.width() as usize, image.height() as usize);
    let (channels, pixels) = match image {
        DynamicImage::ImageLuma8(b) => (1, b.into_raw()),
        DynamicImage::ImageRgb8(b) => (3, b.into_raw()),
        // Wider or alpha formats: the image crate scales 16-bit to 8-bit (x/257).
        other if other.color().has_color() => (3, other.to_rgb8().into_raw()),
        other => (1, other.to_luma8().into_raw()),
    };
    Ok(Decoded {
        geometry: FrameGeometry {
            width,
            height,
            channels,
        },
        pixels,
    })
}
