//! Multi-page TIFF loading on files written with the tiff crate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs::File;

use stackscope::Job;
use stackscope::load::{CacheChoice, LoadError, LoadOptions, load};
use tiff::encoder::{TiffEncoder, colortype};

#[test]
fn eight_bit_gray_pages_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("stack.tif");
    let mut enc = TiffEncoder::new(File::create(&p).unwrap()).unwrap();
    for i in 0..6u8 {
        let data: Vec<u8> = (0..12 * 9).map(|j| i * 20 + (j % 12) as u8).collect();
        enc.write_image::<colortype::Gray8>(12, 9, &data).unwrap();
    }
    drop(enc);
    let loaded = load(&p, &LoadOptions::default(), &Job::new()).unwrap();
    let s = &loaded.stack;
    assert_eq!(s.shape(), [6, 9, 12, 1]);
    assert_eq!(s.frame(4).unwrap()[[3, 5, 0]], 85);
    assert_eq!(loaded.report.frames_found, 6);
    let o = LoadOptions {
        range: "1:6".parse().unwrap(),
        step: 2,
        ..LoadOptions::default()
    };
    let s = load(&p, &o, &Job::new()).unwrap().stack;
    assert_eq!(s.meta().source_frames, vec![1, 3, 5]);
    assert_eq!(s.frame(2).unwrap()[[0, 0, 0]], 100);
}

#[test]
fn sixteen_bit_rgb_scaled_by_global_range() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("rgb16.tiff");
    let mut enc = TiffEncoder::new(File::create(&p).unwrap()).unwrap();
    for i in 0..3u16 {
        let data: Vec<u16> = (0..4 * 2 * 3).map(|j| 500 + i * 1000 + j as u16).collect();
        enc.write_image::<colortype::RGB16>(4, 2, &data).unwrap();
    }
    drop(enc);
    let s = load(&p, &LoadOptions::default(), &Job::new())
        .unwrap()
        .stack;
    assert_eq!(s.shape(), [3, 2, 4, 3]);
    assert_eq!(s.frame(0).unwrap()[[0, 0, 0]], 0);
    assert_eq!(s.frame(2).unwrap()[[1, 3, 2]], 255);
    let range = s.meta().value_range.unwrap();
    assert_eq!((range.min, range.max), (500.0, 2523.0));
    assert_eq!(s.meta().original_dtype.as_deref(), Some("uint16"));
}

#[test]
fn zero_page_or_garbage_tiff_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.tif");
    // A valid TIFF header whose first directory offset is 0: no pages at all.
    std::fs::write(&p, b"II*\x00\x00\x00\x00\x00").unwrap();
    let err = load(&p, &LoadOptions::default(), &Job::new()).unwrap_err();
    assert!(matches!(err, LoadError::Tiff { .. }), "{err:?}");
    assert!(err.to_string().contains("empty.tif"));
    std::fs::write(&p, b"").unwrap();
    assert!(matches!(
        load(&p, &LoadOptions::default(), &Job::new()),
        Err(LoadError::Tiff { .. })
    ));
}

#[test]
fn rgb_pages_to_gray_with_crop() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("rgb.tif");
    let mut enc = TiffEncoder::new(File::create(&p).unwrap()).unwrap();
    for i in 0..2u8 {
        let data: Vec<u8> = (0..6 * 4).flat_map(|j| [j as u8 * 10, 50 + i, 7]).collect();
        enc.write_image::<colortype::RGB8>(6, 4, &data).unwrap();
    }
    drop(enc);
    let o = LoadOptions {
        grayscale: true,
        crop: Some(stackscope::load::Rect {
            x: 2,
            y: 1,
            width: 3,
            height: 2,
        }),
        ..LoadOptions::default()
    };
    let s = load(&p, &o, &Job::new()).unwrap().stack;
    assert_eq!(s.shape(), [2, 2, 3, 1]);
    // Crop (0,0) is source pixel (2,1): index 8 → r = 80.
    common::assert_luma(s.frame(1).unwrap()[[0, 0, 0]], [80, 51, 7], 1.0);
}

#[test]
fn a_sixteen_bit_stack_over_the_ram_limit_is_cached_with_its_value_range() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("gray16.tif");
    let mut enc = TiffEncoder::new(File::create(&p).unwrap()).unwrap();
    for i in 0..40u16 {
        let data: Vec<u16> = (0..16 * 8).map(|j| 1000 + i * 300 + j as u16).collect();
        enc.write_image::<colortype::Gray16>(16, 8, &data).unwrap();
    }
    drop(enc);
    let in_ram = load(&p, &LoadOptions::default(), &Job::new()).unwrap();
    let o = LoadOptions {
        max_ram_bytes: Some(1000),
        cache: CacheChoice::In(dir.path().join("cache")),
        ..LoadOptions::default()
    };
    for reused in [false, true] {
        let cached = load(&p, &o, &Job::new()).unwrap();
        assert_eq!(cached.report.cache.as_ref().map(|c| c.reused), Some(reused));
        assert_eq!(cached.stack.view(), in_ram.stack.view());
        let range = cached.stack.meta().value_range.unwrap();
        // The global range over every page: 1000 … 1000 + 39·300 + 127.
        assert_eq!((range.min, range.max), (1000.0, 12827.0));
        assert_eq!(
            cached.stack.meta().original_dtype.as_deref(),
            Some("uint16")
        );
        assert!(cached.report.notes.iter().any(|n| n.contains("uint16")));
    }
}
