//! Loader benchmarks. Inputs are generated once into `bench-data/` and reused.
//!
//! `cargo bench --bench load` runs the full sizes of the foundation issue (500 JPEGs of
//! 1024×1024, a 1080p H.264 clip, a 4 GiB .npy); under `cargo test` every benchmark runs
//! once on small inputs so that the code stays exercised.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use image::RgbImage;
use rayon::prelude::*;
use stackscope::Job;
use stackscope::load::{LoadOptions, load};

fn full_size() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `n` noisy synthetic JPEGs (natural-image-like entropy, so decoding is not trivially fast).
fn jpeg_folder(n: usize, side: usize) -> PathBuf {
    let dir = data_dir().join(format!("jpeg_{n}_{side}"));
    let done = dir.join(".complete");
    if done.exists() {
        return dir;
    }
    std::fs::create_dir_all(&dir).unwrap();
    (0..n).into_par_iter().for_each(|i| {
        let mut img = RgbImage::from_raw(
            side as u32,
            side as u32,
            stackscope::sample::frame_rgb(i, n, side, side),
        )
        .unwrap();
        let mut state = (i as u32).wrapping_mul(2654435761) | 1;
        for p in img.pixels_mut() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state % 24) as u8;
            p.0 = p.0.map(|v| v.saturating_add(noise));
        }
        img.save(dir.join(format!("f{i:04}.jpg"))).unwrap();
    });
    std::fs::write(done, b"").unwrap();
    dir
}

/// An H.264 clip of `frames` 1080p frames (FFmpeg's test pattern plus temporal noise).
fn h264_clip(frames: usize, size: &str) -> PathBuf {
    let path = data_dir().join(format!("clip_{size}_{frames}.mp4"));
    if path.exists() {
        return path;
    }
    let ok = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg(format!("testsrc2=size={size}:rate=30"))
        .args([
            "-vf",
            "noise=alls=12:allf=t",
            "-frames:v",
            &frames.to_string(),
        ])
        .args([
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
        ])
        .arg(&path)
        .status()
        .expect("ffmpeg CLI needed to generate the bench clip")
        .success();
    assert!(ok, "ffmpeg failed to write {path:?}");
    path
}

/// A `uint8` .npy of `frames × 1024 × 1024` filled with non-zero bytes (not a sparse file).
fn big_npy(frames: usize) -> PathBuf {
    use std::io::Write;
    let path = data_dir().join(format!("big_{frames}.npy"));
    if path.exists() {
        return path;
    }
    let tmp = path.with_extension("partial");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).unwrap());
    let mut header =
        format!("{{'descr': '|u1', 'fortran_order': False, 'shape': ({frames}, 1024, 1024), }}");
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    f.write_all(b"\x93NUMPY\x01\x00").unwrap();
    f.write_all(&(header.len() as u16).to_le_bytes()).unwrap();
    f.write_all(header.as_bytes()).unwrap();
    let frame: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8 + 1).collect();
    for _ in 0..frames {
        f.write_all(&frame).unwrap();
    }
    f.into_inner().unwrap().sync_all().unwrap();
    std::fs::rename(tmp, &path).unwrap();
    path
}

fn bench_folder(c: &mut Criterion) {
    let (n, side) = if full_size() { (500, 1024) } else { (8, 64) };
    let dir = jpeg_folder(n, side);
    let options = LoadOptions {
        grayscale: true,
        ..LoadOptions::default()
    };
    let mut group = c.benchmark_group(format!("folder_{n}_jpeg_{side}_gray"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for threads in [1, rayon::current_num_threads()] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        group.bench_function(format!("threads_{threads}"), |b| {
            b.iter(|| pool.install(|| load(&dir, &options, &Job::new()).unwrap()))
        });
    }
    group.finish();
}

fn bench_video(c: &mut Criterion) {
    let (frames, size) = if full_size() {
        (300, "1920x1080")
    } else {
        (10, "320x240")
    };
    let clip = h264_clip(frames, size);
    let options = LoadOptions {
        grayscale: true,
        ..LoadOptions::default()
    };
    let mut group = c.benchmark_group(format!("video_h264_{size}_{frames}"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function("decode_gray", |b| {
        b.iter(|| load(&clip, &options, &Job::new()).unwrap())
    });
    group.finish();
}

fn bench_npy(c: &mut Criterion) {
    let frames = if full_size() { 4096 } else { 4 };
    let path = big_npy(frames);
    let mut group = c.benchmark_group(format!("npy_{frames}x1024x1024"));
    group.bench_function("open_and_read_one_frame", |b| {
        b.iter(|| {
            let loaded = load(&path, &LoadOptions::default(), &Job::new()).unwrap();
            let middle = loaded.stack.frame(frames / 2).unwrap();
            middle.iter().map(|&v| u64::from(v)).sum::<u64>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_folder, bench_video, bench_npy);
criterion_main!(benches);
