//! Audio → video, checked by decoding what was written: with the project's own loader for the
//! picture, ffprobe for the streams and durations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

use stackscope::Job;
use stackscope::audio::{
    AudioError, Background, Palette, Renderer, SpectrumSettings, Style, VisualSettings,
    VisualizeSettings, band_edges, band_of, visualize,
};
use stackscope::load::{LoadOptions, load};
use stackscope::media::MediaError;
use stackscope::sample::{sine, sine_sweep, write_wav};

const RATE: u32 = 32_000;
const FPS: f64 = 12.0;

/// White bars on black, small and fast, with the product's default smoothing.
fn bar_settings(bands: usize) -> VisualizeSettings {
    VisualizeSettings {
        visual: VisualSettings {
            style: Style::Bars,
            width: 320,
            height: 180,
            palette: Palette::Solid([255, 255, 255]),
            background: Background::Color([0, 0, 0]),
            ..VisualSettings::default()
        },
        spectrum: SpectrumSettings {
            fps: FPS,
            bands,
            min_hz: 80.0,
            max_hz: 10_000.0,
            ..SpectrumSettings::default()
        },
        preset: "ultrafast".into(),
        ..VisualizeSettings::default()
    }
}

fn wav(dir: &Path, name: &str, samples: &[f32]) -> PathBuf {
    let path = dir.join(name);
    write_wav(&path, RATE, samples).unwrap();
    path
}

/// Per decoded frame, the index of the tallest bar (bright pixels in its centre column).
fn tallest_bars(video: &Path, settings: &VisualizeSettings) -> Vec<usize> {
    let options = LoadOptions {
        grayscale: true,
        ..LoadOptions::default()
    };
    let stack = load(video, &options, &Job::new()).unwrap().stack;
    let renderer = Renderer::new(&settings.visual).unwrap();
    let bands = settings.spectrum.bands;
    (0..stack.len())
        .map(|i| {
            let frame = stack.frame(i).unwrap();
            let heights: Vec<usize> = (0..bands)
                .map(|b| {
                    let (x, w) = renderer.bar_span(b, bands);
                    let cx = (x + w / 2.0) as usize;
                    (0..frame.shape()[0])
                        .filter(|&y| frame[[y, cx, 0]] > 128)
                        .count()
                })
                .collect();
            (0..bands)
                .max_by_key(|&b| (heights[b], usize::MAX - b))
                .unwrap()
        })
        .collect()
}

#[test]
fn a_sine_sweep_moves_the_tallest_bar_from_low_to_high() {
    let dir = tempfile::tempdir().unwrap();
    let audio = wav(
        dir.path(),
        "sweep.wav",
        &sine_sweep(RATE, 6.0, 100.0, 8_000.0),
    );
    let out = dir.path().join("sweep.mp4");
    let settings = bar_settings(24);
    let report = visualize(&audio, &out, &settings, &Job::new()).unwrap();
    assert_eq!(report.frames, 72);
    let tallest = tallest_bars(&out, &settings);
    assert_eq!(tallest.len(), 72);
    // The first and last frames straddle the sweep's ends; look inside.
    let inner = &tallest[2..70];
    for pair in inner.windows(2) {
        assert!(pair[1] >= pair[0], "tallest bar went back: {tallest:?}");
    }
    let edges = band_edges(24, 80.0, 10_000.0);
    assert!(inner[0] <= band_of(&edges, 130.0).unwrap(), "{tallest:?}");
    assert!(
        inner[inner.len() - 1] >= band_of(&edges, 6_000.0).unwrap(),
        "{tallest:?}"
    );
    // It visits most bands on the way: the picture follows the sound, not a few steps.
    let mut distinct = inner.to_vec();
    distinct.dedup();
    assert!(distinct.len() >= 15, "{distinct:?}");
}

#[test]
fn a_1khz_tone_lights_the_band_that_contains_1khz() {
    let dir = tempfile::tempdir().unwrap();
    let audio = wav(dir.path(), "tone.wav", &sine(RATE, 2.0, 1_000.0));
    let out = dir.path().join("tone.mp4");
    let settings = bar_settings(32);
    visualize(&audio, &out, &settings, &Job::new()).unwrap();
    let expected = band_of(&band_edges(32, 80.0, 10_000.0), 1_000.0).unwrap();
    let tallest = tallest_bars(&out, &settings);
    for (i, &b) in tallest.iter().enumerate().skip(1).take(tallest.len() - 2) {
        assert_eq!(b, expected, "frame {i}: {tallest:?}");
    }
}

#[test]
fn every_style_writes_one_video_and_one_audio_stream_of_equal_length() {
    let dir = tempfile::tempdir().unwrap();
    // 2.3 s: not a whole number of frames, so the count must round up.
    let audio = wav(dir.path(), "t.wav", &sine_sweep(RATE, 2.3, 200.0, 4_000.0));
    for style in Style::ALL {
        let out = dir.path().join(format!("{}.mp4", style.name()));
        let mut settings = bar_settings(style.default_bands());
        settings.visual.style = style;
        settings.visual.palette = Palette::Map(style.default_colormap());
        let report = visualize(&audio, &out, &settings, &Job::new()).unwrap();
        let expected = (2.3f64 * FPS).ceil() as usize;
        assert_eq!(report.frames as usize, expected, "{style:?}");
        let stack = load(&out, &LoadOptions::default(), &Job::new())
            .unwrap()
            .stack;
        assert_eq!(stack.len(), expected, "{style:?}");
        assert_eq!((stack.width(), stack.height()), (320, 180));
        let s = common::stream_durations(&out);
        assert_eq!(s.len(), 2, "{style:?}: {s:?}");
        let video = s.iter().find(|s| s.0 == "video").unwrap().1;
        let audio = s.iter().find(|s| s.0 == "audio").unwrap().1;
        assert!((video - expected as f64 / FPS).abs() < 1e-3, "{s:?}");
        assert!((audio - video).abs() <= 1.0 / FPS, "{style:?}: {s:?}");
        // Not a blank picture: something was drawn in the middle frame.
        let mid = stack.frame(expected / 2).unwrap();
        let lit = mid.iter().filter(|&&v| v > 60).count();
        assert!(lit > 100, "{style:?}: {lit} bright values");
    }
}

#[test]
fn bad_input_and_output_are_clear_errors_that_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = wav(dir.path(), "ok.wav", &sine(RATE, 0.5, 440.0));
    let settings = bar_settings(16);
    let out = dir.path().join("out.mp4");

    let empty = dir.path().join("empty.mp3");
    std::fs::write(&empty, b"").unwrap();
    let err = visualize(&empty, &out, &settings, &Job::new()).unwrap_err();
    assert!(
        matches!(err, AudioError::Media(MediaError::EmptyFile { .. })),
        "{err}"
    );

    let text = dir.path().join("notes.mp3");
    std::fs::write(&text, "this is not audio, only text ".repeat(50)).unwrap();
    let err = visualize(&text, &out, &settings, &Job::new()).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::Media(MediaError::Open { .. } | MediaError::NoAudio { .. })
        ),
        "{err}"
    );

    let image = dir.path().join("picture.png");
    image::RgbImage::new(8, 8).save(&image).unwrap();
    let err = visualize(&image, &out, &settings, &Job::new()).unwrap_err();
    assert!(
        matches!(err, AudioError::Media(MediaError::NoAudio { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("no audio stream"), "{err}");
    assert!(!out.exists());

    let nowhere = dir.path().join("missing-folder").join("out.mp4");
    let err = visualize(&good, &nowhere, &settings, &Job::new()).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");

    let err = visualize(&good, dir.path(), &settings, &Job::new()).unwrap_err();
    assert!(err.to_string().contains("is a directory"), "{err}");

    std::fs::write(&out, b"keep me").unwrap();
    let err = visualize(&good, &out, &settings, &Job::new()).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
}

#[test]
fn cancelling_removes_the_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let audio = wav(
        dir.path(),
        "long.wav",
        &sine_sweep(RATE, 120.0, 100.0, 8_000.0),
    );
    let out = dir.path().join("cancelled.mp4");
    let mut settings = bar_settings(32);
    settings.visual.width = 640;
    settings.visual.height = 360;
    settings.preset = "medium".into();
    let job = Job::new();
    let watcher = {
        let job = job.clone();
        let folder = dir.path().to_path_buf();
        thread::spawn(move || {
            // Cancel once encoding has visibly started and its temporary file exists.
            let writing = || {
                std::fs::read_dir(&folder).unwrap().any(|e| {
                    e.unwrap()
                        .file_name()
                        .to_string_lossy()
                        .contains(".partial")
                })
            };
            for _ in 0..2000 {
                let p = job.snapshot();
                if p.message == "rendering" && p.done > 5 && writing() {
                    break;
                }
                thread::sleep(Duration::from_millis(5));
            }
            job.cancel();
        })
    };
    let err = visualize(&audio, &out, &settings, &job).unwrap_err();
    watcher.join().unwrap();
    assert!(matches!(err, AudioError::Cancelled), "{err}");
    assert!(!out.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn cli_writes_a_video_and_a_still_and_explains_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    let audio = wav(dir.path(), "s.wav", &sine_sweep(RATE, 1.5, 200.0, 4_000.0));
    let out = dir.path().join("c.mp4");
    let (a, o) = (audio.to_str().unwrap(), out.to_str().unwrap());
    let (code, stdout, stderr) = common::stackscope(&[
        "visualize",
        a,
        "-o",
        o,
        "--style",
        "circular",
        "--size",
        "200x120",
        "--fps",
        "10",
        "--preset",
        "ultrafast",
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["frames"], 15);
    assert_eq!(report["style"], "circular");
    assert!(out.exists());

    let png = dir.path().join("still.png");
    let (code, _, stderr) = common::stackscope(&[
        "visualize",
        a,
        "-o",
        png.to_str().unwrap(),
        "--style",
        "spectrogram",
        "--size",
        "160x90",
        "--still",
        "1.0",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let still = image::open(&png).unwrap();
    assert_eq!((still.width(), still.height()), (160, 90));

    let (code, _, stderr) = common::stackscope(&[
        "visualize",
        a,
        "-o",
        o,
        "--force",
        "--background",
        "no-such-thing",
    ]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("neither a colour nor an existing image"),
        "{stderr}"
    );
    let (code, _, stderr) =
        common::stackscope(&["visualize", a, "-o", o, "--force", "--size", "641x360"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("even sides"), "{stderr}");
}

/// Runs the ffmpeg CLI quietly with `args` and then `out`; true on success.
fn ffmpeg(args: &[&str], out: &Path) -> bool {
    common::status(
        Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args(args)
            .arg(out),
    )
    .success()
}

#[test]
fn common_formats_and_a_video_soundtrack_are_analysed() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    for (name, codec) in [
        ("t.mp3", "libmp3lame"),
        ("t.flac", "flac"),
        ("t.ogg", "libvorbis"),
        ("t.m4a", "aac"),
    ] {
        let path = dir.path().join(name);
        let tone = "sine=frequency=1000:duration=2:sample_rate=44100";
        let ok = ffmpeg(&["-f", "lavfi", "-i", tone, "-c:a", codec], &path);
        assert!(ok, "ffmpeg could not write {name}");
        inputs.push(path);
    }
    // A video whose second stream is the sound.
    let clip = dir.path().join("clip.mp4");
    let ok = ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=10:duration=2",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=1000:duration=2:sample_rate=44100",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-shortest",
        ],
        &clip,
    );
    assert!(ok);
    inputs.push(clip);
    let settings = SpectrumSettings {
        fps: 10.0,
        bands: 32,
        min_hz: 80.0,
        max_hz: 10_000.0,
        ..SpectrumSettings::default()
    };
    for path in inputs {
        let spectrum = stackscope::audio::analyze(&path, &settings, &Job::new()).unwrap();
        // Lossy encoders add priming samples: about 2 s, give or take a frame.
        assert!(
            (spectrum.duration_secs() - 2.0).abs() < 0.1,
            "{}: {} s",
            path.display(),
            spectrum.duration_secs()
        );
        let band = spectrum.band_of(1_000.0).unwrap();
        let middle = spectrum.frame(spectrum.frames / 2);
        let loudest = (0..middle.len())
            .max_by(|&a, &b| middle[a].total_cmp(&middle[b]))
            .unwrap();
        assert_eq!(loudest, band, "{}", path.display());
    }
}
