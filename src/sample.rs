//! Deterministic synthetic stacks: the bundled sample, test fixtures and benchmark inputs.
//!
//! A frame shows two Gaussian spots circling the centre, a bar sweeping left to right and a
//! faint fixed gradient, so that reductions, ROI curves and line profiles all have something
//! known to find. Pixel values depend only on (frame, x, y), never on a random generator.

use std::path::{Path, PathBuf};

use image::{ImageBuffer, Rgb};
use rayon::prelude::*;

/// The RGB pixel at (`x`, `y`) of frame `index` out of `frames`, in a `width × height` frame.
pub fn pixel(
    index: usize,
    frames: usize,
    x: usize,
    y: usize,
    width: usize,
    height: usize,
) -> [u8; 3] {
    let t = index as f64 / frames.max(1) as f64;
    let (w, h) = (width as f64, height as f64);
    let (fx, fy) = (x as f64, y as f64);
    let angle = t * std::f64::consts::TAU;
    let radius = 0.28 * w.min(h);
    let sigma = 0.08 * w.min(h);
    let spot = |cx: f64, cy: f64| {
        let d2 = (fx - cx).powi(2) + (fy - cy).powi(2);
        (-d2 / (2.0 * sigma * sigma)).exp()
    };
    let a = spot(
        w / 2.0 + radius * angle.cos(),
        h / 2.0 + radius * angle.sin(),
    );
    let b = spot(
        w / 2.0 - radius * angle.cos(),
        h / 2.0 - radius * angle.sin(),
    );
    let bar_x = t * w;
    let bar = if (fx - bar_x).abs() < (w / 40.0).max(1.0) {
        1.0
    } else {
        0.0
    };
    let base = 20.0 + 30.0 * fy / h.max(1.0);
    let r = base + 220.0 * a + 60.0 * bar;
    let g = base + 180.0 * b + 60.0 * bar;
    let bl = base + 90.0 * (a + b) + 120.0 * bar;
    [r, g, bl].map(|v| v.round().clamp(0.0, 255.0) as u8)
}

/// Frame `index` as interleaved RGB bytes.
pub fn frame_rgb(index: usize, frames: usize, width: usize, height: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            out.extend_from_slice(&pixel(index, frames, x, y, width, height));
        }
    }
    out
}

/// Writes `frames` PNG files `frame_000.png …` into `dir` (created if missing).
pub fn write_png_folder(
    dir: &Path,
    frames: usize,
    width: usize,
    height: usize,
) -> Result<Vec<PathBuf>, image::ImageError> {
    std::fs::create_dir_all(dir).map_err(image::ImageError::IoError)?;
    (0..frames)
        .into_par_iter()
        .map(|i| {
            let path = dir.join(format!("frame_{i:03}.png"));
            let data = frame_rgb(i, frames, width, height);
            let img = ImageBuffer::<Rgb<u8>, _>::from_raw(width as u32, height as u32, data)
                .ok_or_else(|| {
                    image::ImageError::Parameter(image::error::ParameterError::from_kind(
                        image::error::ParameterErrorKind::DimensionMismatch,
                    ))
                })?;
            img.save(&path)?;
            Ok(path)
        })
        .collect()
}

/// An exponential sine sweep from `from_hz` to `to_hz` over `seconds` at amplitude 0.5:
/// every octave gets the same time, so on log-spaced bands the peak moves at constant speed.
pub fn sine_sweep(rate: u32, seconds: f64, from_hz: f64, to_hz: f64) -> Vec<f32> {
    let k = (to_hz / from_hz).ln();
    let n = (seconds * f64::from(rate)).round() as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let phase = from_hz * seconds / k * ((t * k / seconds).exp() - 1.0);
            (0.5 * (std::f64::consts::TAU * phase).sin()) as f32
        })
        .collect()
}

/// Something like music, for benchmarks: a three-note chord with harmonics that changes
/// every half second, plus a little noise, so every band has something in it.
pub fn chords(rate: u32, seconds: f64) -> Vec<f32> {
    const ROOTS: [f64; 6] = [110.0, 146.8, 164.8, 98.0, 130.8, 123.5];
    let n = (seconds * f64::from(rate)).round() as usize;
    let mut noise = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let root = ROOTS[(t * 2.0) as usize % ROOTS.len()];
            let mut v = 0.0;
            for ratio in [1.0, 1.25, 1.5] {
                for harmonic in 1..=8 {
                    let hz = root * ratio * f64::from(harmonic);
                    v += (std::f64::consts::TAU * hz * t).sin() / f64::from(harmonic * harmonic);
                }
            }
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            let white = (noise >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let envelope = 0.6 + 0.4 * (std::f64::consts::TAU * 2.0 * t).cos();
            (0.12 * v * envelope + 0.02 * white) as f32
        })
        .collect()
}

/// A pure tone at amplitude 0.5.
pub fn sine(rate: u32, seconds: f64, hz: f64) -> Vec<f32> {
    let n = (seconds * f64::from(rate)).round() as usize;
    (0..n)
        .map(|i| (0.5 * (std::f64::consts::TAU * hz * i as f64 / f64::from(rate)).sin()) as f32)
        .collect()
}

/// Writes mono samples (−1..1) as a 16-bit PCM WAV file.
pub fn write_wav(path: &Path, rate: u32, samples: &[f32]) -> std::io::Result<()> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for &s in samples {
        let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        out.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_show_what_the_module_doc_promises() {
        let (n, w, h) = (40, 160, 120);
        let at = |i: usize, x: usize, y: usize| pixel(i, n, x, y, w, h);
        // The bar sweeps left to right: at frame i it sits at x = i/n · w, in every row,
        // with 120 of blue added over the background gradient.
        for (i, y) in [(0usize, 10usize), (10, 60), (30, 110)] {
            let x = i * w / n;
            let on = at(i, x, y);
            let beside = at(i, (x + w / 2) % w, y);
            assert!(
                on[2] >= beside[2] + 100,
                "frame {i}: bar {on:?} vs {beside:?}"
            );
        }
        // Spot a starts right of the centre (angle 0) and is a quarter turn further
        // (below the centre) a quarter of the way through.
        let (cx, cy, r) = (w / 2, h / 2, (0.28 * 120.0) as usize);
        assert!(at(0, cx + r, cy)[0] > 200, "{:?}", at(0, cx + r, cy));
        assert!(
            at(n / 4, cx, cy + r)[0] > 200,
            "{:?}",
            at(n / 4, cx, cy + r)
        );
        assert!(
            at(n / 4, cx + r, cy)[0] < 100,
            "{:?}",
            at(n / 4, cx + r, cy)
        );
        // The background gradient grows downwards: 20 at the top, 20 + 30·y/h below.
        assert_eq!(at(20, 3, 0)[1], 20);
        assert_eq!(at(20, 3, 60)[1], 35);
        assert_eq!(frame_rgb(5, n, w, h).len(), w * h * 3);
    }
}
