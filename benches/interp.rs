//! Per-frame cost of the interpolation steps on the CPU: RGB → YUV 4:2:0 conversion (once per
//! source frame) and the integer blend (once per output frame), at 720p and 1080p.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array3;
use stackscope::interp::{Blender, CpuBlender, Yuv420};

fn bench(c: &mut Criterion) {
    for (name, w, h) in [("720p", 1280, 720), ("1080p", 1920, 1080)] {
        let rgb =
            Array3::from_shape_vec((h, w, 3), stackscope::sample::frame_rgb(3, 10, w, h)).unwrap();
        let mut group = c.benchmark_group(format!("interp_{name}"));
        group.throughput(Throughput::Elements(1));
        let mut yuv = Yuv420::new(w, h);
        group.bench_function("rgb_to_yuv420", |b| b.iter(|| yuv.fill_from(rgb.view())));
        let a = Arc::new(yuv.clone());
        let mut other = Yuv420::new(w, h);
        other.fill_from(Array3::from_elem((h, w, 3), 200u8).view());
        let mut blender = CpuBlender::new();
        blender.set_pair(a, Arc::new(other)).unwrap();
        let mut out = Yuv420::new(w, h);
        group.bench_function("blend_cpu", |b| {
            b.iter(|| blender.blend_into(97, &mut out.as_planes_mut()).unwrap())
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
