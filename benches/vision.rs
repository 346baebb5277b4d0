//! Vision analyzer building blocks on one 1280 × 720 frame with a subtitle: the difference
//! hash and histogram (what duplicate skipping and scenes cost per frame), PP-OCRv4 reading
//! the frame, and the YOLO detector at 320 and 640 (batch 1 and 4). Needs the models
//! (`stackscope models install --all`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/text.rs"]
mod text;

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array3;
use stackscope::analyze::frames::FrameHash;
use stackscope::analyze::objects::{Detector, ObjectsSettings};
use stackscope::analyze::ocr::{Ocr, TextOverlaySettings};
use stackscope::analyze::{Environment, scenes};

fn bench(c: &mut Criterion) {
    let (w, h) = (1280, 720);
    let frame = Array3::from_shape_vec(
        (h, w, 3),
        text::subtitle_frame(
            w,
            h,
            &["Notice how the nucleus moves during division"],
            44.0,
        ),
    )
    .unwrap();
    let env = Environment::default();
    let mut group = c.benchmark_group("vision");
    group.sample_size(10);
    group.bench_function("dhash_720p", |b| {
        b.iter(|| FrameHash::of(frame.view(), None))
    });
    group.bench_function("histogram_720p", |b| {
        b.iter(|| scenes::histogram(frame.view()))
    });

    let (det, _) = env.vision_session("ppocr-v4", "det.onnx").unwrap();
    let (rec, _) = env.vision_session("ppocr-v4", "rec.onnx").unwrap();
    let mut ocr = Ocr::new(det, rec, TextOverlaySettings::default(), false).unwrap();
    ocr.warm_up().unwrap();
    group.bench_function("ocr_720p_frame", |b| {
        b.iter(|| ocr.read(frame.view()).unwrap())
    });

    for size in [320, 640] {
        let settings = ObjectsSettings {
            size,
            ..ObjectsSettings::default()
        };
        let (session, _) = env.vision_session("nudenet-320n", "320n.onnx").unwrap();
        let mut detector = Detector::new(session, &settings, false).unwrap();
        detector.warm_up().unwrap();
        let frames = vec![frame.view(); 4];
        for batch in [1, 4] {
            detector.batch = batch;
            group.bench_function(format!("objects_{size}_4_frames_batch_{batch}"), |b| {
                b.iter(|| detector.detect(&frames).unwrap())
            });
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
