//! Video loading on clips written by the ffmpeg CLI.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;

use common::*;
use stackscope::Job;
use stackscope::load::{LoadError, LoadOptions, Resize, load};

#[test]
fn lossless_gray_clip_exact_pixels_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let clip = lossless_gray_video(dir.path(), 12, 32, 16);
    let o = LoadOptions {
        grayscale: true,
        ..LoadOptions::default()
    };
    let loaded = load(&clip, &o, &Job::new()).unwrap();
    let s = &loaded.stack;
    assert_eq!(s.shape(), [12, 16, 32, 1]);
    for i in 0..12 {
        let f = s.frame(i).unwrap();
        assert_eq!(f[[5, 20, 0]], (10 * i) as u8, "frame {i} right half");
        assert_eq!(f[[5, 3, 0]], (10 * i + 100) as u8, "frame {i} left half");
    }
    let meta = s.meta();
    assert_eq!(meta.fps, Some(25.0));
    assert!(
        (meta.duration_secs.unwrap() - 12.0 / 25.0).abs() < 0.05,
        "{:?}",
        meta.duration_secs
    );
    assert_eq!(loaded.report.frames_found, 12);
}

#[test]
fn gray_clip_loads_as_rgb_by_default_for_color_sources() {
    let dir = tempfile::tempdir().unwrap();
    let frames: Vec<Vec<u8>> = (0..4)
        .map(|i| stackscope::sample::frame_rgb(i, 4, 64, 48))
        .collect();
    let clip = dir.path().join("rgb.mkv");
    ffmpeg_from_raw(
        &frames,
        64,
        48,
        "rgb24",
        10,
        &["-c:v", "ffv1", "-pix_fmt", "bgr0"],
        &clip,
    );
    let s = load(&clip, &LoadOptions::default(), &Job::new())
        .unwrap()
        .stack;
    assert_eq!(s.shape(), [4, 48, 64, 3]);
    // FFV1 with bgr0 is lossless for RGB: every byte comes back.
    for (i, frame) in frames.iter().enumerate() {
        assert_eq!(
            &s.frame(i).unwrap().iter().copied().collect::<Vec<u8>>(),
            frame,
            "frame {i}"
        );
    }
}

#[test]
fn range_step_and_resize_on_h264() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    ffmpeg_from_raw(
        &gray_frames(20, 64, 32),
        64,
        32,
        "gray",
        20,
        &["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p"],
        &clip,
    );
    let o = LoadOptions {
        range: "4:16".parse().unwrap(),
        step: 3,
        grayscale: true,
        resize: Some(Resize::Factor(0.5)),
        ..LoadOptions::default()
    };
    let loaded = load(&clip, &o, &Job::new()).unwrap();
    let s = &loaded.stack;
    assert_eq!(s.shape(), [4, 16, 32, 1]);
    assert_eq!(s.meta().source_frames, vec![4, 7, 10, 13]);
    for (k, src) in [4usize, 7, 10, 13].iter().enumerate() {
        let v = s.frame(k).unwrap()[[8, 24, 0]];
        assert!(
            (i32::from(v) - 10 * *src as i32).abs() <= 2,
            "frame {src}: {v}"
        );
    }
    assert_eq!(s.meta().frame_time_secs(1), Some(7.0 / 20.0));
}

#[test]
fn truncated_clip_keeps_what_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mkv");
    ffmpeg_from_raw(
        &gray_frames(30, 64, 64),
        64,
        64,
        "gray",
        25,
        &["-c:v", "ffv1", "-g", "1"],
        &clip,
    );
    let bytes = fs::read(&clip).unwrap();
    let cut = dir.path().join("cut.mkv");
    fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let o = LoadOptions {
        grayscale: true,
        ..LoadOptions::default()
    };
    let loaded = load(&cut, &o, &Job::new()).unwrap();
    let n = loaded.stack.len();
    assert!(n > 3 && n < 30, "{n} frames from half a file");
    for i in 0..n {
        assert_eq!(loaded.stack.frame(i).unwrap()[[10, 50, 0]], (10 * i) as u8);
    }
}

#[test]
fn random_bytes_named_mp4_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.mp4");
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    fs::write(&fake, noise).unwrap();
    let err = load(&fake, &LoadOptions::default(), &Job::new()).unwrap_err();
    assert!(matches!(err, LoadError::Video { .. }), "{err:?}");
    assert!(err.to_string().contains("fake.mp4"), "{err}");
}

#[test]
fn memory_guard_on_video() {
    let dir = tempfile::tempdir().unwrap();
    let clip = lossless_gray_video(dir.path(), 20, 16, 16);
    // 256 bytes a frame, 1300 allowed: 5 frames fit, step 4.
    let o = LoadOptions {
        grayscale: true,
        max_ram_bytes: Some(1300),
        ..LoadOptions::default()
    };
    let loaded = load(&clip, &o, &Job::new()).unwrap();
    assert_eq!(loaded.report.guard.map(|g| g.extra_step), Some(4));
    assert_eq!(loaded.stack.meta().source_frames, vec![0, 4, 8, 12, 16]);
}

#[test]
fn crop_then_resize_on_video() {
    let dir = tempfile::tempdir().unwrap();
    let clip = lossless_gray_video(dir.path(), 3, 40, 20);
    let o = LoadOptions {
        grayscale: true,
        crop: Some(stackscope::load::Rect {
            x: 16,
            y: 4,
            width: 8,
            height: 10,
        }),
        resize: Some(Resize::Size {
            width: 4,
            height: 5,
        }),
        ..LoadOptions::default()
    };
    let s = load(&clip, &o, &Job::new()).unwrap().stack;
    assert_eq!(s.shape(), [3, 5, 4, 1]);
    // The crop straddles the bright left half (x < 20) and the right half (x ≥ 20).
    let f = s.frame(2).unwrap();
    assert_eq!(f[[2, 0, 0]], 120);
    assert_eq!(f[[2, 3, 0]], 20);
}
