//! The `stackscope` binary: output, JSON and exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::stackscope;

#[test]
fn info_on_the_bundled_sample() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample");
    let (code, stdout, _) = stackscope(&["info", sample]);
    assert_eq!(code, 0);
    assert!(stdout.contains("40 frames × 120 × 160 × 3"), "{stdout}");

    let (code, stdout, _) = stackscope(&["info", sample, "--json", "--grayscale", "--step", "4"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["report"]["shape"], serde_json::json!([10, 120, 160, 1]));
    assert_eq!(v["report"]["frame_step"], 4);
    assert_eq!(v["meta"]["channels"], "gray");
}

#[test]
fn errors_are_one_line_and_non_zero() {
    let (code, stdout, stderr) = stackscope(&["info", "/definitely/not/here"]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: /definitely/not/here: no such file"),
        "{stderr}"
    );

    let (code, _, stderr) = stackscope(&["info", ".", "--crop", "1,2,3"]);
    assert_eq!(code, 2, "usage errors exit 2: {stderr}");
}

#[test]
fn guard_is_reported_by_the_cli() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample");
    let (code, stdout, _) = stackscope(&["info", sample, "--max-ram", "1M", "--cache", "off"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("memory guard") && stdout.contains("one frame in 3"),
        "{stdout}"
    );
}

#[test]
fn export_writes_then_refuses_to_overwrite_without_force() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.mp4");
    let out_str = out.to_str().unwrap();
    let args = [
        "export",
        sample,
        "-o",
        out_str,
        "--interp-steps",
        "2",
        "--preset",
        "ultrafast",
    ];
    let (code, stdout, stderr) = stackscope(&args);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("118 frames"), "{stdout}");
    let (code, _, stderr) = stackscope(&args);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    let (code, _, stderr) = stackscope(&[&args[..], &["--force"]].concat());
    assert_eq!(code, 0, "{stderr}");
    let too_many = [
        "export",
        sample,
        "-o",
        out_str,
        "--interp-steps",
        "500",
        "--force",
    ];
    let (code, _, stderr) = stackscope(&too_many);
    assert_eq!(code, 1);
    assert!(stderr.contains("500") && stderr.contains("200"), "{stderr}");
}

#[test]
fn auto_blend_device_on_a_machine_without_a_gpu_is_quiet() {
    if stackscope::interp::choice::hardware_gpu_possible() {
        eprintln!("this machine has a GPU device; the quiet path is for machines without one");
        return;
    }
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("quiet.mp4");
    // Without XDG_RUNTIME_DIR, probing Mesa's Vulkan loader prints an error per probe.
    let result = common::output(
        std::process::Command::new(env!("CARGO_BIN_EXE_stackscope"))
            .args([
                "export",
                sample,
                "-o",
                out.to_str().unwrap(),
                "--interp-steps",
                "1",
            ])
            .env_remove("XDG_RUNTIME_DIR"),
    );
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(stderr.trim().is_empty(), "stray output: {stderr}");
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        stdout.contains("blend device: cpu: no GPU device"),
        "{stdout}"
    );
}

#[test]
#[should_panic(expected = "did not finish within 0 s")]
fn a_test_command_that_hangs_fails_instead_of_waiting_forever() {
    common::output_within(
        std::process::Command::new("sleep").arg("30"),
        std::time::Duration::from_millis(200),
    );
}

#[test]
fn cache_list_and_clear_on_a_populated_cache() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("frames");
    let cache_arg = cache.to_str().unwrap();
    for grayscale in [false, true] {
        let mut args = vec!["info", sample, "--max-ram", "100K", "--cache", cache_arg];
        if grayscale {
            args.push("--grayscale");
        }
        let (code, stdout, stderr) = stackscope(&args);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("new entry"), "{stdout}");
        assert!(
            stdout.contains("40 frames"),
            "every frame, no thinning: {stdout}"
        );
    }
    let (code, stdout, _) = stackscope(&["cache", "list", "--json", "--cache-dir", cache_arg]);
    assert_eq!(code, 0);
    let entries: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let shapes: Vec<&serde_json::Value> = entries.iter().map(|e| &e["shape"]).collect();
    assert!(
        shapes.contains(&&serde_json::json!([40, 120, 160, 3])),
        "{shapes:?}"
    );
    assert!(
        shapes.contains(&&serde_json::json!([40, 120, 160, 1])),
        "{shapes:?}"
    );
    let total: u64 = entries.iter().map(|e| e["bytes"].as_u64().unwrap()).sum();
    assert!(total > 40 * 120 * 160 * 4, "{total}");
    let (_, text, _) = stackscope(&["cache", "list", "--cache-dir", cache_arg]);
    assert!(text.contains("2 entries"), "{text}");
    // Nothing is a day old yet.
    let (code, stdout, _) = stackscope(&[
        "cache",
        "clear",
        "--older-than",
        "1",
        "--cache-dir",
        cache_arg,
    ]);
    assert_eq!(code, 0);
    assert!(stdout.contains("removed 0 entries"), "{stdout}");
    let (code, stdout, _) = stackscope(&["cache", "clear", "--cache-dir", cache_arg]);
    assert_eq!(code, 0);
    assert!(stdout.contains("removed 2 entries"), "{stdout}");
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0);
    // A limit too small for the stack: a clear error and the flags that help.
    let (code, _, stderr) = stackscope(&[
        "info",
        sample,
        "--max-ram",
        "100K",
        "--cache",
        cache_arg,
        "--cache-limit",
        "1M",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("cache limit") && stderr.contains("--cache-limit"),
        "{stderr}"
    );
}

#[test]
fn ops_on_a_stack_in_the_frame_cache_equal_the_same_ops_in_ram() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("frames");
    let cache_arg = cache.to_str().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    // Each command runs on the stack in RAM and on the same stack from the cache (the sample
    // is 2.2 MiB; 100K sends it to disk).
    let runs: Vec<Vec<String>> = vec![
        vec![
            "reduce",
            sample,
            "--op",
            "std",
            "--subtract",
            "--window",
            "5",
        ],
        vec![
            "reduce",
            sample,
            "--op",
            "median",
            "--mask-shape",
            "ellipse:80,60,50,40",
        ],
        vec![
            "roi",
            sample,
            "--rect",
            "10,20,30,40",
            "--probe",
            "100,60",
            "--dff",
        ],
        vec!["profile", sample, "--line", "10,60,150,60", "--frame", "7"],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(String::from).collect())
    .collect();
    for (k, args) in runs.iter().enumerate() {
        let ext = if args[0] == "reduce" { "npy" } else { "csv" };
        let mut results = Vec::new();
        for (where_, extra) in [
            ("ram", vec![]),
            ("cache", vec!["--max-ram", "100K", "--cache", cache_arg]),
        ] {
            let file = out(&format!("{k}-{where_}.{ext}"));
            let mut full: Vec<&str> = args.iter().map(String::as_str).collect();
            full.extend(extra);
            full.extend(["-o", &file]);
            let (code, _, stderr) = stackscope(&full);
            assert_eq!(code, 0, "{full:?}: {stderr}");
            results.push(std::fs::read(&file).unwrap());
        }
        assert!(!results[0].is_empty());
        assert_eq!(results[0], results[1], "{args:?}: RAM and cache differ");
    }
    // An export from the cache decodes to the same frames as one from RAM.
    let mut md5s = Vec::new();
    for (where_, extra) in [
        ("ram", vec![]),
        ("cache", vec!["--max-ram", "100K", "--cache", cache_arg]),
    ] {
        let file = out(&format!("export-{where_}.mp4"));
        let mut full = vec!["export", sample, "-o", &file, "--interp-steps", "1"];
        full.extend(extra);
        let (code, _, stderr) = stackscope(&full);
        assert_eq!(code, 0, "{stderr}");
        let decoded = common::output(
            std::process::Command::new("ffmpeg")
                .args(["-v", "error", "-i", &file, "-f", "framemd5", "-"]),
        );
        assert!(decoded.status.success());
        md5s.push(String::from_utf8_lossy(&decoded.stdout).into_owned());
    }
    assert!(md5s[0].lines().filter(|l| !l.starts_with('#')).count() >= 79);
    assert_eq!(md5s[0], md5s[1], "the exports' frames differ");
    // Every cached run used one entry (the same source and pixel options).
    let (_, stdout, _) = stackscope(&["cache", "list", "--json", "--cache-dir", cache_arg]);
    let entries: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 1);
}

#[test]
fn batch_export_and_reduce_write_what_the_single_commands_write() {
    let dir = tempfile::tempdir().unwrap();
    let clips = dir.path().join("clips");
    common::tiny_clips(&clips, 3);
    let c = clips.to_str().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let reduce_all = [
        "batch",
        "reduce",
        c,
        "--glob",
        "*.mp4",
        "--out",
        o,
        "--op",
        "std",
        "--grayscale",
    ];
    let (code, stdout, stderr) = stackscope(&reduce_all);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("3 inputs: 3 done"), "{stdout}");
    let (code, stdout, stderr) = stackscope(&[
        "batch",
        "export",
        c,
        "--glob",
        "*.mp4",
        "--out",
        o,
        "--interp-steps",
        "1",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("3 inputs: 3 done"), "{stdout}");
    let md5 = |path: &std::path::Path| {
        let decoded = common::output(
            std::process::Command::new("ffmpeg")
                .args(["-v", "error", "-i"])
                .arg(path)
                .args(["-f", "framemd5", "-"]),
        );
        assert!(decoded.status.success());
        String::from_utf8_lossy(&decoded.stdout).into_owned()
    };
    for k in 0..3 {
        let clip = clips.join(format!("clip{k}.mp4"));
        let single = dir.path().join(format!("single{k}.npy"));
        let (code, _, stderr) = stackscope(&[
            "reduce",
            clip.to_str().unwrap(),
            "--op",
            "std",
            "--grayscale",
            "-o",
            single.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(
            std::fs::read(out.join(format!("clip{k}.mp4.npy"))).unwrap(),
            std::fs::read(&single).unwrap()
        );
        let mp4 = dir.path().join(format!("single{k}.mp4"));
        let (code, _, stderr) = stackscope(&[
            "export",
            clip.to_str().unwrap(),
            "-o",
            mp4.to_str().unwrap(),
            "--interp-steps",
            "1",
        ]);
        assert_eq!(code, 0, "{stderr}");
        let batch = md5(&out.join(format!("clip{k}.mp4.mp4")));
        assert_eq!(batch, md5(&mp4), "clip{k}");
        // Every source frame and one blend between each pair: 2n − 1 frames.
        let frames = batch.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(frames, 2 * 10 * (k + 1) - 1);
    }
    // Two at a time: x264 records its options in the stream, and the two encoders share the
    // cores between them (frames large enough that x264 would take more threads alone).
    let wide = dir.path().join("wide");
    std::fs::create_dir_all(&wide).unwrap();
    for k in 0..2 {
        common::testsrc2_clip(&wide.join(format!("w{k}.mp4")), "640x360", 1);
    }
    let two = dir.path().join("two");
    let (code, _, stderr) = stackscope(&[
        "batch",
        "export",
        wide.to_str().unwrap(),
        "--out",
        two.to_str().unwrap(),
        "-j",
        "2",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = format!(" threads={} ", (cores / 2).max(1));
    let options =
        |p: &std::path::Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    for k in 0..2 {
        let text = options(&two.join(format!("w{k}.mp4.mp4")));
        assert!(
            text.contains(&threads),
            "w{k}: no '{threads}' in x264's options"
        );
    }
    if cores >= 2 {
        // Alone, an export takes x264's own count (1.5 a core): the check tells them apart.
        let alone = dir.path().join("alone.mp4");
        let w0 = wide.join("w0.mp4");
        let (code, _, _) = stackscope(&[
            "export",
            w0.to_str().unwrap(),
            "-o",
            alone.to_str().unwrap(),
        ]);
        assert_eq!(code, 0);
        assert!(!options(&alone).contains(&threads), "alone: {threads}");
    }
    // Both ran into one folder and one state: a rerun of either finds its outputs current.
    let (_, stdout, _) = stackscope(&reduce_all);
    assert!(stdout.contains("0 done, 3 already current"), "{stdout}");
    // Another format is other outputs.
    let (_, stdout, _) = stackscope(&[&reduce_all[..], &["--format", "png"][..]].concat());
    assert!(stdout.contains("3 done, 0 already current"), "{stdout}");
    assert!(out.join("clip0.mp4.png").is_file());
}

#[test]
fn batch_visualize_renders_what_the_single_command_renders() {
    let dir = tempfile::tempdir().unwrap();
    let sounds = dir.path().join("sounds");
    std::fs::create_dir_all(&sounds).unwrap();
    let rate = 22_050;
    for (k, secs) in [1.0, 2.0].into_iter().enumerate() {
        let samples = stackscope::sample::sine_sweep(rate, secs, 200.0, 4_000.0);
        stackscope::sample::write_wav(&sounds.join(format!("s{k}.wav")), rate, &samples).unwrap();
    }
    let out = dir.path().join("out");
    let look = ["--size", "64x48", "--fps", "10", "--style", "spectrogram"];
    let mut args = vec!["batch", "visualize", sounds.to_str().unwrap()];
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend(look);
    let (code, stdout, stderr) = stackscope(&args);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("2 inputs: 2 done"), "{stdout}");
    for (k, secs) in [1.0, 2.0].into_iter().enumerate() {
        let single = dir.path().join(format!("single{k}.mp4"));
        let wav = sounds.join(format!("s{k}.wav"));
        let mut args = vec![
            "visualize",
            wav.to_str().unwrap(),
            "-o",
            single.to_str().unwrap(),
        ];
        args.extend(look);
        let (code, _, stderr) = stackscope(&args);
        assert_eq!(code, 0, "{stderr}");
        let batch = out.join(format!("s{k}.wav.mp4"));
        let video = common::stream_durations(&batch)
            .into_iter()
            .find(|(kind, _)| kind == "video")
            .map(|(_, d)| d)
            .unwrap();
        assert!((video - secs).abs() < 0.15, "s{k}: {video} s of video");
        let frames = |p: &std::path::Path| {
            let decoded = common::output(
                std::process::Command::new("ffmpeg")
                    .args(["-v", "error", "-i"])
                    .arg(p)
                    .args(["-map", "0:v", "-f", "framemd5", "-"]),
            );
            String::from_utf8_lossy(&decoded.stdout).into_owned()
        };
        assert_eq!(frames(&batch), frames(&single), "s{k}");
    }
}
