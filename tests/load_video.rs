//! Video loading on clips written by the ffmpeg CLI.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;

use common::*;
use stackscope::Job;
use stackscope::load::cache::{Cache, CacheError};
use stackscope::load::{CacheChoice, LoadError, LoadOptions, Resize, load};

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
        cache: CacheChoice::Off,
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

/// `n` 48×32 gray frames whose every pixel is the frame's number (mod 256), with a brighter
/// top-left block: each frame says which it is.
fn numbered_frames(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut f = vec![(i % 256) as u8; 48 * 32];
            for y in 0..8 {
                for x in 0..8 {
                    f[y * 48 + x] = 255;
                }
            }
            f
        })
        .collect()
}

/// An H.264 clip (B-frames, a keyframe every 25 frames) of `numbered_frames(n)` at 25 fps.
fn keyframed_clip(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let clip = dir.join("keyframed.mp4");
    ffmpeg_from_raw(
        &numbered_frames(n),
        48,
        32,
        "gray",
        25,
        &[
            "-c:v",
            "libx264",
            "-qp",
            "0",
            "-g",
            "25",
            "-keyint_min",
            "25",
            "-sc_threshold",
            "0",
            "-pix_fmt",
            "yuv420p",
        ],
        &clip,
    );
    clip
}

fn gray(range: Option<&str>) -> LoadOptions {
    LoadOptions {
        grayscale: true,
        range: range.map(|r| r.parse().unwrap()).unwrap_or_default(),
        cache: CacheChoice::Off,
        ..LoadOptions::default()
    }
}

#[test]
fn a_late_range_seeks_to_its_keyframe_and_keeps_exact_frame_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let clip = keyframed_clip(dir.path(), 200);
    let full = load(&clip, &gray(None), &Job::new()).unwrap();
    assert_eq!(full.stack.len(), 200);
    let late = load(&clip, &gray(Some("90:100")), &Job::new()).unwrap();
    assert_eq!(
        late.stack.meta().source_frames,
        (90..100).collect::<Vec<_>>()
    );
    // The decode began at the keyframe before frame 90, not at frame 0.
    assert!(
        late.report
            .notes
            .iter()
            .any(|n| n.contains("keyframe at frame 75")),
        "{:?}",
        late.report.notes
    );
    for (k, i) in (90..100).enumerate() {
        let got = late.stack.frame(k).unwrap();
        assert_eq!(got, full.stack.frame(i).unwrap(), "frame {i}");
        // Each frame carries its own number (through the limited-range round trip).
        let v = i32::from(got[[20, 30, 0]]);
        assert!((v - i as i32).abs() <= 2, "frame {i} reads {v}");
    }
    // A range that starts on a keyframe, and one near the end.
    for (start, end) in [(25, 30), (190, 200)] {
        let part = load(&clip, &gray(Some(&format!("{start}:{end}"))), &Job::new()).unwrap();
        for (k, i) in (start..end).enumerate() {
            assert_eq!(part.stack.frame(k).unwrap(), full.stack.frame(i).unwrap());
        }
    }
}

fn cached(dir: &std::path::Path, grayscale: bool) -> LoadOptions {
    LoadOptions {
        grayscale,
        // Far below the clip's matrix (200 × 48 × 32 bytes in gray).
        max_ram_bytes: Some(20_000),
        cache: CacheChoice::In(dir.to_path_buf()),
        ..LoadOptions::default()
    }
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_clip_over_the_ram_limit_goes_whole_to_the_cache_and_is_mapped_again() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("cache");
    let clip = keyframed_clip(dir.path(), 200);
    let in_ram = load(&clip, &gray(None), &Job::new()).unwrap();

    let first = load(&clip, &cached(&cache_dir, true), &Job::new()).unwrap();
    assert!(first.report.guard.is_none(), "no thinning");
    let used = first.report.cache.clone().expect("the cache was used");
    assert!(!used.reused);
    assert!(first.stack.is_mapped());
    assert_eq!(first.stack.shape(), [200, 32, 48, 1]);
    assert_eq!(first.stack.view(), in_ram.stack.view(), "pixel-identical");
    assert_eq!(
        first.stack.meta().source_frames,
        (0..200).collect::<Vec<_>>()
    );
    assert_eq!(first.stack.meta().fps, Some(25.0));
    assert!(first.report.to_string().contains("frame cache"));
    // numpy's own reading of the entry: the header says uint8 of the stack's shape.
    let bytes = fs::read(&used.entry).unwrap();
    let header = String::from_utf8_lossy(&bytes[10..128]);
    assert!(
        header.contains("'descr': '|u1'") && header.contains("'shape': (200, 32, 48, 1)"),
        "{header}"
    );
    let data_start = bytes.len() - 200 * 32 * 48;
    assert_eq!(
        &bytes[data_start..],
        in_ram.stack.view().as_slice().unwrap()
    );
    let written = fs::metadata(&used.entry).unwrap().modified().unwrap();

    let again = load(&clip, &cached(&cache_dir, true), &Job::new()).unwrap();
    let reused = again.report.cache.clone().unwrap();
    assert!(reused.reused, "mapped without decoding");
    assert_eq!(reused.entry, used.entry);
    assert_eq!(
        fs::metadata(&used.entry).unwrap().modified().unwrap(),
        written
    );
    assert_eq!(again.stack.view(), in_ram.stack.view());
    assert_eq!(
        again.stack.meta().source_frames,
        (0..200).collect::<Vec<_>>()
    );
    assert_eq!(again.report.frames_found, 200);
    assert_eq!(
        again.stack.meta().kind,
        stackscope::stack::SourceKind::Video
    );

    // Another pixel option is another entry; so is a touched source.
    let color = load(&clip, &cached(&cache_dir, false), &Job::new()).unwrap();
    assert!(!color.report.cache.unwrap().reused);
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    fs::File::options()
        .append(true)
        .open(&clip)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let touched = load(&clip, &cached(&cache_dir, true), &Job::new()).unwrap();
    assert!(
        !touched.report.cache.unwrap().reused,
        "a touched source is decoded again"
    );
    let cache = Cache::new(&cache_dir, None);
    // The touched source's new entry, the old gray one and the colour one.
    assert_eq!(cache.entries().unwrap().len(), 3);
    let cleared = cache.clear(None).unwrap();
    assert_eq!(cleared.entries, 3);
    assert!(
        files_in(&cache_dir).is_empty(),
        "{:?}",
        files_in(&cache_dir)
    );
}

#[test]
fn a_cancelled_or_refused_cache_load_leaves_no_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("cache");
    let clip = keyframed_clip(dir.path(), 400);

    // Cancelled as soon as the first frames are decoded.
    let job = Job::new();
    let watcher = {
        let job = job.clone();
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            while job.snapshot().done == 0 && started.elapsed() < COMMAND_LIMIT {
                std::thread::yield_now();
            }
            job.cancel();
        })
    };
    let result = load(&clip, &cached(&cache_dir, true), &job);
    watcher.join().unwrap();
    assert!(matches!(result, Err(LoadError::Cancelled)), "{result:?}");
    assert!(
        files_in(&cache_dir).is_empty(),
        "{:?}",
        files_in(&cache_dir)
    );

    // A limit too small for the entry: a clear error, nothing written.
    let tiny = LoadOptions {
        cache_limit_bytes: Some(100_000),
        ..cached(&cache_dir, true)
    };
    let err = load(&clip, &tiny, &Job::new()).unwrap_err();
    assert!(
        matches!(err, LoadError::Cache(CacheError::OverLimit { .. })),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&cache_dir.display().to_string()),
        "{message}"
    );
    assert!(message.contains("KiB"), "names the bytes needed: {message}");
    assert!(
        files_in(&cache_dir).is_empty(),
        "{:?}",
        files_in(&cache_dir)
    );
}

#[test]
fn gray_from_yuv_clips_is_the_bytes_ffmpeg_gives() {
    let dir = tempfile::tempdir().unwrap();
    // Limited-range H.264 (yuv420p) and full-range Motion JPEG (yuvj422p).
    for (name, codec) in [
        ("h264.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"]),
        ("mjpeg.avi", ["-c:v", "mjpeg", "-pix_fmt", "yuvj422p"]),
    ] {
        let clip = dir.path().join(name);
        let made = output(
            std::process::Command::new("ffmpeg")
                .args([
                    "-v",
                    "error",
                    "-f",
                    "lavfi",
                    "-i",
                    "testsrc2=size=96x64:rate=10",
                ])
                .args(["-frames:v", "6"])
                .args(codec)
                .arg(&clip),
        );
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let raw = output(
            std::process::Command::new("ffmpeg")
                .args(["-v", "error", "-i"])
                .arg(&clip)
                .args(["-pix_fmt", "gray", "-f", "rawvideo", "-"]),
        );
        assert!(raw.status.success());
        let loaded = load(&clip, &gray(None), &Job::new()).unwrap();
        assert_eq!(loaded.stack.shape(), [6, 64, 96, 1], "{name}");
        assert_eq!(
            loaded.stack.view().as_slice().unwrap(),
            &raw.stdout[..],
            "{name}: every byte as ffmpeg's gray"
        );
    }
}

#[test]
fn the_cache_limit_evicts_the_least_recently_used_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("cache");
    let clip = keyframed_clip(dir.path(), 200);
    // One 100-frame gray entry is 153 856 bytes of frames: the limit holds one, not two.
    let part = |range: &str| LoadOptions {
        range: range.parse().unwrap(),
        cache_limit_bytes: Some(250_000),
        ..cached(&cache_dir, true)
    };
    let cache = Cache::new(&cache_dir, None);
    let sources = |cache: &Cache| -> Vec<[usize; 4]> {
        cache.entries().unwrap().iter().map(|e| e.shape).collect()
    };
    let first = load(&clip, &part("0:100"), &Job::new()).unwrap();
    let first_entry = first.report.cache.unwrap().entry;
    assert_eq!(sources(&cache), vec![[100, 32, 48, 1]]);
    let second = load(&clip, &part("100:200"), &Job::new()).unwrap();
    let second_entry = second.report.cache.unwrap().entry;
    assert_eq!(
        cache.entries().unwrap().len(),
        1,
        "the older entry made room"
    );
    assert!(!first_entry.exists() && second_entry.exists());
    // The evicted entry is decoded again when asked for, and evicts the other in turn.
    let again = load(&clip, &part("0:100"), &Job::new()).unwrap();
    assert!(!again.report.cache.unwrap().reused);
    assert!(first_entry.exists() && !second_entry.exists());
    assert_eq!(again.stack.view(), first.stack.view());
}
