//! Images onto the GPU within its texture limit: wgpu refuses a texture with a side above
//! the device's maximum (8192 on many adapters), and egui would panic on the refusal. Images
//! past the limit are shrunk by a whole factor (box average), so a 9000-frame kymograph or a
//! 12k-pixel-wide frame shows, downscaled, instead of crashing the window.

use eframe::egui::{self, ColorImage};

/// The largest texture side this context's renderer takes.
pub fn max_side(ctx: &egui::Context) -> usize {
    ctx.input(|i| i.max_texture_side).max(1)
}

/// The whole factor an image of `size` must shrink by to fit `max_side` (1: as it is).
pub fn shrink_factor(size: [usize; 2], max_side: usize) -> usize {
    let longest = size[0].max(size[1]);
    longest.div_ceil(max_side.max(1)).max(1)
}

/// `image` shrunk by `factor` in both directions, each pixel the average of its block
/// (partial blocks at the edges average what they have).
pub fn shrink(image: &ColorImage, factor: usize) -> ColorImage {
    if factor <= 1 {
        return image.clone();
    }
    let [w, h] = image.size;
    let (sw, sh) = (w.div_ceil(factor), h.div_ceil(factor));
    let mut sums = vec![[0u32; 4]; sw * sh];
    let mut counts = vec![0u32; sw * sh];
    for y in 0..h {
        let row = &image.pixels[y * w..(y + 1) * w];
        let out_row = (y / factor) * sw;
        for (x, p) in row.iter().enumerate() {
            let i = out_row + x / factor;
            for (s, v) in sums[i].iter_mut().zip(p.to_array()) {
                *s += u32::from(v);
            }
            counts[i] += 1;
        }
    }
    let pixels = sums
        .iter()
        .zip(&counts)
        .map(|(s, &n)| {
            let n = n.max(1);
            let avg = |v: u32| ((v + n / 2) / n) as u8;
            egui::Color32::from_rgba_premultiplied(avg(s[0]), avg(s[1]), avg(s[2]), avg(s[3]))
        })
        .collect();
    ColorImage::new([sw, sh], pixels)
}

/// `image` as it is, or shrunk to fit the renderer's limit; the factor says which.
pub fn fit(ctx: &egui::Context, image: ColorImage) -> (ColorImage, usize) {
    let factor = shrink_factor(image.size, max_side(ctx));
    if factor == 1 {
        (image, 1)
    } else {
        (shrink(&image, factor), factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::Color32;

    #[test]
    fn factors_fit_the_limit() {
        assert_eq!(shrink_factor([640, 480], 8192), 1);
        assert_eq!(shrink_factor([8192, 10], 8192), 1);
        assert_eq!(shrink_factor([8193, 10], 8192), 2);
        assert_eq!(shrink_factor([64, 9000], 8192), 2);
        assert_eq!(shrink_factor([30000, 100], 8192), 4);
        for size in [[8193, 1], [64, 9000], [20000, 20000], [16385, 3]] {
            let f = shrink_factor(size, 8192);
            assert!(size[0].div_ceil(f) <= 8192 && size[1].div_ceil(f) <= 8192);
        }
    }

    #[test]
    fn shrinking_averages_blocks_by_hand() {
        // 3×2 pixels, factor 2: blocks {0,1,3,4} and {2,5} (a partial block at the edge).
        let v = [0u8, 10, 20, 30, 40, 50];
        let pixels = v.iter().map(|&g| Color32::from_gray(g)).collect();
        let image = ColorImage::new([3, 2], pixels);
        let small = shrink(&image, 2);
        assert_eq!(small.size, [2, 1]);
        // (0 + 10 + 30 + 40) / 4 = 20; (20 + 50) / 2 = 35.
        assert_eq!(small.pixels[0], Color32::from_gray(20));
        assert_eq!(small.pixels[1], Color32::from_gray(35));
    }
}
