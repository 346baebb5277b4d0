//! Per-frame cost of interpolation: RGB → YUV 4:2:0 conversion (once per source frame) and
//! the integer blend (once per output frame), at 720p and 1080p, on the CPU and on the wgpu
//! adapter present (lavapipe here; a real GPU where there is one).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array3;
use stackscope::interp::{Blender, CpuBlender, GpuBlender, GpuContext, Yuv420};

fn bench(c: &mut Criterion) {
    let gpu = GpuContext::new().ok();
    if gpu.is_none() {
        eprintln!("no wgpu adapter: GPU benchmarks skipped");
    }
    for (name, w, h) in [("720p", 1280, 720), ("1080p", 1920, 1080)] {
        let rgb =
            Array3::from_shape_vec((h, w, 3), stackscope::sample::frame_rgb(3, 10, w, h)).unwrap();
        let mut group = c.benchmark_group(format!("interp_{name}"));
        group.throughput(Throughput::Elements(1));
        let mut yuv = Yuv420::new(w, h);
        group.bench_function("convert_cpu", |b| b.iter(|| yuv.fill_from(rgb.view())));
        let a = Arc::new(yuv.clone());
        let mut other = Yuv420::new(w, h);
        other.fill_from(Array3::from_elem((h, w, 3), 200u8).view());
        let other = Arc::new(other);
        let mut out = Yuv420::new(w, h);
        for (label, mut blender) in [
            ("blend_cpu_parallel", CpuBlender::new()),
            ("blend_cpu_serial", CpuBlender::serial()),
        ] {
            blender.set_pair(a.clone(), other.clone()).unwrap();
            group.bench_function(label, |b| {
                b.iter(|| blender.blend_into(97, &mut out.as_planes_mut()).unwrap())
            });
        }
        if let Some(gpu) = &gpu {
            group.bench_function("convert_gpu", |b| {
                b.iter(|| gpu.convert(rgb.view(), w, h).unwrap())
            });
            let mut blender = GpuBlender::new(gpu.clone());
            blender.set_pair(a.clone(), other.clone()).unwrap();
            group.bench_function("blend_gpu_single", |b| {
                b.iter(|| blender.blend_into(97, &mut out.as_planes_mut()).unwrap())
            });
            // Frames resident, 50 blends per pair prefetched: the export's steady state.
            group.throughput(Throughput::Elements(50));
            let weights: Vec<u16> = (1..=50).map(|j| (j * 5) as u16).collect();
            group.bench_function("blend_gpu_sequence_of_50", |b| {
                b.iter(|| {
                    blender.prefetch(&weights);
                    for &wt in &weights {
                        blender.blend_into(wt, &mut out.as_planes_mut()).unwrap();
                    }
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
