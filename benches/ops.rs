//! Analysis op benchmarks on in-memory stacks (the 2 GiB numpy comparison is
//! `scripts/bench-ops.sh`). Under `cargo test` every benchmark runs once on a tiny stack.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array4;
use stackscope::Job;
use stackscope::ops::{
    NormalizeSettings, Normalizer, ReduceOp, Reference, Shape, reduce, roi_curves,
};

fn full_size() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn noise(n: usize, h: usize, w: usize) -> Array4<u8> {
    let mut state = 0x2545f491u32;
    Array4::from_shape_simple_fn((n, h, w, 1), || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state >> 9) as u8
    })
}

fn bench_reduce(c: &mut Criterion) {
    let (n, side) = if full_size() { (500, 512) } else { (4, 16) };
    let stack = noise(n, side, side);
    let mut group = c.benchmark_group(format!("reduce_{n}x{side}x{side}"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for op in [
        ReduceOp::Mean,
        ReduceOp::Max,
        ReduceOp::Std,
        ReduceOp::Median,
    ] {
        group.bench_function(op.name(), |b| {
            b.iter(|| reduce(stack.view(), op, None, &Job::new()).unwrap())
        });
    }
    group.finish();
}

fn bench_sliding(c: &mut Criterion) {
    let (n, side) = if full_size() { (600, 256) } else { (12, 8) };
    let stack = noise(n, side, side);
    let mut group = c.benchmark_group(format!("sliding_pass_{n}x{side}x{side}"));
    group.sample_size(10);
    for window in if full_size() { [10, 500] } else { [2, 10] } {
        let settings = NormalizeSettings {
            reference: Reference::SlidingWindow { window, lag: 0 },
            ..NormalizeSettings::background_subtraction()
        };
        let normalizer = Normalizer::new(stack.view(), settings, &Job::new()).unwrap();
        group.bench_function(format!("w{window}"), |b| {
            b.iter(|| {
                normalizer
                    .frames(stack.view())
                    .map(|f| f[[0, 0, 0]])
                    .sum::<f32>()
            })
        });
    }
    group.finish();
}

fn bench_roi(c: &mut Criterion) {
    let (n, side) = if full_size() { (2000, 512) } else { (10, 128) };
    let stack = noise(n, side, side);
    let rect = [Shape::Rect {
        x: 10.0,
        y: 10.0,
        width: 100.0,
        height: 100.0,
    }];
    let mut group = c.benchmark_group(format!("roi_{n}x{side}x{side}"));
    group.bench_function("rect_100x100_mean", |b| {
        b.iter(|| roi_curves(stack.view(), &rect, None, false, &Job::new()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_reduce, bench_sliding, bench_roi);
criterion_main!(benches);
