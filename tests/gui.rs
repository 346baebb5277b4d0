#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The window, driven through egui_kittest: no display needed, rendering through wgpu on
//! whatever adapter exists (lavapipe in CI). Every test goes through the app's own widgets
//! and worker threads; only waiting for background work reads the app's state.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use stackscope::LoadOptions;
use stackscope::gui::{AnalyzeForm, App, Command, ExportForm, NormalizeForm, Saved};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample")
}

fn harness() -> Harness<'static, App> {
    Harness::builder()
        .with_size(egui::vec2(1200.0, 800.0))
        // The synthetic cursor is drawn wherever the last event left it: not part of a view.
        .with_render_cursor(false)
        .wgpu()
        .build_eframe(|cc| App::new(cc, None, "wgpu (kittest)".into()))
}

/// Steps the app until `done` holds (background work finishing), failing after a minute.
fn wait_until(h: &mut Harness<'_, App>, what: &str, done: impl Fn(&App) -> bool) {
    let started = Instant::now();
    while !done(h.state()) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}; status: {:?}",
            h.state().status()
        );
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.run_steps(3);
}

/// How closely a snapshot must match (see README, "Snapshots"): egui_kittest's per-pixel
/// colour tolerance, and a budget of 8 pixels for anti-aliasing that differs between
/// adapters; a real change (a moved widget, a changed colour) touches far more.
fn snapshot_options() -> egui_kittest::SnapshotOptions {
    egui_kittest::SnapshotOptions::new()
        .threshold(0.6)
        .max_failed_pixels(8)
}

/// Drags the pointer from `from` to `to` over the image in a few moves, as a hand would.
fn drag(h: &mut Harness<'_, App>, from: egui::Pos2, to: egui::Pos2) {
    h.hover_at(from);
    h.run_steps(1);
    h.drag_at(from);
    h.run_steps(1);
    for t in [0.25, 0.5, 0.75, 1.0] {
        h.hover_at(from + (to - from) * t);
        h.run_steps(1);
    }
    h.drop_at(to);
    h.run_steps(2);
}

/// Opens the sample through File → Open's dialog: path, probe, Load.
fn open_sample(h: &mut Harness<'_, App>) {
    h.state_mut().open_dialog(sample().display().to_string());
    h.run_steps(2);
    // The Load button is enabled once the first frame was probed.
    let started = Instant::now();
    while h.query_by_label_contains("loads 40 frames").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "probe never finished"
        );
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.get_by_label("Load").click();
    h.run_steps(2);
    wait_until(h, "the stack to load", |app| app.stack_shape().is_some());
}

#[test]
fn opens_the_sample_and_steps_with_the_arrow_keys() {
    let mut h = harness();
    h.run_steps(2);
    h.get_by_label_contains("drop one onto this window");
    open_sample(&mut h);
    assert_eq!(h.state().stack_shape(), Some([40, 120, 160, 3]));
    h.get_by_label("frame 0 / 40");

    h.key_press(egui::Key::ArrowRight);
    h.run_steps(2);
    h.get_by_label("frame 1 / 40");
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::ArrowRight);
    h.run_steps(2);
    h.get_by_label("frame 11 / 40");
    h.key_press(egui::Key::End);
    h.run_steps(2);
    h.get_by_label("frame 39 / 40");
    h.key_press(egui::Key::ArrowRight);
    h.run_steps(2);
    assert_eq!(
        h.state().frame(),
        Some(39),
        "stepping stops at the last frame"
    );
    h.key_press(egui::Key::Home);
    h.run_steps(2);
    assert_eq!(h.state().frame(), Some(0));
}

#[test]
fn a_mean_reduce_appears_as_a_layer() {
    let mut h = harness();
    open_sample(&mut h);
    h.get_by_label("Run").click();
    h.run_steps(2);
    wait_until(&mut h, "the reduce", |app| app.layer_name().is_some());
    assert_eq!(h.state().layer_name(), Some("mean of frames 0..40"));
    // The layer is shown and can be toggled back to the stack.
    h.get_by_label("mean of frames 0..40");
    h.get_by_label("stack").click();
    h.run_steps(2);
}

#[test]
fn dragging_a_rectangle_gives_a_curve_over_every_frame() {
    let mut h = harness();
    open_sample(&mut h);
    h.get_by_label("Rectangle").click();
    h.run_steps(2);
    let image = h.state().image_rect().expect("the image is on screen");
    let from = image.lerp_inside(egui::vec2(0.3, 0.3));
    let to = image.lerp_inside(egui::vec2(0.6, 0.7));
    drag(&mut h, from, to);
    assert_eq!(h.state().rois().len(), 1, "one ROI was drawn");
    wait_until(&mut h, "the ROI curve", |app| {
        !app.curve_lengths().is_empty()
    });
    // One curve, a point per frame.
    assert_eq!(h.state().curve_lengths(), vec![40]);
}

fn export_ui(h: &mut Harness<'_, App>, out: &Path, steps: usize, preset: &str) {
    {
        let form = &mut h.state_mut().settings_mut().export;
        form.output = out.display().to_string();
        form.steps = steps;
        form.preset = preset.into();
        form.device = "cpu".into();
    }
    h.get_by_label("Export MP4…").click();
    h.run_steps(3);
    h.get_by_label_contains("Preview of the blend");
    // The live preview (blended by the export's own blender) appears once the blender is
    // open; it moves the Export button, so wait for it first.
    let started = Instant::now();
    while h.query_by_label_contains("of frame 1").is_none() {
        assert!(started.elapsed() < Duration::from_secs(60), "no preview");
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.get_by_label("weight 128/256 of frame 1");
    h.run_steps(2);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Export")
        .click();
    h.run_steps(1);
}

#[test]
fn the_export_dialog_writes_an_mp4_with_the_blended_frames() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gui.mp4");
    let mut h = harness();
    open_sample(&mut h);
    export_ui(&mut h, &out, 1, "ultrafast");
    wait_until(&mut h, "the export", |app| app.export_outcome().is_some());
    let outcome = h.state().export_outcome().cloned().unwrap();
    let line = outcome.expect("the export succeeds");
    assert!(line.contains("79 frames"), "{line}");
    h.get_by_label_contains("wrote ");
    // Decode what was written: 40 sources + 39 blends.
    let decoded = stackscope::load(&out, &LoadOptions::default(), &stackscope::Job::new()).unwrap();
    assert_eq!(decoded.stack.shape(), [79, 120, 160, 3]);
}

#[test]
fn cancelling_a_long_export_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("long.mp4");
    let mut h = harness();
    open_sample(&mut h);
    // A slow preset, so the export is still running when Cancel is clicked.
    export_ui(&mut h, &out, 200, "veryslow");
    assert!(h.state().exporting());
    h.run_steps(2);
    h.get_by_label("Cancel").click();
    h.run_steps(1);
    wait_until(&mut h, "the cancelled export", |app| !app.exporting());
    let outcome = h.state().export_outcome().cloned().unwrap();
    assert!(outcome.unwrap_err().contains("cancelled"));
    assert!(!out.exists(), "the partial file was removed");
}

#[test]
fn main_view_snapshot() {
    let mut h = harness();
    open_sample(&mut h);
    h.key_press(egui::Key::ArrowRight);
    h.run_steps(3);
    // The status line holds the load time, which differs from run to run.
    let status = h.get_by_label_contains("opened ").rect();
    // Its width changes with the numbers, so mask to the window's right edge.
    h.mask(egui::Rect::from_min_max(
        status.min,
        egui::pos2(1200.0, status.max.y),
    ));
    // What the picture shows, asserted first, so a snapshot failure is about looks only.
    assert_eq!(h.state().stack_shape(), Some([40, 120, 160, 3]));
    h.get_by_label("frame 1 / 40");
    h.get_by_label_contains("zoom ");
    h.snapshot_options("main_view", &snapshot_options());
}

#[test]
fn the_audio_dialog_previews_and_writes_a_visualizer_video() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("sweep.wav");
    let rate = 22_050;
    stackscope::sample::write_wav(
        &wav,
        rate,
        &stackscope::sample::sine_sweep(rate, 2.0, 150.0, 6_000.0),
    )
    .unwrap();
    let out = dir.path().join("visual.mp4");
    let mut h = harness();
    h.run_steps(2);
    {
        let form = &mut h.state_mut().settings_mut().audio;
        form.audio = wav.display().to_string();
        form.output = out.display().to_string();
        form.style = stackscope::audio::Style::Circular;
        (form.width, form.height, form.fps) = (320, 180, 10.0);
        form.preset = "ultrafast".into();
    }
    // Through the menu, with no stack loaded: the dialog needs none.
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label("Audio to video…").click();
    h.run_steps(2);
    wait_until(&mut h, "the preview", |app| {
        app.audio_dialog().has_preview()
    });
    h.get_by_label_contains("frame 0 of 20");
    // The file names hold a temporary folder's random name.
    let first = h
        .get_by_role_and_label(egui::accesskit::Role::Label, "Audio file")
        .rect();
    let second = h
        .get_by_role_and_label(egui::accesskit::Role::Label, "Output")
        .rect();
    h.mask(egui::Rect::from_min_max(
        egui::pos2(first.max.x, first.min.y - 4.0),
        egui::pos2(first.max.x + 320.0, second.max.y + 4.0),
    ));
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Export");
    h.snapshot_options("audio_dialog", &snapshot_options());
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Export")
        .click();
    h.run_steps(1);
    wait_until(&mut h, "the audio export", |app| {
        app.audio_dialog().outcome.is_some()
    });
    let line = h.state().audio_dialog().outcome.clone().unwrap().unwrap();
    assert!(line.contains("20 frames 320×180"), "{line}");
    h.get_by_label_contains("wrote ");
    let decoded = stackscope::load(&out, &LoadOptions::default(), &stackscope::Job::new()).unwrap();
    assert_eq!(decoded.stack.shape(), [20, 180, 320, 3]);
}

#[test]
fn the_analyzers_panel_runs_scenes_on_the_sample_and_tracks_appear_on_the_timeline() {
    let mut h = harness();
    open_sample(&mut h);
    h.state_mut().settings_mut().analyze.chosen = vec!["scenes".into()];
    h.get_by_label("Analyze…").click();
    // One frame for the click's command, one for the window's sizing pass.
    h.run_steps(3);
    h.get_by_label("Run analyzers").click();
    h.run_steps(2);
    wait_until(&mut h, "the analysis", |app| !app.analysing());
    assert_eq!(
        h.state().analysis_outcome(),
        Some(&Ok("scenes: 1 events".to_string()))
    );
    let results = h.state().analysis_results();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].summary["frames_compared"], 40);
    // The track under the timeline, and the scene in the window's event list.
    h.get_by_label("scenes: scene");
    h.key_press(egui::Key::End);
    h.run_steps(2);
    h.get_by_label("frame 39 / 40");
    // Clicking the event seeks to its start.
    h.get_by_label_contains("s  scene: scene 1").click();
    h.run_steps(2);
    h.get_by_label("frame 0 / 40");
    // The track under the timeline, with the window (which shows run times) closed.
    h.state_mut()
        .push(Command::Show(stackscope::gui::Window::Analyzers, false));
    h.run_steps(3);
    h.get_by_label("scenes: scene");
    mask_status(&mut h);
    h.snapshot_options("analysis_tracks", &snapshot_options());
}

#[test]
fn the_analyzers_options_choose_the_spoken_language_and_the_speech_model() {
    let mut h = harness();
    h.state_mut()
        .push(Command::Show(stackscope::gui::Window::Analyzers, true));
    h.run_steps(4);
    h.get_by_label("Options").click();
    h.run_steps(6);
    h.get_by_label("spoken language");
    // The language list is whisper's own, after `auto`.
    h.get_by_value("auto").click();
    h.run_steps(2);
    h.get_by_label("auto (detect per clip)");
    h.get_by_label("de (german)").click();
    h.run_steps(2);
    h.get_by_value("de (german)");
    h.get_by_value("whisper-base").click();
    h.run_steps(2);
    h.get_by_label("whisper-tiny.en").click();
    h.run_steps(2);
    let form = &h.state_mut().settings_mut().analyze;
    assert_eq!(form.language, "de");
    assert_eq!(form.whisper_model, "whisper-tiny.en");
    // The window hands the analyzers what `--language de --whisper-model whisper-tiny.en`
    // would.
    let options = form.options();
    assert_eq!(options.language, "de");
    assert_eq!(
        options.whisper_model.as_deref(),
        Some(Path::new("whisper-tiny.en"))
    );
}

/// Opens `path` as File → Open would after its dialog.
fn open_path(h: &mut Harness<'_, App>, path: &Path) {
    let ctx = h.ctx.clone();
    h.state_mut()
        .load(&ctx, path.to_path_buf(), LoadOptions::default());
    h.run_steps(2);
    wait_until(h, "the stack to load", |app| {
        app.stack_shape().is_some() && !app.busy()
    });
}

#[test]
fn more_frames_and_pixels_than_the_texture_limit_are_drawn_downscaled() {
    let dir = tempfile::tempdir().unwrap();
    // 9000 frames: the kymograph is 9000 rows tall, past wgpu's 8192.
    let tall = dir.path().join("tall.npy");
    let a = ndarray::Array3::from_shape_fn((9000, 64, 64), |(i, y, x)| (i + y + x) as u8);
    ndarray_npy::write_npy(&tall, &a).unwrap();
    let mut h = harness();
    open_path(&mut h, &tall);
    h.state_mut().set_tool(stackscope::gui::Tool::Line);
    let image = h.state().image_rect().expect("the image is on screen");
    let (from, to) = (
        image.lerp_inside(egui::vec2(0.1, 0.5)),
        image.lerp_inside(egui::vec2(0.9, 0.5)),
    );
    drag(&mut h, from, to);
    wait_until(&mut h, "the kymograph", |app| !app.busy());
    h.get_by_label("Kymograph").click();
    h.run_steps(3);
    let [w, rows] = h
        .state()
        .kymograph_texture_size()
        .expect("the kymograph is drawn");
    // The renderer's limit (8192 with wgpu, less in some test set-ups).
    let max_side = h.ctx.input(|i| i.max_texture_side);
    let shrink = 9000usize.div_ceil(max_side);
    assert!(shrink >= 2, "the test needs 9000 > {max_side}");
    assert_eq!(
        rows,
        9000usize.div_ceil(shrink),
        "{rows} rows for 9000 frames"
    );
    assert!(w >= 1);

    // A frame wider than the limit: shown at half size, and the status bar says so.
    let wide = dir.path().join("wide.npy");
    let a = ndarray::Array3::from_shape_fn((2, 40, 9000), |(i, y, x)| (i + y + x / 40) as u8);
    ndarray_npy::write_npy(&wide, &a).unwrap();
    open_path(&mut h, &wide);
    h.run_steps(3);
    assert_eq!(h.state().stack_shape(), Some([2, 40, 9000, 1]));
    assert_eq!(h.state().texture_shrink(), Some(shrink));
    h.get_by_label_contains(&format!("shown downscaled 1/{shrink}"));
}

#[test]
fn opening_another_stack_during_an_export_keeps_the_export_running_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("kept.mp4");
    let mut h = harness();
    open_sample(&mut h);
    export_ui(&mut h, &out, 20, "ultrafast");
    assert!(h.state().exporting());
    // Another stack opens while the export runs.
    let other = dir.path().join("other.npy");
    let a = ndarray::Array3::from_shape_fn((3, 8, 8), |(i, y, x)| (i + y + x) as u8);
    ndarray_npy::write_npy(&other, &a).unwrap();
    let ctx = h.ctx.clone();
    h.state_mut()
        .load(&ctx, other.clone(), LoadOptions::default());
    wait_until(&mut h, "the second stack", |app| {
        app.stack_shape() == Some([3, 8, 8, 1])
    });
    wait_until(&mut h, "the export", |app| app.export_outcome().is_some());
    let line = h
        .state()
        .export_outcome()
        .cloned()
        .unwrap()
        .expect("the export finished");
    // 40 frames + 39 pairs × 20 blends, all in the file.
    assert!(line.contains("820 frames"), "{line}");
    let decoded = stackscope::load(&out, &LoadOptions::default(), &stackscope::Job::new()).unwrap();
    assert_eq!(decoded.stack.shape(), [820, 120, 160, 3]);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains(".partial")), "{names:?}");
}

/// Runs `stackscope ARGS` and fails the test with its stderr when it fails.
fn cli(args: &[&str]) {
    let out =
        common::output(std::process::Command::new(env!("CARGO_BIN_EXE_stackscope")).args(args));
    assert!(
        out.status.success(),
        "stackscope {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pushes `command` as a panel would and runs the app until its work is done.
fn apply(h: &mut Harness<'_, App>, command: Command) {
    h.state_mut().push(command);
    h.run_steps(1);
    wait_until(h, "the window's work", |app| !app.busy());
}

/// A JSON value without the fields that record how long a run took.
fn without_timings(mut v: serde_json::Value) -> serde_json::Value {
    match &mut v {
        serde_json::Value::Object(map) => {
            map.remove("elapsed");
            for x in map.values_mut() {
                *x = without_timings(x.take());
            }
        }
        serde_json::Value::Array(items) => {
            for x in items.iter_mut() {
                *x = without_timings(x.take());
            }
        }
        _ => {}
    }
    v
}

#[test]
fn the_window_and_the_cli_write_the_same_files_for_the_same_settings() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let text = |p: &Path| p.display().to_string();
    let sample = text(&sample());
    let mut h = harness();
    open_sample(&mut h);

    // Export: 2 blends per gap, lossless-ish, on the CPU.
    let form = ExportForm {
        output: text(&path("window.mp4")),
        steps: 2,
        crf: 18,
        preset: "ultrafast".into(),
        device: "cpu".into(),
        ..ExportForm::default()
    };
    apply(&mut h, Command::StartExport(form));
    assert!(
        h.state().export_outcome().is_some_and(Result::is_ok),
        "{:?}",
        h.state().export_outcome()
    );
    let cli_mp4 = text(&path("cli.mp4"));
    cli(&["export", &sample, "-o", &cli_mp4, "--interp-steps", "2"]
        .into_iter()
        .chain([
            "--crf",
            "18",
            "--preset",
            "ultrafast",
            "--blend-device",
            "cpu",
        ])
        .collect::<Vec<_>>());
    assert!(
        std::fs::read(path("window.mp4")).unwrap() == std::fs::read(&cli_mp4).unwrap(),
        "the exports differ"
    );

    // ROI curves as CSV.
    apply(
        &mut h,
        Command::AddRoi(stackscope::ops::Shape::Rect {
            x: 10.0,
            y: 20.0,
            width: 30.0,
            height: 40.0,
        }),
    );
    let write = |what, name: &str| Command::Write {
        what,
        path: path(name),
        overwrite: false,
    };
    apply(&mut h, write(Saved::Curves, "window.csv"));
    let cli_csv = text(&path("cli.csv"));
    cli(&["roi", &sample, "--rect", "10,20,30,40", "-o", &cli_csv]);
    assert_eq!(
        std::fs::read_to_string(path("window.csv")).unwrap(),
        std::fs::read_to_string(&cli_csv).unwrap()
    );

    // The standard deviation of background-subtracted frames, as an array.
    apply(&mut h, Command::Normalize(NormalizeForm::default()));
    apply(
        &mut h,
        Command::RunReduce {
            op: stackscope::ops::ReduceOp::Std,
            start: String::new(),
            end: String::new(),
        },
    );
    apply(&mut h, write(Saved::Layer, "window.npy"));
    let cli_npy = text(&path("cli.npy"));
    cli(&[
        "reduce",
        &sample,
        "--op",
        "std",
        "--subtract",
        "-o",
        &cli_npy,
    ]);
    assert!(
        std::fs::read(path("window.npy")).unwrap() == std::fs::read(&cli_npy).unwrap(),
        "the reductions differ"
    );

    // Scene analysis as JSON (run times aside).
    let form = AnalyzeForm {
        chosen: vec!["scenes".into()],
        ..AnalyzeForm::default()
    };
    apply(&mut h, Command::StartAnalysis(form));
    apply(&mut h, write(Saved::Analysis { csv: false }, "window.json"));
    let cli_json = text(&path("cli.json"));
    cli(&["analyze", &sample, "-a", "scenes", "-o", &cli_json]);
    let read = |p: &Path| -> serde_json::Value {
        without_timings(serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
    };
    assert_eq!(read(&path("window.json")), read(Path::new(&cli_json)));
}

/// Masks the status line (it holds the load time, which differs from run to run).
fn mask_status(h: &mut Harness<'_, App>) {
    if let Some(status) = h.query_by_label_contains("opened ") {
        let rect = status.rect();
        h.mask(egui::Rect::from_min_max(
            rect.min,
            egui::pos2(1200.0, rect.max.y),
        ));
    }
}

#[test]
fn every_window_and_plot_has_a_snapshot() {
    use stackscope::gui::Window;
    let mut h = harness();
    open_sample(&mut h);
    let mut results = Vec::new();

    // The kymograph of a line across both blobs, with its axes.
    apply(
        &mut h,
        Command::SetLine(stackscope::ops::LineSpec {
            points: vec![(10.0, 60.0), (150.0, 60.0)],
            width: 1,
        }),
    );
    h.get_by_label("Kymograph").click();
    h.run_steps(3);
    assert_eq!(h.state().kymograph_texture_size(), Some([141, 40]));
    mask_status(&mut h);
    results.push(h.try_snapshot_options("kymograph", &snapshot_options()));
    h.get_by_label("Line profile").click();
    h.run_steps(3);
    mask_status(&mut h);
    results.push(h.try_snapshot_options("line_profile", &snapshot_options()));

    let window = |h: &mut Harness<'_, App>, w: Window, open: bool| {
        h.state_mut().push(Command::Show(w, open));
        h.run_steps(3);
    };
    window(&mut h, Window::Export, true);
    let started = Instant::now();
    while h.query_by_label_contains("of frame 1").is_none() {
        assert!(started.elapsed() < Duration::from_secs(60), "no preview");
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.run_steps(2);
    h.get_by_label_contains("output frames");
    mask_status(&mut h);
    results.push(h.try_snapshot_options("export_dialog", &snapshot_options()));
    window(&mut h, Window::Export, false);

    window(&mut h, Window::Analyzers, true);
    h.get_by_label("Run analyzers");
    for (name, _) in stackscope::analyze::ANALYZERS {
        h.get_by_label(name);
    }
    mask_status(&mut h);
    results.push(h.try_snapshot_options("analyzers_window", &snapshot_options()));
    window(&mut h, Window::Analyzers, false);

    window(&mut h, Window::Batch, true);
    h.run_steps(2);
    h.get_by_label("Run batch");
    mask_status(&mut h);
    results.push(h.try_snapshot_options("batch_window", &snapshot_options()));
    window(&mut h, Window::Batch, false);

    window(&mut h, Window::LoadReport, true);
    // The report holds the load time, the RAM limit (a share of this machine's memory) and
    // the checkout's path; the mask covers the whole text area, whose size is fixed, so that
    // a longer path, wrapped onto more lines, cannot change what is compared.
    let report = h.get_by_label_contains("40 frames").rect();
    h.mask(egui::Rect::from_min_size(
        report.min,
        egui::vec2(450.0, 150.0),
    ));
    mask_status(&mut h);
    results.push(h.try_snapshot_options("load_report", &snapshot_options()));
    window(&mut h, Window::LoadReport, false);

    window(&mut h, Window::Shortcuts, true);
    h.get_by_label("play / pause");
    mask_status(&mut h);
    results.push(h.try_snapshot_options("shortcuts", &snapshot_options()));
    window(&mut h, Window::Shortcuts, false);

    h.state_mut().open_dialog(sample().display().to_string());
    let started = Instant::now();
    while h.query_by_label_contains("loads 40 frames").is_none() {
        assert!(started.elapsed() < Duration::from_secs(60), "no probe");
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.run_steps(2);
    // The estimate names the RAM limit, a share of this machine's memory, and the path
    // field holds where this checkout is.
    let estimate = h.get_by_label_contains("loads 40 frames").rect();
    h.mask(estimate);
    // The frame cache line names this machine's cache folder and what it holds.
    let cache_line = h.get_by_label_contains("frame cache:").rect();
    h.mask(egui::Rect::from_min_size(
        cache_line.min,
        egui::vec2(450.0, cache_line.height()),
    ));
    // The path field lies between its label and the Folder… button, which do not move
    // whatever the path; the field's own node grows with a long path.
    let label = h.get_by_label("Path").rect();
    let button = h.get_by_label("Folder…").rect();
    h.mask(egui::Rect::from_min_max(
        egui::pos2(label.max.x + 1.0, button.min.y),
        egui::pos2(button.min.x - 1.0, button.max.y),
    ));
    mask_status(&mut h);
    results.push(h.try_snapshot_options("load_dialog", &snapshot_options()));
    let failed: Vec<String> = results
        .into_iter()
        .filter_map(|r| r.err().map(|e| e.to_string()))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn interpolated_playback_shows_blends_between_frames() {
    let mut h = harness();
    open_sample(&mut h);
    {
        let p = &mut h.state_mut().settings_mut().playback;
        p.steps = 7;
        p.fps = 200.0;
        p.looping = false;
    }
    h.get_by_label("Play").click();
    h.run_steps(1);
    assert!(h.state().playing());
    let mut weights = std::collections::BTreeSet::new();
    let started = Instant::now();
    while h.state().playing() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "playback never ended"
        );
        h.step();
        weights.insert(h.state().blend().unwrap());
    }
    // The weights of 7 steps are k·256/8 (k = 1…7) and the source frames themselves (0):
    // every frame shown is one of them, and blends did show.
    assert!(weights.iter().all(|w| w % 32 == 0), "{weights:?}");
    assert!(weights.len() > 2, "{weights:?}");
    assert_eq!(h.state().frame(), Some(39));
    // The in-between frames came from the export's blender (the CPU one on this machine
    // unless it has a GPU), opened for playback.
    wait_until(&mut h, "the playback blender", |app| {
        app.blend_device().is_some()
    });
}

#[test]
fn the_load_dialog_sends_a_stack_over_the_ram_limit_to_the_frame_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("frames");
    let mut h = harness();
    {
        let form = &mut h.state_mut().settings_mut().load;
        form.max_ram = "100K".into();
        form.cache = "folder".into();
        form.cache_dir = cache.display().to_string();
    }
    let probe = |h: &mut Harness<'_, App>, text: &str| {
        h.state_mut().open_dialog(sample().display().to_string());
        let started = Instant::now();
        while h.query_by_label_contains(text).is_none() {
            assert!(started.elapsed() < Duration::from_secs(60), "no '{text}'");
            std::thread::sleep(Duration::from_millis(10));
            h.step();
        }
    };
    // Every frame, to disk, rather than one in three by the memory guard.
    probe(&mut h, "over the RAM limit");
    h.get_by_label_contains("loads 40 frames");
    h.get_by_label_contains("frame cache: 0 entries");
    assert!(h.query_by_label_contains("memory guard").is_none());
    h.get_by_label("Load").click();
    h.run_steps(2);
    wait_until(&mut h, "the stack to load", |app| {
        app.stack_shape().is_some()
    });
    assert_eq!(h.state().stack_shape(), Some([40, 120, 160, 3]));
    let entry = h
        .state()
        .stack_cache()
        .expect("mapped from the cache")
        .clone();
    assert!(!entry.reused && entry.entry.starts_with(&cache));
    h.get_by_label_contains("memory-mapped");

    // The dialog counts the entry and clears it; the open stack keeps its frames.
    probe(&mut h, "frame cache: 1 entry");
    h.get_by_label("Clear").click();
    h.run_steps(3);
    h.get_by_label_contains("frame cache: 0 entries");
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0);
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    h.key_press(egui::Key::End);
    h.run_steps(3);
    h.get_by_label("frame 39 / 40");
    assert_eq!(h.state().frame(), Some(39));
}

#[test]
fn the_batch_window_runs_a_folder_and_opens_a_finished_clip_with_its_results() {
    let dir = tempfile::tempdir().unwrap();
    let clips = dir.path().join("clips");
    common::tiny_clips(&clips, 3);
    std::fs::write(clips.join("broken.mp4"), b"not a video").unwrap();
    let results = dir.path().join("results");
    let mut h = harness();
    {
        let settings = h.state_mut().settings_mut();
        settings.batch.folder = clips.display().to_string();
        settings.batch.out = results.display().to_string();
        settings.batch.glob = "*.mp4".into();
        settings.analyze.chosen = vec!["scenes".into()];
    }
    h.state_mut()
        .push(Command::Show(stackscope::gui::Window::Batch, true));
    h.run_steps(4);
    let run = |h: &mut Harness<'_, App>| {
        h.get_by_label("Run batch").click();
        h.run_steps(2);
        let started = Instant::now();
        while h.state().batch_outcome().is_none() {
            assert!(started.elapsed() < Duration::from_secs(120), "no outcome");
            std::thread::sleep(Duration::from_millis(20));
            h.step();
        }
        h.run_steps(2);
        h.state().batch_outcome().cloned().unwrap()
    };
    let first = run(&mut h).unwrap_err();
    assert!(
        first.contains("4 clips: 3 done, 0 already current, 1 failed"),
        "{first}"
    );
    assert!(first.contains("broken.mp4"), "{first}");
    h.get_by_label("3 clips with results");
    assert!(results.join("clip2.mp4.json").is_file());
    // The same engine as the command line: a second run finds them current.
    let second = run(&mut h).unwrap_err();
    assert!(
        second.contains("0 done, 3 already current, 1 failed"),
        "{second}"
    );

    // The same folder exported with the Export window's settings, into another folder.
    let exported = dir.path().join("exported");
    {
        let form = &mut h.state_mut().settings_mut().batch;
        form.export = true;
        form.out = exported.display().to_string();
    }
    h.run_steps(2);
    let third = run(&mut h).unwrap_err();
    assert!(
        third.contains("4 clips: 3 done, 0 already current, 1 failed"),
        "{third}"
    );
    let single = dir.path().join("single.mp4");
    let (code, _, stderr) = common::stackscope(&[
        "export",
        clips.join("clip1.mp4").to_str().unwrap(),
        "-o",
        single.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let frames = |p: &Path| {
        let decoded = common::output(
            std::process::Command::new("ffmpeg")
                .args(["-v", "error", "-i"])
                .arg(p)
                .args(["-f", "framemd5", "-"]),
        );
        String::from_utf8_lossy(&decoded.stdout).into_owned()
    };
    let batch = frames(&exported.join("clip1.mp4.mp4"));
    assert_eq!(batch.lines().filter(|l| !l.starts_with('#')).count(), 20);
    assert_eq!(
        batch,
        frames(&single),
        "the window's batch export = the CLI's export"
    );
    {
        let form = &mut h.state_mut().settings_mut().batch;
        form.export = false;
        form.out = results.display().to_string();
    }
    h.run_steps(2);

    // Open one: the clip loads and its scenes are over it.
    let finished = h.state().batch_finished().to_vec();
    let at = finished
        .iter()
        .position(|f| f.name == std::path::Path::new("clip2.mp4"))
        .unwrap();
    h.get_all_by_label("Open").nth(at).unwrap().click();
    h.run_steps(2);
    wait_until(&mut h, "the clip to load", |app| {
        app.stack_shape().is_some()
    });
    h.run_steps(2);
    assert_eq!(h.state().stack_shape().map(|s| s[0]), Some(30));
    let shown = h.state().analysis_results();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].analyzer, "scenes");
    assert_eq!(shown[0].source, clips.join("clip2.mp4"));
}

/// A silent clip of three 2-second shots at 25 fps (320×180): moving gradients, a flat blue
/// with white text, colour bars.
fn three_shot_clip(path: &Path) {
    let font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    let made = common::output(std::process::Command::new("ffmpeg").args([
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "gradients=s=320x180:r=25:d=2:speed=0.05:c0=0xf0a030:c1=0x604090:seed=7",
        "-f",
        "lavfi",
        "-i",
        "color=c=0x203a60:s=320x180:r=25:d=2",
        "-f",
        "lavfi",
        "-i",
        "smptehdbars=s=320x180:r=25:d=2",
        "-filter_complex",
        &format!(
            "[1:v]drawtext=fontfile={font}:text=Shot two:fontsize=28:fontcolor=white:\
             x=(w-tw)/2:y=(h-th)/2[t];[0:v][t][2:v]concat=n=3:v=1:a=0[v]"
        ),
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        path.to_str().unwrap(),
    ]));
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
}

#[test]
fn the_storyboard_tab_shows_a_card_per_scene_seeks_on_a_click_and_saves_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("shots.mp4");
    three_shot_clip(&clip);
    let mut h = harness();
    open_path(&mut h, &clip);
    // Before any analysis the tab says how to get one.
    h.get_by_label("Storyboard").click();
    h.run_steps(2);
    h.get_by_label_contains("No storyboard yet");
    // A storyboard of the scenes alone: no model needed.
    let form = AnalyzeForm {
        chosen: vec!["storyboard".into(), "scenes".into()],
        ..AnalyzeForm::default()
    };
    apply(&mut h, Command::StartAnalysis(form));
    let results = h.state().analysis_results();
    let names: Vec<&str> = results.iter().map(|r| r.analyzer.as_str()).collect();
    assert_eq!(names, ["scenes", "storyboard"]);
    h.run_steps(3);
    for k in 1..=3 {
        h.get_by_label(&format!("scene {k}: nothing detected"));
    }
    h.get_by_label("scene 3: nothing detected").click();
    h.run_steps(3);
    h.get_by_label("frame 100 / 150");
    h.get_by_label("scene 2: nothing detected").click();
    h.run_steps(3);
    h.get_by_label("frame 50 / 150");
    mask_status(&mut h);
    h.snapshot_options("storyboard_tab", &snapshot_options());

    // The report is the one `analyze --html` writes: a card and a thumbnail per scene.
    let report = dir.path().join("report.html");
    apply(
        &mut h,
        Command::Write {
            what: Saved::Report,
            path: report.clone(),
            overwrite: false,
        },
    );
    let page = std::fs::read_to_string(&report).unwrap();
    assert_eq!(page.matches("<section class=\"card\"").count(), 3);
    assert_eq!(
        page.matches("<img src=\"data:image/jpeg;base64,").count(),
        3
    );
    // Saving again without overwriting is refused and leaves the page as it was.
    apply(
        &mut h,
        Command::Write {
            what: Saved::Report,
            path: report.clone(),
            overwrite: false,
        },
    );
    assert_eq!(std::fs::read_to_string(&report).unwrap(), page);
    // A card's tooltip lists what the scene holds and what a click does.
    h.get_by_label("scene 1: nothing detected").hover();
    let started = Instant::now();
    while h.query_by_label("click: show this scene").is_none() {
        assert!(started.elapsed() < Duration::from_secs(10), "no tooltip");
        h.step();
    }
}
