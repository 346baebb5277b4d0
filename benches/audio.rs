//! Per-frame cost of audio visuals at 720p: drawing each style into the reused pixmap, and
//! the RGBA → YUV 4:2:0 conversion the encoder needs; plus the spectrum of
//! 60 s of audio. The input is chord-like, so that every band has bars to draw.
#![allow(clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stackscope::Job;
use stackscope::audio::{Renderer, Style, VisualSettings, VisualizeSettings, analyze};
use stackscope::interp::Yuv420;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("sweep.wav");
    let samples = stackscope::sample::chords(48_000, 60.0);
    stackscope::sample::write_wav(&wav, 48_000, &samples).unwrap();

    let mut group = c.benchmark_group("audio_720p");
    group.sample_size(20);
    for style in Style::ALL {
        let settings = VisualizeSettings {
            visual: VisualSettings {
                style,
                ..VisualSettings::default()
            },
            ..VisualizeSettings::default()
        };
        let mut spectrum_settings = settings.spectrum_for_style();
        spectrum_settings.bands = style.default_bands();
        let spectrum = analyze(&wav, &spectrum_settings, &Job::new()).unwrap();
        let renderer = Renderer::new(&settings.visual).unwrap();
        let mut canvas = renderer.new_canvas();
        let mut out = renderer.new_yuv_frame();
        let mut frame = 0;
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("render_{}", style.name()), |b| {
            b.iter(|| {
                frame = (frame + 37) % spectrum.frames;
                renderer.render(&spectrum, frame, &mut canvas);
            })
        });
        group.bench_function(format!("draw_yuv_{}", style.name()), |b| {
            b.iter(|| {
                frame = (frame + 37) % spectrum.frames;
                renderer.draw(&spectrum, frame, &mut canvas, &mut out);
            })
        });
        if style == Style::Bars {
            let mut yuv = Yuv420::new(1280, 720);
            group.bench_function("rgba_to_yuv420_full_frame", |b| {
                b.iter(|| yuv.fill_from_rgba(canvas.rgba()))
            });
            group.throughput(Throughput::Elements(spectrum.frames as u64));
            group.bench_function("analyze_60s", |b| {
                b.iter(|| analyze(&wav, &spectrum_settings, &Job::new()).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
