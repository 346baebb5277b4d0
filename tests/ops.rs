//! Analysis ops on loaded stacks: mapped vs owned, and the command-line faces.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::stackscope;

use ndarray::Array4;
use ndarray_npy::write_npy;
use stackscope::Job;
use stackscope::load::{LoadOptions, load};
use stackscope::ops::{
    NormalizeSettings, Normalizer, ReduceOp, Reference, Shape, reduce, roi_curves,
};

fn pseudo_random(n: usize, h: usize, w: usize, c: usize) -> Array4<u8> {
    let mut state = 0x9e3779b9u32;
    Array4::from_shape_simple_fn((n, h, w, c), || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state >> 11) as u8
    })
}

#[test]
fn reductions_on_a_mapped_npy_equal_those_on_the_owned_copy() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.npy");
    write_npy(&p, &pseudo_random(23, 17, 29, 3)).unwrap();
    // A strided, cropped window: every second frame of 2..21, 20×10 pixels at (5, 3).
    let o = LoadOptions {
        range: "2:21".parse().unwrap(),
        step: 2,
        crop: Some(stackscope::load::Rect {
            x: 5,
            y: 3,
            width: 20,
            height: 10,
        }),
        ..LoadOptions::default()
    };
    let mapped = load(&p, &o, &Job::new()).unwrap().stack;
    assert!(mapped.is_mapped());
    let owned = mapped.view().to_owned();
    for op in [
        ReduceOp::Mean,
        ReduceOp::Sum,
        ReduceOp::Max,
        ReduceOp::Min,
        ReduceOp::Std,
        ReduceOp::Median,
    ] {
        let a = reduce(mapped.view(), op, None, &Job::new()).unwrap();
        let b = reduce(owned.view(), op, Some(0..owned.shape()[0]), &Job::new()).unwrap();
        assert_eq!(a, b, "{op:?}");
    }
    let shapes = [Shape::Ellipse {
        cx: 10.0,
        cy: 5.0,
        rx: 6.0,
        ry: 3.0,
    }];
    let a = roi_curves(mapped.view(), &shapes, None, true, &Job::new()).unwrap();
    let b = roi_curves(owned.view(), &shapes, None, true, &Job::new()).unwrap();
    assert_eq!(a, b);
    let settings = NormalizeSettings {
        reference: Reference::SlidingWindow { window: 3, lag: 1 },
        ..NormalizeSettings::delta_f_over_f(None)
    };
    let na = Normalizer::new(mapped.view(), settings.clone(), &Job::new()).unwrap();
    let nb = Normalizer::new(owned.view(), settings, &Job::new()).unwrap();
    for (fa, fb) in na.frames(mapped.view()).zip(nb.frames(owned.view())) {
        assert_eq!(fa, fb);
    }
}

#[test]
fn reduce_cli_writes_exact_float_results() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.npy");
    let stack = Array4::from_shape_fn((4, 3, 5, 1), |(t, y, x, _)| (t * 10 + y + x) as u8);
    write_npy(&p, &stack).unwrap();
    let out = dir.path().join("mean.npy");
    let (code, _, err) = stackscope(&[
        "reduce",
        p.to_str().unwrap(),
        "--op",
        "mean",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let mean: ndarray::Array2<f32> = ndarray_npy::read_npy(&out).unwrap();
    assert_eq!(mean[[2, 4]], 15.0 + 6.0);
    let png = dir.path().join("std.png");
    let (code, _, err) = stackscope(&[
        "reduce",
        p.to_str().unwrap(),
        "--op",
        "std",
        "-o",
        png.to_str().unwrap(),
        "--colormap",
        "magma",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(image::open(&png).unwrap().width(), 5);
    let (code, _, err) = stackscope(&[
        "reduce",
        p.to_str().unwrap(),
        "--op",
        "mean",
        "-o",
        dir.path().join("x.bmp").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains(".png"), "{err}");
}

#[test]
fn roi_cli_curves_and_normalized_curves() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.npy");
    let stack = Array4::from_shape_fn((5, 4, 4, 1), |(t, _, _, _)| (20 + 10 * t) as u8);
    write_npy(&p, &stack).unwrap();
    let csv = dir.path().join("c.csv");
    let (code, _, err) = stackscope(&[
        "roi",
        p.to_str().unwrap(),
        "--rect",
        "0,0,2,2",
        "--probe",
        "3,3",
        "-o",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 6);
    assert!(rows[3].starts_with("2,40,40,40,40,40,40"), "{}", rows[3]);
    // dF/F against the mean (40): frame 4 is 60 → 0.5.
    let (code, _, err) = stackscope(&[
        "roi",
        p.to_str().unwrap(),
        "--rect",
        "0,0,4,4",
        "--dff",
        "-o",
        csv.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.lines().nth(5).unwrap().starts_with("4,0.5,"), "{text}");
    let (code, _, err) = stackscope(&["roi", p.to_str().unwrap(), "-o", csv.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("--rect"), "{err}");
}

#[test]
fn profile_cli_with_kymograph() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bar.npy");
    let stack = Array4::from_shape_fn(
        (6, 5, 20, 1),
        |(t, _, x, _)| if x == 3 + 2 * t { 250u8 } else { 10 },
    );
    write_npy(&p, &stack).unwrap();
    let (csv, kymo) = (dir.path().join("p.csv"), dir.path().join("k.npy"));
    let (code, _, err) = stackscope(&[
        "profile",
        p.to_str().unwrap(),
        "--line",
        "0.5,2.5,19.5,2.5",
        "--width",
        "3",
        "--frame",
        "2",
        "-o",
        csv.to_str().unwrap(),
        "--kymograph",
        kymo.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&csv).unwrap();
    // Position 7 is where the bar is in frame 2: value 250, and the envelope spans 10..250.
    assert!(
        text.lines()
            .nth(8)
            .unwrap()
            .starts_with("7,7.000,250,10,250"),
        "{text}"
    );
    // Single-channel images are saved as 2-D arrays: frame × position.
    let k: ndarray::Array2<f32> = ndarray_npy::read_npy(&kymo).unwrap();
    assert_eq!(k.dim(), (6, 20));
    assert_eq!(k[[5, 13]], 250.0);
}

#[test]
fn normalized_masked_export_decodes_to_the_mapped_frames() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.npy");
    let stack = Array4::from_shape_fn((3, 16, 16, 1), |(t, _, _, _)| (50 + 50 * t) as u8);
    write_npy(&p, &stack).unwrap();
    let out = dir.path().join("m.mp4");
    let (code, _, err) = stackscope(&[
        "export",
        p.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--crf",
        "0",
        "--subtract",
        "--ref-range",
        "0:1",
        "--min",
        "0",
        "--max",
        "100",
        "--mask-shape",
        "rect:0,0,8,16",
    ]);
    assert_eq!(code, 0, "{err}");
    let decoded = load(
        &out,
        &LoadOptions {
            grayscale: true,
            ..LoadOptions::default()
        },
        &Job::new(),
    )
    .unwrap();
    let s = decoded.stack;
    assert_eq!(s.len(), 3);
    // Frame 2 minus frame 0 = 100 → white inside the mask; outside the mask: black.
    let f = s.frame(2).unwrap();
    assert!(f[[8, 4, 0]] >= 253, "{}", f[[8, 4, 0]]);
    assert!(f[[8, 12, 0]] <= 2, "{}", f[[8, 12, 0]]);
    // Frame 1: 50 → mid gray.
    let mid = s.frame(1).unwrap()[[8, 4, 0]];
    assert!((i32::from(mid) - 128).abs() <= 2, "{mid}");
}

/// Every op on shapes whose rows span several of the reduction's cache bands (mean: ~90 rows
/// a band at 700 pixels a row, median: one row a band), against a naive per-pixel
/// computation in f64 written here.
#[test]
fn banded_reductions_equal_a_naive_computation() {
    for (n, h, w, c) in [(7, 300, 700, 1), (6, 150, 400, 3)] {
        let stack = pseudo_random(n, h, w, c);
        let mut values = vec![0f64; n];
        for op in [
            ReduceOp::Mean,
            ReduceOp::Sum,
            ReduceOp::Max,
            ReduceOp::Min,
            ReduceOp::Std,
            ReduceOp::Median,
        ] {
            let got = reduce(stack.view(), op, None, &Job::new()).unwrap();
            assert_eq!(got.dim(), (h, w, c));
            for y in 0..h {
                for x in 0..w {
                    for k in 0..c {
                        for (t, v) in values.iter_mut().enumerate() {
                            *v = f64::from(stack[[t, y, x, k]]);
                        }
                        let sum: f64 = values.iter().sum();
                        let mean = sum / n as f64;
                        let want = match op {
                            ReduceOp::Mean => mean,
                            ReduceOp::Sum => sum,
                            ReduceOp::Max => values.iter().copied().fold(f64::MIN, f64::max),
                            ReduceOp::Min => values.iter().copied().fold(f64::MAX, f64::min),
                            ReduceOp::Std => {
                                (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64)
                                    .sqrt()
                            }
                            ReduceOp::Median => {
                                values.sort_by(f64::total_cmp);
                                if n % 2 == 1 {
                                    values[n / 2]
                                } else {
                                    (values[n / 2 - 1] + values[n / 2]) / 2.0
                                }
                            }
                        };
                        let g = f64::from(got[[y, x, k]]);
                        assert!(
                            (g - want).abs() <= 1e-3 * want.abs().max(1.0),
                            "{op:?} {n}×{h}×{w}×{c} at ({x}, {y}, {k}): {g} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
