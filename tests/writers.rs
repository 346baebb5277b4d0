//! Nothing is destroyed: for every writer of the command line, an output that is an input
//! is refused with the input untouched, an existing output needs `--force`, a run that fails
//! with `--force` leaves the old output byte-identical, and Ctrl-C (once or twice) leaves
//! neither a partial file nor a damaged old one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::stackscope;

/// A 6×16×16 uint8 stack as `.npy`.
fn npy_stack(dir: &Path) -> PathBuf {
    let p = dir.join("stack.npy");
    let a = ndarray::Array3::from_shape_fn((6, 16, 16), |(i, y, x)| (i * 20 + y + x) as u8);
    ndarray_npy::write_npy(&p, &a).unwrap();
    p
}

/// One second of a 440 Hz tone as WAV.
fn tone(dir: &Path) -> PathBuf {
    let p = dir.join("tone.wav");
    let status = common::status(
        Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
            .args(["-i", "sine=frequency=440:duration=1:sample_rate=8000"])
            .arg(&p),
    );
    assert!(status.success());
    p
}

/// Every file in `dir` (hidden temporaries included).
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs a command line (paths here hold no spaces).
fn run(line: &str) -> (i32, String, String) {
    stackscope(&line.split_whitespace().collect::<Vec<_>>())
}

#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let stack = npy_stack(dir.path());
    let wav = tone(dir.path());
    let before_stack = std::fs::read(&stack).unwrap();
    let before_wav = std::fs::read(&wav).unwrap();
    // The same file by another name must be caught too.
    let link = dir.path().join("hard-link.npy");
    std::fs::hard_link(&stack, &link).unwrap();
    let dotted = format!("{}/./stack.npy", dir.path().display());
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample");
    let (st, wv, ln) = (s(&stack), s(&wav), s(&link));
    let d = dir.path().display();
    let runs = [
        format!("reduce {st} --op mean -o {st} --force"),
        format!("reduce {st} --op mean -o {dotted} --force"),
        format!("reduce {st} --op max -o {ln} --force"),
        format!("roi {st} --rect 0,0,4,4 -o {st} --force"),
        format!("profile {st} --line 0,0,8,8 -o {st} --force"),
        format!("profile {st} --line 0,0,8,8 -o {d}/p.csv --kymograph {st} --force"),
        format!("export {st} -o {st} --force"),
        format!("export {sample} -o {wv} --audio {wv} --force"),
        format!("visualize {wv} -o {wv} --force"),
        format!("visualize {wv} -o {wv} --still 0.5 --force"),
        format!("analyze {st} -a scenes -o {st} --force"),
        format!("analyze {st} -a scenes --csv {ln} --force"),
    ];
    for line in &runs {
        let (code, _, stderr) = run(line);
        assert_eq!(code, 1, "{line}: {stderr}");
        assert!(
            stderr.contains("is the same file as the input"),
            "{line}: {stderr}"
        );
    }
    assert_eq!(std::fs::read(&stack).unwrap(), before_stack);
    assert_eq!(std::fs::read(&wav).unwrap(), before_wav);
    assert_eq!(
        listing(dir.path()),
        vec!["hard-link.npy", "stack.npy", "tone.wav"]
    );
}

#[test]
fn every_writer_needs_force_to_replace_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let stack = npy_stack(dir.path());
    let wav = tone(dir.path());
    let out = |name: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, b"precious").unwrap();
        p
    };
    let (png, csv, kymo, mp4, still, json) = (
        out("mean.png"),
        out("curves.csv"),
        out("kymo.png"),
        out("out.mp4"),
        out("still.png"),
        out("scenes.json"),
    );
    let (st, wv, d) = (s(&stack), s(&wav), dir.path().display());
    let runs = [
        format!("reduce {st} --op mean -o {}", s(&png)),
        format!("roi {st} --rect 0,0,4,4 -o {}", s(&csv)),
        format!("profile {st} --line 0,0,8,8 -o {}", s(&csv)),
        format!(
            "profile {st} --line 0,0,8,8 -o {d}/fresh.csv --kymograph {}",
            s(&kymo)
        ),
        format!("export {st} -o {}", s(&mp4)),
        format!("visualize {wv} -o {}", s(&mp4)),
        format!("visualize {wv} -o {} --still 0.5", s(&still)),
        format!("analyze {st} -a scenes -o {}", s(&json)),
    ];
    for line in &runs {
        let (code, _, stderr) = run(line);
        assert_eq!(code, 1, "{line}: {stderr}");
        assert!(
            stderr.contains("already exists") && stderr.contains("pass --force"),
            "{line}: {stderr}"
        );
    }
    for p in [&png, &csv, &kymo, &mp4, &still, &json] {
        assert_eq!(std::fs::read(p).unwrap(), b"precious", "{p:?}");
    }
    // With --force each one replaces its file.
    for line in &runs {
        let (code, _, stderr) = run(&format!("{line} --force"));
        assert_eq!(code, 0, "{line} --force: {stderr}");
    }
    for p in [&png, &csv, &kymo, &mp4, &still, &json] {
        assert_ne!(std::fs::read(p).unwrap(), b"precious", "{p:?}");
    }
    assert!(!listing(dir.path()).iter().any(|n| n.contains(".partial")));
}

#[test]
fn a_failing_run_with_force_leaves_the_old_output_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let stack = npy_stack(dir.path());
    let old = |name: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, b"old output").unwrap();
        p
    };
    let (mp4, png, csv) = (old("out.mp4"), old("mean.png"), old("curves.csv"));
    let (kymo, json, still) = (old("kymo.png"), old("scenes.json"), old("still.png"));
    // Bytes that no decoder reads as a clip or as audio.
    let broken = dir.path().join("broken.mp4");
    std::fs::write(&broken, vec![0x5a; 4096]).unwrap();
    let missing = dir.path().join("no-such-audio.wav");
    let wrong_size = dir.path().join("ref.png");
    image::GrayImage::new(3, 3).save(&wrong_size).unwrap();
    let (st, bad_ref) = (s(&stack), s(&wrong_size));
    let runs = [
        // The encoder starts, then the audio cannot be opened.
        format!("export {st} -o {} --audio {} --force", s(&mp4), s(&missing)),
        // The reference image does not fit the frames.
        format!(
            "reduce {st} --op mean -o {} --subtract --ref-file {bad_ref} --force",
            s(&png)
        ),
        format!(
            "roi {st} --rect 0,0,4,4 -o {} --divide --ref-file {bad_ref} --force",
            s(&csv)
        ),
        // The frame asked for is past the stack's end.
        format!(
            "profile {st} --line 0,0,8,8 --frame 99 -o {} --kymograph {} --force",
            s(&csv),
            s(&kymo)
        ),
        format!("analyze {} -a scenes -o {} --force", s(&broken), s(&json)),
        format!("visualize {} -o {} --force", s(&broken), s(&mp4)),
        format!(
            "visualize {} -o {} --still 1 --force",
            s(&broken),
            s(&still)
        ),
    ];
    for line in &runs {
        let (code, _, stderr) = run(line);
        assert_eq!(code, 1, "{line}: {stderr}");
    }
    for p in [&mp4, &png, &csv, &kymo, &json, &still] {
        assert_eq!(std::fs::read(p).unwrap(), b"old output", "{p:?}");
    }
    assert!(!listing(dir.path()).iter().any(|n| n.contains(".partial")));
}

/// Waits until `cond` holds, at most `limit`; panics with `what` otherwise.
fn wait_for(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts a long export of the bundled sample onto `out` (which may exist).
fn long_export(out: &Path) -> std::process::Child {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample");
    Command::new(env!("CARGO_BIN_EXE_stackscope"))
        .args([
            "export",
            sample,
            "-o",
            s(out),
            "--force",
            "--interp-steps",
            "200",
        ])
        .args([
            "--preset",
            "veryslow",
            "--crf",
            "0",
            "--blend-device",
            "cpu",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn interrupt(child: &std::process::Child) {
    let status = common::status(Command::new("kill").args(["-INT", &child.id().to_string()]));
    assert!(status.success());
}

fn wait_exit(child: &mut std::process::Child) -> i32 {
    let limit = Duration::from_secs(60);
    let status = common::wait_within(child, limit, "the export after Ctrl-C");
    status.code().unwrap_or(-1)
}

#[test]
fn ctrl_c_once_or_twice_leaves_no_partial_file_and_the_old_one_intact() {
    for presses in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("talk.mp4");
        std::fs::write(&out, b"yesterday's export").unwrap();
        let mut child = long_export(&out);
        // Interrupt once the encoder is writing its temporary file.
        wait_for(Duration::from_secs(60), "the temporary output", || {
            listing(dir.path()).iter().any(|n| n.contains(".partial"))
        });
        std::thread::sleep(Duration::from_millis(300));
        for _ in 0..presses {
            interrupt(&child);
            std::thread::sleep(Duration::from_millis(5));
        }
        let code = wait_exit(&mut child);
        assert_eq!(code, 130, "Ctrl-C ×{presses}");
        assert_eq!(listing(dir.path()), vec!["talk.mp4"], "Ctrl-C ×{presses}");
        assert_eq!(std::fs::read(&out).unwrap(), b"yesterday's export");
    }
}
