//! YUV 4:2:0 frames (the encoder's format) and the conversion into them, done once per
//! source frame: blending is linear, so blending YUV planes equals converting blended RGB
//! (up to rounding), and each output frame then costs one pass over 1.5 bytes per pixel.
//!
//! Colours follow ITU-R BT.601 in limited range (Y 16–235, chroma 16–240), the matrix x264
//! and every player assume for SD-style `yuv420p` when the stream is tagged `smpte170m`.

use ndarray::ArrayView3;
use rayon::prelude::*;

use crate::stack::row_bytes;

/// Three planes in one buffer: Y (`w × h`), then U and V (`w/2 × h/2` each). Even sizes only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Yuv420 {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl Yuv420 {
    /// A black frame; `width` and `height` must be even (see [`even_size`]).
    pub fn new(width: usize, height: usize) -> Self {
        debug_assert!(width.is_multiple_of(2) && height.is_multiple_of(2));
        let mut data = vec![128u8; width * height * 3 / 2];
        data[..width * height].fill(16);
        Self {
            width,
            height,
            data,
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// All three planes, Y then U then V.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// (Y, U, V) planes.
    pub fn planes(&self) -> (&[u8], &[u8], &[u8]) {
        let luma = self.width * self.height;
        let (y, uv) = self.data.split_at(luma);
        let (u, v) = uv.split_at(luma / 4);
        (y, u, v)
    }

    /// The planes as a [`PlanesMut`] (strides equal to the plane widths).
    pub fn as_planes_mut(&mut self) -> super::PlanesMut<'_> {
        let (width, height) = (self.width, self.height);
        let (y, u, v) = self.planes_mut();
        super::PlanesMut {
            width,
            height,
            planes: [y, u, v],
            strides: [width, width / 2, width / 2],
        }
    }

    /// Copies this frame into `out` (same size), row by row when the strides differ.
    pub fn copy_into(&self, out: &mut super::PlanesMut) {
        let (y, u, v) = self.planes();
        for (p, src) in [y, u, v].into_iter().enumerate() {
            let (w, h) = out.plane_size(p);
            let stride = out.strides[p];
            for (row, src_row) in src.chunks_exact(w).take(h).enumerate() {
                out.planes[p][row * stride..row * stride + w].copy_from_slice(src_row);
            }
        }
    }

    pub(crate) fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let luma = self.width * self.height;
        let (y, uv) = self.data.split_at_mut(luma);
        let (u, v) = uv.split_at_mut(luma / 4);
        (y, u, v)
    }

    /// Fills the frame from an `h × w × c` image (c = 1 or 3, at least this frame's size;
    /// an odd last row or column of the image is left out).
    pub fn fill_from(&mut self, image: ArrayView3<u8>) {
        let w = self.width;
        let channels = image.shape()[2];
        let (y_plane, u_plane, v_plane) = self.planes_mut();
        // Rows in pairs: one chroma row per two luma rows.
        y_plane
            .par_chunks_mut(2 * w)
            .zip(u_plane.par_chunks_mut(w / 2))
            .zip(v_plane.par_chunks_mut(w / 2))
            .enumerate()
            .for_each(|(pair, ((y_rows, u_row), v_row))| {
                let (y_top, y_bottom) = y_rows.split_at_mut(w);
                let top = row_bytes(image, 2 * pair);
                let bottom = row_bytes(image, 2 * pair + 1);
                if channels == 1 {
                    for (out, &v) in y_top.iter_mut().zip(top.iter()) {
                        *out = luma_from_gray(v);
                    }
                    for (out, &v) in y_bottom.iter_mut().zip(bottom.iter()) {
                        *out = luma_from_gray(v);
                    }
                    u_row.fill(128);
                    v_row.fill(128);
                    return;
                }
                for cx in 0..w / 2 {
                    let mut sum = [0i32; 3];
                    for (row, out) in [(&top, &mut *y_top), (&bottom, &mut *y_bottom)] {
                        for x in [2 * cx, 2 * cx + 1] {
                            let p = &row[3 * x..3 * x + 3];
                            out[x] = luma_from_rgb(p[0], p[1], p[2]);
                            sum[0] += i32::from(p[0]);
                            sum[1] += i32::from(p[1]);
                            sum[2] += i32::from(p[2]);
                        }
                    }
                    let [r, g, b] = sum.map(|s| (s + 2) / 4);
                    u_row[cx] = (128 + ((-38 * r - 74 * g + 112 * b + 128) >> 8)) as u8;
                    v_row[cx] = (128 + ((112 * r - 94 * g - 18 * b + 128) >> 8)) as u8;
                }
            });
    }
}

/// A rectangle of pixels `[x0, x1) × [y0, y1)` with even corners, so that it covers whole
/// 2×2 chroma blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl Region {
    pub fn full(width: usize, height: usize) -> Self {
        Self {
            x0: 0,
            y0: 0,
            x1: width,
            y1: height,
        }
    }

    /// The smallest even-cornered region inside `width × height` that covers the given
    /// (fractional) rectangle; `None` when that is empty.
    pub fn covering(
        x0: f32,
        y0: f32,
        x1: f32,
        y1: f32,
        width: usize,
        height: usize,
    ) -> Option<Self> {
        let down = |v: f32, max: usize| ((v.floor().max(0.0) as usize) & !1).min(max);
        let up = |v: f32, max: usize| {
            let v = v.ceil().max(0.0) as usize;
            (v + (v & 1)).min(max)
        };
        let r = Self {
            x0: down(x0, width),
            y0: down(y0, height),
            x1: up(x1, width),
            y1: up(y1, height),
        };
        (r.x0 < r.x1 && r.y0 < r.y1).then_some(r)
    }
}

impl Yuv420 {
    /// Fills the frame from opaque RGBA bytes of exactly this frame's size, on the calling
    /// thread: callers that convert many frames run them in parallel instead.
    pub fn fill_from_rgba(&mut self, rgba: &[u8]) {
        self.fill_region_from_rgba(rgba, Region::full(self.width, self.height));
    }

    /// Converts only `region` of a full-size RGBA image (even corners, inside the frame).
    pub fn fill_region_from_rgba(&mut self, rgba: &[u8], region: Region) {
        debug_assert_eq!(rgba.len(), self.width * self.height * 4);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { rgba_region_avx2(self, rgba, region) };
            return;
        }
        rgba_region(self, rgba, region);
    }

    /// Copies `region` of `other` (same size) into this frame.
    pub fn copy_region_from(&mut self, other: &Yuv420, region: Region) {
        let w = self.width;
        let Region { x0, y0, x1, y1 } = region;
        let luma = w * self.height;
        for y in y0..y1 {
            let row = y * w;
            self.data[row + x0..row + x1].copy_from_slice(&other.data[row + x0..row + x1]);
        }
        for plane in 0..2 {
            let base = luma + plane * luma / 4;
            for cy in y0 / 2..y1 / 2 {
                let row = base + cy * (w / 2);
                self.data[row + x0 / 2..row + x1 / 2]
                    .copy_from_slice(&other.data[row + x0 / 2..row + x1 / 2]);
            }
        }
    }
}

/// The same code compiled for AVX2: twice the lanes of the SSE2 baseline, chosen at run time
/// so the binary still runs on any x86-64.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn rgba_region_avx2(frame: &mut Yuv420, rgba: &[u8], region: Region) {
    rgba_region(frame, rgba, region);
}

#[inline(always)]
fn rgba_region(frame: &mut Yuv420, rgba: &[u8], region: Region) {
    let w = frame.width;
    let Region { x0, y0, x1, y1 } = region;
    let (y_plane, u_plane, v_plane) = frame.planes_mut();
    for pair in y0 / 2..y1 / 2 {
        let (top_y, bottom_y) = (2 * pair * w, (2 * pair + 1) * w);
        let top = &rgba[4 * (top_y + x0)..4 * (top_y + x1)];
        let bottom = &rgba[4 * (bottom_y + x0)..4 * (bottom_y + x1)];
        luma_row_rgba(&mut y_plane[top_y + x0..top_y + x1], top);
        luma_row_rgba(&mut y_plane[bottom_y + x0..bottom_y + x1], bottom);
        let chroma = pair * (w / 2);
        let u_row = &mut u_plane[chroma + x0 / 2..chroma + x1 / 2];
        let v_row = &mut v_plane[chroma + x0 / 2..chroma + x1 / 2];
        // Loops over fixed-size chunks with no cross-iteration state vectorize.
        for ((u, v), (t, b)) in u_row
            .iter_mut()
            .zip(v_row.iter_mut())
            .zip(top.chunks_exact(8).zip(bottom.chunks_exact(8)))
        {
            let sum = |c: usize| {
                (i32::from(t[c]) + i32::from(t[c + 4]) + i32::from(b[c]) + i32::from(b[c + 4]) + 2)
                    >> 2
            };
            (*u, *v) = chroma_from_rgb(sum(0), sum(1), sum(2));
        }
    }
}

/// U and V of an RGB colour (the mean of a 2×2 block).
#[inline(always)]
pub(crate) fn chroma_from_rgb(r: i32, g: i32, b: i32) -> (u8, u8) {
    (
        (128 + ((-38 * r - 74 * g + 112 * b + 128) >> 8)) as u8,
        (128 + ((112 * r - 94 * g - 18 * b + 128) >> 8)) as u8,
    )
}

/// [`luma_from_rgb`] over a row, in 16-bit lanes (the largest sum, 56 228, fits).
#[inline(always)]
fn luma_row_rgba(out: &mut [u8], rgba: &[u8]) {
    for (o, p) in out.iter_mut().zip(rgba.chunks_exact(4)) {
        let (r, g, b) = (u16::from(p[0]), u16::from(p[1]), u16::from(p[2]));
        *o = (16 + ((66 * r + 129 * g + 25 * b + 128) >> 8)) as u8;
    }
}

impl Yuv420 {
    /// RGBA bytes of this frame (BT.601 limited range back to full-range RGB), for showing
    /// exactly what the encoder is given, as the window's export preview does.
    pub fn to_rgba(&self) -> Vec<u8> {
        let (w, h) = (self.width, self.height);
        let (y_plane, u_plane, v_plane) = self.planes();
        let mut out = vec![255u8; w * h * 4];
        out.par_chunks_mut(4 * w)
            .enumerate()
            .for_each(|(row, pixels)| {
                let chroma = (row / 2) * (w / 2);
                for (x, px) in pixels.chunks_exact_mut(4).enumerate() {
                    let c = 298 * (i32::from(y_plane[row * w + x]) - 16);
                    let d = i32::from(u_plane[chroma + x / 2]) - 128;
                    let e = i32::from(v_plane[chroma + x / 2]) - 128;
                    let clamp = |v: i32| ((v + 128) >> 8).clamp(0, 255) as u8;
                    px[0] = clamp(c + 409 * e);
                    px[1] = clamp(c - 100 * d - 208 * e);
                    px[2] = clamp(c + 516 * d);
                }
            });
        out
    }
}

#[inline]
pub(crate) fn luma_from_rgb(r: u8, g: u8, b: u8) -> u8 {
    (16 + ((66 * u32::from(r) + 129 * u32::from(g) + 25 * u32::from(b) + 128) >> 8)) as u8
}

#[inline]
fn luma_from_gray(v: u8) -> u8 {
    luma_from_rgb(v, v, v)
}

/// The largest even size not above `(width, height)`: odd frames lose their last column or
/// row, because 4:2:0 chroma needs pairs. `None` when a side is below 2.
pub fn even_size(width: usize, height: usize) -> Option<(usize, usize)> {
    let (w, h) = (width & !1, height & !1);
    (w >= 2 && h >= 2).then_some((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    /// BT.601 limited range back to full-range gray, as swscale does for `gray` output.
    fn gray_from_luma(y: u8) -> f64 {
        (f64::from(y) - 16.0) * 255.0 / 219.0
    }

    #[test]
    fn gray_round_trips_within_one() {
        for v in [0u8, 1, 40, 128, 200, 254, 255] {
            let back = gray_from_luma(luma_from_gray(v));
            assert!((back - f64::from(v)).abs() <= 1.0, "{v} -> {back}");
        }
    }

    #[test]
    fn rgb_primaries_land_on_bt601_values() {
        let mut f = Yuv420::new(2, 2);
        f.fill_from(Array3::from_shape_fn((2, 2, 3), |(_, _, c)| [255, 0, 0][c]).view());
        let (y, u, v) = f.planes();
        assert_eq!(y, &[82, 82, 82, 82]);
        assert_eq!((u[0], v[0]), (90, 240));
        let mut f = Yuv420::new(2, 2);
        f.fill_from(Array3::from_elem((2, 2, 3), 255).view());
        assert_eq!(f.planes().0, &[235; 4]);
        assert_eq!((f.planes().1[0], f.planes().2[0]), (128, 128));
    }

    #[test]
    fn rgba_conversion_equals_rgb_conversion() {
        let (w, h) = (10, 6);
        let rgb = Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
            ((y * 31 + x * 17 + c * 90) % 256) as u8
        });
        let mut rgba = Vec::new();
        for px in rgb.as_slice().unwrap().chunks_exact(3) {
            rgba.extend_from_slice(&[px[0], px[1], px[2], 255]);
        }
        let (mut a, mut b) = (Yuv420::new(w, h), Yuv420::new(w, h));
        a.fill_from(rgb.view());
        b.fill_from_rgba(&rgba);
        assert_eq!(a, b);
    }

    #[test]
    fn a_region_converts_only_itself() {
        let (w, h) = (12, 8);
        let rgba: Vec<u8> = (0..w * h * 4).map(|i| (i * 7 % 251) as u8).collect();
        let mut whole = Yuv420::new(w, h);
        whole.fill_from_rgba(&rgba);
        let region = Region::covering(3.2, 1.5, 8.9, 5.0, w, h).unwrap();
        assert_eq!(
            region,
            Region {
                x0: 2,
                y0: 0,
                x1: 10,
                y1: 6
            }
        );
        let mut part = Yuv420::new(w, h);
        part.fill_region_from_rgba(&rgba, region);
        let mut expected = Yuv420::new(w, h);
        expected.copy_region_from(&whole, region);
        assert_eq!(part, expected);
        assert_ne!(part, whole);
        assert_eq!(Region::covering(-5.0, -5.0, -1.0, 3.0, w, h), None);
    }

    #[test]
    fn odd_images_drop_the_last_row_and_column() {
        assert_eq!(even_size(7, 5), Some((6, 4)));
        assert_eq!(even_size(1, 5), None);
        let img = Array3::from_shape_fn((5, 7, 1), |(y, x, _)| (y * 7 + x) as u8 * 5);
        let mut f = Yuv420::new(6, 4);
        f.fill_from(img.view());
        assert_eq!(f.planes().0[6 + 5], luma_from_gray(img[[1, 5, 0]]));
    }

    #[test]
    fn rgba_round_trip_stays_close_on_flat_colours() {
        for rgb in [[0u8, 0, 0], [255, 255, 255], [200, 30, 90], [12, 180, 240]] {
            let mut f = Yuv420::new(4, 2);
            f.fill_from(Array3::from_shape_fn((2, 4, 3), |(_, _, c)| rgb[c]).view());
            let rgba = f.to_rgba();
            assert_eq!(rgba.len(), 4 * 2 * 4);
            for px in rgba.chunks_exact(4) {
                for c in 0..3 {
                    let diff = (i32::from(px[c]) - i32::from(rgb[c])).abs();
                    assert!(diff <= 3, "{rgb:?} came back as {px:?}");
                }
                assert_eq!(px[3], 255);
            }
        }
    }
}
