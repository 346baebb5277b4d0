//! The fuzz targets: bytes in, one of stackscope's readers over them, and checks that hold
//! for every input. Shared by the cargo-afl binaries (`fuzz/src/bin/`) and by the corpus
//! regression test (`tests/fuzz_corpus.rs`), which runs every committed input through the
//! same functions on every CI run.
//!
//! A reader may refuse an input with an error; it may not panic, abort, hang past its own
//! checks, or allocate far beyond what the input and the RAM limit allow: [`Bounded`], the
//! global allocator of both, aborts on any single allocation above [`MAX_ALLOCATION`], which
//! is how a size taken from a header without a check shows up.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};

use stackscope::Job;
use stackscope::load::{FrameRange, LoadOptions, load, probe_video};

/// No input of the corpus's size may make a reader ask for more than this at once.
pub const MAX_ALLOCATION: usize = 512 << 20;

/// The RAM limit the targets load with: the guard must keep every load under it.
const RAM_LIMIT: u64 = 64 << 20;

/// The system allocator, aborting on one allocation larger than [`MAX_ALLOCATION`].
pub struct Bounded;

// SAFETY: forwards to the system allocator unchanged; only refuses (aborts on) huge layouts.
unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn check(size: usize) {
    if size > MAX_ALLOCATION {
        // No formatting here: this runs inside the allocator.
        std::process::abort();
    }
}

/// A scratch file per process (readers take paths; the map and FFmpeg need real files).
fn scratch(name: &str, data: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stackscope-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(name);
    let _ = std::fs::write(&path, data);
    path
}

fn options() -> LoadOptions {
    LoadOptions {
        max_ram_bytes: Some(RAM_LIMIT),
        ..LoadOptions::default()
    }
}

/// Loads `path` with the given options; a stack that loads must be consistent.
fn load_checked(path: &Path, options: &LoadOptions) {
    if let Ok(loaded) = load(path, options, &Job::new()) {
        let stack = &loaded.stack;
        let [n, h, w, c] = stack.shape();
        assert!(n >= 1 && h >= 1 && w >= 1 && matches!(c, 1 | 3));
        assert_eq!(stack.meta().source_frames.len(), n);
        if !stack.is_mapped() {
            assert!(stack.nbytes() as u64 <= RAM_LIMIT);
        }
        // Every frame can be read, first and last at least.
        assert!(stack.frame(0).is_some() && stack.frame(n - 1).is_some());
    }
}

/// `.npy`: header parsing, the memory map and every dtype conversion.
pub fn npy(data: &[u8]) {
    let path = scratch("input.npy", data);
    load_checked(&path, &options());
    let gray = LoadOptions {
        grayscale: true,
        step: 2,
        ..options()
    };
    load_checked(&path, &gray);
}

/// TIFF: directories, tags, strips and tiles, compression, sample formats, planar pages.
pub fn tiff(data: &[u8]) {
    let path = scratch("input.tif", data);
    load_checked(&path, &options());
}

/// One image of a folder: the first byte picks the extension the file is given, the rest
/// are its bytes; a second, valid image sits beside it.
pub fn image(data: &[u8]) {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    let ext = ["png", "jpg", "bmp", "webp", "tif"][usize::from(kind) % 5];
    let dir = std::env::temp_dir().join(format!("stackscope-fuzz-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("a.{ext}")), bytes);
    load_checked(&dir, &options());
    load_checked(&dir.join(format!("a.{ext}")), &options());
}

/// Audio: FFmpeg's demuxers and decoders as stackscope drives them, and the spectrum.
pub fn audio(data: &[u8]) {
    let path = scratch("input.wav", data);
    let settings = stackscope::audio::SpectrumSettings::default();
    let job = Job::new();
    if let Ok(spectrum) = stackscope::audio::analyze(&path, &settings, &job) {
        assert!(spectrum.fps > 0.0);
        for frame in 0..spectrum.frames.min(4) {
            assert!(spectrum.frame(frame).iter().all(|v| v.is_finite()));
        }
    }
}

/// Video: the probe (header facts) and a short load of the first frames.
pub fn video(data: &[u8]) {
    let path = scratch("input.mp4", data);
    if let Ok(probe) = probe_video(&path) {
        assert!(probe.width > 0 && probe.height > 0);
        assert!(
            probe
                .duration_secs
                .is_none_or(|d| d.is_finite() && d >= 0.0)
        );
    }
    let first = LoadOptions {
        range: FrameRange {
            start: 0,
            end: Some(8),
        },
        ..options()
    };
    load_checked(&path, &first);
}
