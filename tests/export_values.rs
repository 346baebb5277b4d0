//! What an export writes, checked against values derived here, independently of the code
//! under test: the file is decoded by the ffmpeg CLI (raw YUV 4:2:0 planes, or RGB), colours
//! are compared with ITU-R BT.601 limited-range arithmetic written out below from the
//! standard's coefficients, blends with the formula in the README, and the muxed audio by its
//! dominant frequency, start and sample rate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use ndarray::Array4;
use stackscope::Job;
use stackscope::export::{ExportSettings, export};
use stackscope::source::StackSource;
use stackscope::stack::{ChannelOrder, FrameStack, SourceKind, StackMeta};

fn source(frames: Array4<u8>) -> StackSource {
    let meta = StackMeta::new("generated", SourceKind::Generated, ChannelOrder::Rgb);
    StackSource::new(Arc::new(FrameStack::from_array(frames, meta)))
}

fn lossless(steps: usize, intensity: f64) -> ExportSettings {
    ExportSettings {
        steps,
        intensity,
        fps: Some(25.0),
        crf: 0,
        preset: "ultrafast".into(),
        blend_device: stackscope::interp::BlendDevice::Cpu,
        ..ExportSettings::default()
    }
}

/// Every frame of `path` as the ffmpeg CLI decodes it to `pix_fmt` (raw bytes per frame).
fn ffmpeg_frames(path: &Path, pix_fmt: &str, frame_bytes: usize) -> Vec<Vec<u8>> {
    let out = common::output(
        Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(path)
            .args(["-f", "rawvideo", "-pix_fmt", pix_fmt, "-"]),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len() % frame_bytes, 0);
    out.stdout.chunks(frame_bytes).map(<[u8]>::to_vec).collect()
}

/// BT.601 limited range from the standard: E'Y = 0.299 R + 0.587 G + 0.114 B on 0..1,
/// Y = 16 + 219 E'Y; Cb = 128 + 224 · 0.564 (B − E'Y); Cr = 128 + 224 · 0.713 (R − E'Y).
fn bt601(r: f64, g: f64, b: f64) -> (f64, f64, f64) {
    let (r, g, b) = (r / 255.0, g / 255.0, b / 255.0);
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    (
        16.0 + 219.0 * y,
        128.0 + 224.0 * (b - y) / 1.772,
        128.0 + 224.0 * (r - y) / 1.402,
    )
}

fn close(got: u8, want: f64, tolerance: f64, what: &str) {
    assert!(
        (f64::from(got) - want).abs() <= tolerance,
        "{what}: got {got}, expected {want:.2} ± {tolerance}"
    );
}

#[test]
fn solid_colours_decode_to_their_bt601_values_and_back_to_the_same_rgb() {
    let colours: [[u8; 3]; 7] = [
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
        [200, 100, 50],
        [30, 180, 220],
        [250, 240, 10],
        [128, 128, 128],
    ];
    let (w, h) = (16, 16);
    let mut frames = Array4::zeros((colours.len(), h, w, 3));
    for (i, c) in colours.iter().enumerate() {
        for (k, &v) in c.iter().enumerate() {
            frames.slice_mut(ndarray::s![i, .., .., k]).fill(v);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("colours.mp4");
    export(&mut source(frames), &out, &lossless(0, 1.0), &Job::new()).unwrap();

    let yuv = ffmpeg_frames(&out, "yuv420p", w * h * 3 / 2);
    let rgb = ffmpeg_frames(&out, "rgb24", w * h * 3);
    assert_eq!(yuv.len(), colours.len());
    for (i, c) in colours.iter().enumerate() {
        let (y, cb, cr) = bt601(f64::from(c[0]), f64::from(c[1]), f64::from(c[2]));
        let what = format!("colour {c:?}");
        // Planes: Y (w·h), then Cb and Cr (w·h/4 each); every sample is the same.
        let f = &yuv[i];
        close(f[0], y, 1.0, &format!("{what} Y"));
        close(f[w * h], cb, 1.0, &format!("{what} Cb"));
        close(f[w * h + w * h / 4], cr, 1.0, &format!("{what} Cr"));
        assert!(f[..w * h].iter().all(|&v| v == f[0]), "{what}: flat Y");
        // And back to RGB through ffmpeg's own BT.601 conversion: the colour we gave.
        for (k, &want) in c.iter().enumerate() {
            close(
                rgb[i][k],
                f64::from(want),
                3.0,
                &format!("{what} channel {k}"),
            );
        }
    }
}

#[test]
fn a_colour_gradient_keeps_luma_per_pixel_and_chroma_per_2x2_block() {
    let (w, h) = (32, 24);
    let frames = Array4::from_shape_fn((1, h, w, 3), |(_, y, x, c)| match c {
        0 => (x * 8) as u8,
        1 => (y * 10) as u8,
        _ => (255 - x * 4 - y * 3) as u8,
    });
    let rgb_at = |x: usize, y: usize| [0, 1, 2].map(|c| f64::from(frames[[0, y, x, c]]));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gradient.mp4");
    export(
        &mut source(frames.clone()),
        &out,
        &lossless(0, 1.0),
        &Job::new(),
    )
    .unwrap();
    let f = &ffmpeg_frames(&out, "yuv420p", w * h * 3 / 2)[0];
    for y in 0..h {
        for x in 0..w {
            let [r, g, b] = rgb_at(x, y);
            close(
                f[y * w + x],
                bt601(r, g, b).0,
                1.0,
                &format!("Y at ({x}, {y})"),
            );
        }
    }
    let (cw, ch) = (w / 2, h / 2);
    for by in 0..ch {
        for bx in 0..cw {
            // The block's chroma is the chroma of its mean colour (the conversion is linear).
            let mut mean = [0.0; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let p = rgb_at(2 * bx + dx, 2 * by + dy);
                (0..3).for_each(|k| mean[k] += p[k] / 4.0);
            }
            let (_, cb, cr) = bt601(mean[0], mean[1], mean[2]);
            let at = format!("block ({bx}, {by})");
            close(f[w * h + by * cw + bx], cb, 1.0, &format!("Cb {at}"));
            close(
                f[w * h + cw * ch + by * cw + bx],
                cr,
                1.0,
                &format!("Cr {at}"),
            );
        }
    }
}

#[test]
fn blends_at_fractional_intensities_follow_the_readme_formula_exactly() {
    // Two textured gray frames; every pixel of every in-between frame is checked.
    let (w, h) = (32, 16);
    let frames = Array4::from_shape_fn((2, h, w, 1), |(i, y, x, _)| {
        let v = (x * 7 + y * 13) % 256;
        (if i == 0 { v } else { 255 - v / 2 }) as u8
    });
    let dir = tempfile::tempdir().unwrap();
    for k in [1usize, 3, 49] {
        for intensity in [0.25, 0.5, 1.0] {
            let out = dir.path().join(format!("k{k}-{intensity}.mp4"));
            export(
                &mut source(frames.clone()),
                &out,
                &lossless(k, intensity),
                &Job::new(),
            )
            .unwrap();
            let decoded = ffmpeg_frames(&out, "yuv420p", w * h * 3 / 2);
            assert_eq!(decoded.len(), 2 + k, "k = {k}");
            let (ya, yb) = (&decoded[0][..w * h], &decoded[k + 1][..w * h]);
            // The sources themselves: BT.601 luma of a gray value.
            for (p, &v) in ya.iter().enumerate() {
                let g = f64::from(frames[[0, p / w, p % w, 0]]);
                close(
                    v,
                    16.0 + 219.0 * g / 255.0,
                    1.0,
                    &format!("source pixel {p}"),
                );
            }
            for (j, frame) in decoded.iter().enumerate().take(k + 1).skip(1) {
                // README: t = j/(K+1) · intensity, w = round(256 t),
                // pixel = (a·(256−w) + b·w + 128) >> 8.
                let t = j as f64 / (k + 1) as f64 * intensity;
                let weight = (256.0 * t).round() as u32;
                let blended = &frame[..w * h];
                for p in 0..w * h {
                    let (a, b) = (u32::from(ya[p]), u32::from(yb[p]));
                    let want = (a * (256 - weight) + b * weight + 128) >> 8;
                    assert_eq!(
                        u32::from(blended[p]),
                        want,
                        "k = {k}, intensity {intensity}, frame {j}, pixel {p}"
                    );
                }
            }
        }
    }
}

/// Samples of `path`'s audio as mono f32 at its own rate, decoded by the ffmpeg CLI.
fn ffmpeg_audio(path: &Path) -> Vec<f32> {
    let out = common::output(
        Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(path)
            .args(["-map", "0:a", "-ac", "1", "-f", "f32le", "-"]),
    );
    assert!(out.status.success());
    out.stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// `key=value` facts of the audio stream from ffprobe.
fn audio_stream(path: &Path) -> std::collections::HashMap<String, String> {
    let out = common::output(
        Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "a:0", "-show_entries"])
            .args([
                "stream=sample_rate,start_time,channels",
                "-of",
                "default=nw=1",
            ])
            .arg(path),
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Power of `samples` at `hz` (a single-bin DFT).
fn power_at(samples: &[f32], rate: f64, hz: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (n, &s) in samples.iter().enumerate() {
        let phase = std::f64::consts::TAU * hz * n as f64 / rate;
        re += f64::from(s) * phase.cos();
        im += f64::from(s) * phase.sin();
    }
    re * re + im * im
}

#[test]
fn the_muxed_audio_is_the_input_tone_from_the_first_frame_at_its_rate() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    let ok = common::status(
        Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .args(["sine=frequency=660:duration=3:sample_rate=22050"])
            .arg(&wav),
    )
    .success();
    assert!(ok);
    let out = dir.path().join("av.mp4");
    let frames = Array4::from_shape_fn((50, 16, 16, 3), |(i, _, _, _)| (i * 5) as u8);
    let settings = ExportSettings {
        audio: Some(wav),
        ..lossless(0, 1.0)
    };
    export(&mut source(frames), &out, &settings, &Job::new()).unwrap();

    let facts = audio_stream(&out);
    assert_eq!(facts["sample_rate"], "22050", "{facts:?}");
    assert_eq!(facts["channels"], "1", "{facts:?}");
    let start: f64 = facts["start_time"].parse().unwrap();
    assert!(start.abs() < 0.001, "the audio starts at {start} s");

    let rate = 22050.0;
    let samples = ffmpeg_audio(&out);
    // 50 frames at 25 fps: two seconds of the three-second tone.
    assert!(
        (samples.len() as f64 / rate - 2.0).abs() < 0.05,
        "{}",
        samples.len()
    );
    // The dominant frequency over the middle second, scanned in 5 Hz steps.
    let middle = &samples[samples.len() / 4..samples.len() * 3 / 4];
    let peak = (40..=400)
        .map(|i| f64::from(i) * 5.0)
        .max_by(|a, b| power_at(middle, rate, *a).total_cmp(&power_at(middle, rate, *b)))
        .unwrap();
    assert_eq!(peak, 660.0);
    // Sound from the first 20 ms on: not padded with silence in front.
    let rms = |s: &[f32]| (s.iter().map(|v| v * v).sum::<f32>() / s.len() as f32).sqrt();
    let head = rms(&samples[..441]);
    assert!(head > 0.5 * rms(middle), "first 20 ms RMS {head}");
}
