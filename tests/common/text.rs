//! Frames with rendered text, for the OCR tests and the OCR benchmark clip: light text on a
//! dark picture, drawn with a font that ships inside a crate (egui's Ubuntu Light), so the
//! fixtures need nothing installed.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

/// `width × height` RGB bytes: a dim diagonal gradient (so the frame is not flat) with each
/// of `lines` centred horizontally, the last line's baseline near the bottom like a subtitle.
pub fn subtitle_frame(width: usize, height: usize, lines: &[&str], px: f32) -> Vec<u8> {
    let mut rgb = vec![0u8; width * height * 3];
    for y in 0..height {
        for x in 0..width {
            let v = (20 + (x + y) * 40 / (width + height)) as u8;
            let i = (y * width + x) * 3;
            rgb[i..i + 3].copy_from_slice(&[v, v / 2 + 10, v + 10]);
        }
    }
    let font = FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT).expect("bundled font");
    let scaled = font.as_scaled(PxScale::from(px));
    let line_height = scaled.height() + scaled.line_gap();
    let bottom = height as f32 - px * 0.8;
    for (k, line) in lines.iter().enumerate() {
        let baseline = bottom - (lines.len() - 1 - k) as f32 * line_height;
        let advance: f32 = line
            .chars()
            .map(|c| scaled.h_advance(font.glyph_id(c)))
            .sum();
        let mut pen = (width as f32 - advance) / 2.0;
        for c in line.chars() {
            let id = font.glyph_id(c);
            let glyph = id.with_scale_and_position(px, ab_glyph::point(pen, baseline));
            pen += scaled.h_advance(id);
            let Some(outlined) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                let x = bounds.min.x as i64 + i64::from(gx);
                let y = bounds.min.y as i64 + i64::from(gy);
                if x < 0 || y < 0 || x >= width as i64 || y >= height as i64 {
                    return;
                }
                let i = (y as usize * width + x as usize) * 3;
                for c in 0..3 {
                    let old = f32::from(rgb[i + c]);
                    rgb[i + c] = (old + (250.0 - old) * coverage.min(1.0)) as u8;
                }
            });
        }
    }
    rgb
}
