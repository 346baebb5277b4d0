//! .npy loading: zero-copy maps, conversions, and malformed files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::io::Write;

use ndarray::{Array, Array2, Array3, Array4};
use ndarray_npy::write_npy;
use stackscope::Job;
use stackscope::load::{LoadError, LoadOptions, Rect, Scaling, load};

fn ramp4(n: usize, h: usize, w: usize, c: usize) -> Array4<u8> {
    Array4::from_shape_fn((n, h, w, c), |(i, y, x, k)| {
        (i * 50 + y * 7 + x * 3 + k) as u8
    })
}

#[test]
fn uint8_is_mapped_without_copy_and_sliced_by_strides() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.npy");
    let a = ramp4(5, 6, 7, 3);
    write_npy(&p, &a).unwrap();
    let loaded = load(&p, &LoadOptions::default(), &Job::new()).unwrap();
    assert!(loaded.stack.is_mapped() && loaded.report.mapped);
    assert_eq!(loaded.stack.view(), a.view());

    let o = LoadOptions {
        range: "1:5".parse().unwrap(),
        step: 2,
        crop: Some(Rect {
            x: 2,
            y: 1,
            width: 4,
            height: 3,
        }),
        ..LoadOptions::default()
    };
    let s = load(&p, &o, &Job::new()).unwrap().stack;
    assert!(s.is_mapped());
    assert_eq!(s.shape(), [2, 3, 4, 3]);
    assert_eq!(s.frame(1).unwrap()[[2, 3, 1]], a[[3, 3, 5, 1]]);
    assert_eq!(s.meta().source_frames, vec![1, 3]);
}

#[test]
fn two_and_three_dimensional_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let p2 = dir.path().join("img.npy");
    write_npy(
        &p2,
        &Array2::from_shape_fn((4, 5), |(y, x)| (y * 5 + x) as u8),
    )
    .unwrap();
    let s = load(&p2, &LoadOptions::default(), &Job::new())
        .unwrap()
        .stack;
    assert_eq!(s.shape(), [1, 4, 5, 1]);
    assert_eq!(s.frame(0).unwrap()[[3, 4, 0]], 19);
    let p3 = dir.path().join("stack.npy");
    write_npy(&p3, &Array3::from_shape_fn((3, 4, 5), |(i, _, _)| i as u8)).unwrap();
    let s = load(&p3, &LoadOptions::default(), &Job::new())
        .unwrap()
        .stack;
    assert_eq!(s.shape(), [3, 4, 5, 1]);
    assert_eq!(s.frame(2).unwrap()[[0, 0, 0]], 2);
}

#[test]
fn uint16_and_float_are_scaled_by_min_max_with_range_kept() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("u16.npy");
    let a = Array3::from_shape_fn((2, 2, 2), |(i, y, x)| {
        1000u16 + 1000 * (i * 4 + y * 2 + x) as u16
    });
    write_npy(&p, &a).unwrap();
    let loaded = load(&p, &LoadOptions::default(), &Job::new()).unwrap();
    let s = &loaded.stack;
    assert!(!s.is_mapped());
    assert_eq!(s.frame(0).unwrap()[[0, 0, 0]], 0);
    assert_eq!(s.frame(1).unwrap()[[1, 1, 0]], 255);
    // 4000 sits at 3/7 of [1000, 8000].
    assert_eq!(
        s.frame(0).unwrap()[[1, 1, 0]],
        (3.0f64 / 7.0 * 255.0).round() as u8
    );
    let meta = s.meta();
    assert_eq!(meta.original_dtype.as_deref(), Some("uint16"));
    assert_eq!(
        meta.value_range.map(|r| (r.min, r.max)),
        Some((1000.0, 8000.0))
    );

    let o = LoadOptions {
        scaling: Scaling::FullRange,
        ..LoadOptions::default()
    };
    let s = load(&p, &o, &Job::new()).unwrap().stack;
    assert_eq!(
        s.frame(1).unwrap()[[1, 1, 0]],
        (8000.0f64 / 257.0).round() as u8
    );

    let pf = dir.path().join("f32.npy");
    let f = Array::from_shape_vec((1, 1, 4), vec![-1.0f32, 0.0, f32::NAN, 1.0]).unwrap();
    write_npy(&pf, &f).unwrap();
    let s = load(&pf, &LoadOptions::default(), &Job::new())
        .unwrap()
        .stack;
    let row: Vec<u8> = s.frame(0).unwrap().iter().copied().collect();
    assert_eq!(row, vec![0, 128, 0, 255]);
}

#[test]
fn grayscale_of_a_mapped_rgb_array_is_copied_and_converted() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("rgb.npy");
    let a = ramp4(2, 3, 3, 3);
    write_npy(&p, &a).unwrap();
    let o = LoadOptions {
        grayscale: true,
        ..LoadOptions::default()
    };
    let s = load(&p, &o, &Job::new()).unwrap().stack;
    assert!(!s.is_mapped());
    assert_eq!(s.shape(), [2, 3, 3, 1]);
    let px = |k| a[[1, 2, 1, k]];
    common::assert_luma(s.frame(1).unwrap()[[2, 1, 0]], [px(0), px(1), px(2)], 1.0);
}

fn raw_npy(header_dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = header_dict.to_string();
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn npy_error(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.npy");
    fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    match load(&p, &LoadOptions::default(), &Job::new()) {
        Err(e @ LoadError::Npy { .. }) => e.to_string(),
        other => panic!("expected an npy error, got {other:?}"),
    }
}

#[test]
fn malformed_files_get_clear_errors() {
    let corrupt = npy_error(b"\x93NUMPY\x01\x00\x10\x00{'descr': nonsense");
    assert!(corrupt.contains("header"), "{corrupt}");

    let fortran = npy_error(&raw_npy(
        "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3, 4), }",
        &[0; 24],
    ));
    assert!(fortran.contains("Fortran"), "{fortran}");

    let object = npy_error(&raw_npy(
        "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
        &[0; 16],
    ));
    assert!(object.contains("object"), "{object}");

    let short = npy_error(&raw_npy(
        "{'descr': '|u1', 'fortran_order': False, 'shape': (1000, 100, 100), }",
        &[0; 500],
    ));
    assert!(short.contains("truncated"), "{short}");

    let one_d = npy_error(&raw_npy(
        "{'descr': '|u1', 'fortran_order': False, 'shape': (10,), }",
        &[0; 10],
    ));
    assert!(one_d.contains("1-dimensional"), "{one_d}");
}

#[test]
fn resize_of_a_mapped_array_is_copied() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("flat.npy");
    write_npy(&p, &Array3::from_elem((3, 8, 6), 42u8)).unwrap();
    let o = LoadOptions {
        resize: Some(stackscope::load::Resize::Factor(0.5)),
        ..LoadOptions::default()
    };
    let s = load(&p, &o, &Job::new()).unwrap().stack;
    assert!(!s.is_mapped());
    assert_eq!(s.shape(), [3, 4, 3, 1]);
    assert!(s.view().iter().all(|&v| v == 42));
}
