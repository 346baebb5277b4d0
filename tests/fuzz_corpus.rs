//! Every committed fuzz input, run through the fuzz targets on every test run: the seeds in
//! `fuzz/corpus/TARGET/` and every crash the fuzzer ever found, kept in
//! `fuzz/regressions/TARGET/`. The same target functions run under cargo-afl in
//! `scripts/fuzz.sh`; here they run without instrumentation, under the same allocator that
//! aborts on a header-sized allocation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../fuzz/src/targets.rs"]
mod targets;

#[global_allocator]
static ALLOC: targets::Bounded = targets::Bounded;

use std::path::Path;

/// Runs `target` over every file of the corpus and regression folders; returns how many.
fn replay(name: &str, target: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for folder in ["corpus", "regressions"] {
        let dir = root.join(folder).join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name}: {} panicked", file.display());
            count += 1;
        }
    }
    count
}

#[test]
fn npy_corpus() {
    assert!(replay("npy", targets::npy) >= 5);
}

#[test]
fn tiff_corpus() {
    assert!(replay("tiff", targets::tiff) >= 5);
}

#[test]
fn image_corpus() {
    assert!(replay("image", targets::image) >= 3);
}

#[test]
fn audio_corpus() {
    assert!(replay("audio", targets::audio) >= 2);
}

#[test]
fn video_corpus() {
    assert!(replay("video", targets::video) >= 2);
}
