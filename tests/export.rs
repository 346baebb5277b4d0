//! MP4 export, checked by decoding what was written with the project's own video loader.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use ndarray::{Array4, ArrayView3};
use stackscope::Job;
use stackscope::export::{ExportError, ExportSettings, export};
use stackscope::interp::ScheduleError;
use stackscope::load::{FrameGeometry, LoadOptions, load};
use stackscope::output::OutputError;
use stackscope::source::{FrameSource, SourceError, StackSource};
use stackscope::stack::{ChannelOrder, FrameStack, SourceKind, StackMeta};

fn stack_of(frames: Array4<u8>) -> StackSource {
    let meta = StackMeta::new("generated", SourceKind::Generated, ChannelOrder::Gray);
    StackSource::new(Arc::new(FrameStack::from_array(frames, meta)))
}

/// `n` RGB frames of the synthetic sample at `w × h`.
fn sample_stack(n: usize, w: usize, h: usize) -> StackSource {
    let mut a = Array4::zeros((n, h, w, 3));
    for i in 0..n {
        let data = stackscope::sample::frame_rgb(i, n, w, h);
        a.index_axis_mut(ndarray::Axis(0), i)
            .assign(&ArrayView3::from_shape((h, w, 3), &data).unwrap());
    }
    stack_of(a)
}

fn settings(steps: usize) -> ExportSettings {
    ExportSettings {
        steps,
        fps: Some(25.0),
        preset: "ultrafast".into(),
        ..ExportSettings::default()
    }
}

fn decode_gray(path: &Path) -> stackscope::Loaded {
    let o = LoadOptions {
        grayscale: true,
        ..LoadOptions::default()
    };
    load(path, &o, &Job::new()).unwrap()
}

#[test]
fn frame_count_duration_and_size_for_several_step_counts() {
    let dir = tempfile::tempdir().unwrap();
    for k in [0usize, 1, 7, 50] {
        let out = dir.path().join(format!("k{k}.mp4"));
        let mut source = sample_stack(5, 64, 48);
        let report = export(&mut source, &out, &settings(k), &Job::new()).unwrap();
        let expected = 5 + 4 * k;
        assert_eq!(report.frames, expected as u64);
        let loaded = decode_gray(&out);
        assert_eq!(loaded.stack.shape(), [expected, 48, 64, 1], "k = {k}");
        let meta = loaded.stack.meta();
        assert_eq!(meta.fps, Some(25.0));
        let duration = meta.duration_secs.unwrap();
        assert!(
            (duration - expected as f64 / 25.0).abs() < 1e-3,
            "k = {k}: {duration} s"
        );
    }
}

#[test]
fn lossless_blends_of_two_flat_frames_follow_the_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flat.mp4");
    let mut frames = Array4::zeros((2, 32, 32, 1));
    frames.index_axis_mut(ndarray::Axis(0), 0).fill(40);
    frames.index_axis_mut(ndarray::Axis(0), 1).fill(200);
    let mut source = stack_of(frames);
    let s = ExportSettings {
        crf: 0,
        ..settings(9)
    };
    export(&mut source, &out, &s, &Job::new()).unwrap();
    // Read back through stackscope's own video loader (gray: the luma plane, mapped back to
    // full range), against the README's schedule worked out here: frame 0 is 40, frame 10
    // is 200, frame j between is the blend with weight round(256·j/10).
    let loaded = decode_gray(&out);
    assert_eq!(loaded.stack.len(), 11);
    for i in 0..11 {
        let weight = (256.0 * i as f64 / 10.0).round();
        let expected = (40.0 * (256.0 - weight) + 200.0 * weight) / 256.0;
        let mean = common::frame_mean(&loaded.stack, i);
        // Two conversions (gray → limited-range luma → gray) each round once.
        assert!(
            (mean - expected).abs() <= 1.5,
            "frame {i}: mean {mean}, expected {expected}"
        );
    }
}

#[test]
fn intensity_zero_repeats_the_source_frames() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("zero.mp4");
    let mut frames = Array4::zeros((3, 16, 16, 1));
    for (i, v) in [30u8, 130, 230].into_iter().enumerate() {
        frames.index_axis_mut(ndarray::Axis(0), i).fill(v);
    }
    let s = ExportSettings {
        crf: 0,
        intensity: 0.0,
        ..settings(4)
    };
    export(&mut stack_of(frames), &out, &s, &Job::new()).unwrap();
    let loaded = decode_gray(&out);
    let s = &loaded.stack;
    assert_eq!(s.len(), 11);
    let expected = [vec![30.0; 5], vec![130.0; 5], vec![230.0]].concat();
    for (i, want) in expected.iter().enumerate() {
        let mean = common::frame_mean(s, i);
        assert!((mean - want).abs() <= 1.0, "frame {i}: {mean} vs {want}");
        // Within a pair every frame is the first one, bit for bit.
        let first = s.frame(i - i % 5).unwrap();
        assert_eq!(s.frame(i).unwrap(), first, "frame {i}");
    }
}

#[test]
fn odd_sizes_lose_one_column_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("odd.mp4");
    let report = export(
        &mut sample_stack(2, 33, 21),
        &out,
        &settings(1),
        &Job::new(),
    )
    .unwrap();
    assert!(report.cropped_to_even);
    assert_eq!(decode_gray(&out).stack.shape(), [3, 20, 32, 1]);
}

#[test]
fn audio_is_muxed_and_cut_to_the_video_length() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    let ok = common::status(
        Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:duration=5",
            ])
            .arg(&wav),
    )
    .success();
    assert!(ok);
    let out = dir.path().join("av.mp4");
    let s = ExportSettings {
        audio: Some(wav),
        ..settings(9)
    };
    // 4 + 3·9 = 31 frames at 25 fps: 1.24 s, much shorter than the 5 s tone.
    export(&mut sample_stack(4, 32, 32), &out, &s, &Job::new()).unwrap();
    let streams = common::stream_durations(&out);
    let text = format!("{streams:?}");
    assert_eq!(streams.len(), 2, "{text}");
    let video = streams.iter().find(|s| s.0 == "video").unwrap().1;
    let audio = streams.iter().find(|s| s.0 == "audio").unwrap().1;
    assert!((video - 1.24).abs() < 1e-3, "{text}");
    assert!((audio - video).abs() < 1.0 / 25.0, "{text}");
}

#[test]
fn bad_requests_are_clear_errors_and_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.mp4");
    let err = export(
        &mut sample_stack(2, 16, 16),
        &out,
        &settings(201),
        &Job::new(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ExportError::Schedule(ScheduleError::TooManySteps(201))),
        "{err}"
    );

    let err = export(
        &mut sample_stack(2, 16, 16),
        dir.path(),
        &settings(1),
        &Job::new(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ExportError::Output(OutputError::IsDirectory { .. })),
        "{err}"
    );

    let missing = dir.path().join("no/such/folder/x.mp4");
    let err = export(
        &mut sample_stack(2, 16, 16),
        &missing,
        &settings(1),
        &Job::new(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ExportError::Output(OutputError::NoFolder { .. })),
        "{err}"
    );
    let not_a_folder = dir.path().join("file.txt");
    std::fs::write(&not_a_folder, "x").unwrap();
    let err = export(
        &mut sample_stack(2, 16, 16),
        &not_a_folder.join("x.mp4"),
        &settings(1),
        &Job::new(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ExportError::Output(OutputError::NoFolder { .. })),
        "{err}"
    );

    let empty = Array4::zeros((0, 16, 16, 1));
    let err = export(&mut stack_of(empty), &out, &settings(1), &Job::new()).unwrap_err();
    assert!(
        matches!(err, ExportError::Schedule(ScheduleError::Empty)),
        "{err}"
    );

    let err = export(&mut sample_stack(2, 1, 16), &out, &settings(1), &Job::new()).unwrap_err();
    assert!(matches!(err, ExportError::TooSmall { .. }), "{err}");
    assert!(!out.exists());

    std::fs::write(&out, "keep me").unwrap();
    let err = export(
        &mut sample_stack(2, 16, 16),
        &out,
        &settings(1),
        &Job::new(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ExportError::Output(OutputError::Exists { .. })),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    let s = ExportSettings {
        overwrite: true,
        ..settings(1)
    };
    export(&mut sample_stack(2, 16, 16), &out, &s, &Job::new()).unwrap();
    assert_eq!(decode_gray(&out).stack.len(), 3);
}

#[test]
fn cancel_after_ten_frames_removes_the_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cancelled.mp4");
    let job = Job::new();
    let watcher = {
        let job = job.clone();
        thread::spawn(move || {
            let started = std::time::Instant::now();
            while job.snapshot().done < 10 {
                // A stuck export must fail the test, not hang it.
                if started.elapsed() > Duration::from_secs(60) {
                    job.cancel();
                    panic!("the export made no progress in 60 s");
                }
                thread::sleep(Duration::from_micros(200));
            }
            job.cancel();
        })
    };
    let s = ExportSettings {
        preset: "medium".into(),
        ..settings(200)
    };
    let err = export(&mut sample_stack(3, 320, 240), &out, &s, &job).unwrap_err();
    watcher.join().unwrap();
    assert!(matches!(err, ExportError::Cancelled), "{err}");
    assert!(!out.exists(), "the partial file must be removed");
}

/// A source whose third frame cannot be read.
struct Failing;

impl FrameSource for Failing {
    fn len(&self) -> usize {
        4
    }
    fn geometry(&self) -> FrameGeometry {
        FrameGeometry {
            width: 16,
            height: 16,
            channels: 1,
        }
    }
    fn fps(&self) -> Option<f64> {
        None
    }
    fn with_frame(
        &mut self,
        index: usize,
        f: &mut dyn FnMut(ArrayView3<u8>),
    ) -> Result<(), SourceError> {
        if index == 2 {
            return Err(SourceError::Frame {
                index,
                reason: "corrupt".into(),
            });
        }
        f(ndarray::Array3::zeros((16, 16, 1)).view());
        Ok(())
    }
}

#[test]
fn a_source_error_midway_is_reported_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fail.mp4");
    let err = export(&mut Failing, &out, &settings(3), &Job::new()).unwrap_err();
    assert!(err.to_string().contains("corrupt"), "{err}");
    assert!(!out.exists());
}

#[test]
fn a_gpu_export_decodes_to_the_same_frames_as_the_cpu_export() {
    let dir = tempfile::tempdir().unwrap();
    let (gpu, cpu) = (dir.path().join("gpu.mp4"), dir.path().join("cpu.mp4"));
    let s = |device| ExportSettings {
        crf: 0,
        blend_device: device,
        ..settings(5)
    };
    let rg = export(
        &mut sample_stack(4, 48, 32),
        &gpu,
        &s(stackscope::interp::BlendDevice::Gpu),
        &Job::new(),
    )
    .unwrap();
    let rc = export(
        &mut sample_stack(4, 48, 32),
        &cpu,
        &s(stackscope::interp::BlendDevice::Cpu),
        &Job::new(),
    )
    .unwrap();
    assert!(rg.blender.starts_with("gpu"), "{}", rg.blender);
    assert!(rc.blender.starts_with("cpu"), "{}", rc.blender);
    let (a, b) = (decode_gray(&gpu).stack, decode_gray(&cpu).stack);
    assert_eq!(a.shape(), b.shape());
    let worst = a
        .view()
        .iter()
        .zip(b.view().iter())
        .map(|(x, y)| (i16::from(*x) - i16::from(*y)).abs())
        .max();
    assert!(worst.unwrap_or(0) <= 1, "largest difference {worst:?}");
}

#[test]
fn with_no_adapter_auto_and_gpu_fall_back_to_the_cpu_and_say_so() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample");
    let dir = tempfile::tempdir().unwrap();
    for device in ["auto", "gpu"] {
        let out = dir.path().join(format!("{device}.mp4"));
        let result = common::output(
            Command::new(env!("CARGO_BIN_EXE_stackscope"))
                .args([
                    "export",
                    sample,
                    "-o",
                    out.to_str().unwrap(),
                    "--interp-steps",
                    "1",
                    "--blend-device",
                    device,
                ])
                .env("VK_ICD_FILENAMES", "/nonexistent")
                .env("WGPU_BACKEND", "vulkan"),
        );
        let stdout = String::from_utf8_lossy(&result.stdout);
        assert!(
            result.status.success(),
            "{device}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        let probed_and_fell_back =
            stdout.contains("blend device: cpu: no GPU adapter") && stdout.contains("fell back");
        // `auto` on a machine without any GPU device decides before loading a driver.
        let decided_without_probing =
            device == "auto" && stdout.contains("blend device: cpu: no GPU device on this machine");
        assert!(
            probed_and_fell_back || decided_without_probing,
            "{device}: {stdout}"
        );
        assert_eq!(decode_gray(&out).stack.len(), 79);
    }
}
