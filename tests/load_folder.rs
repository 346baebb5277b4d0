//! Folder and single-image loading on files written here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;

use common::*;
use stackscope::Job;
use stackscope::load::{CacheChoice, LoadError, LoadOptions, Rect, Resize, load};
use stackscope::stack::SourceKind;

fn opts() -> LoadOptions {
    LoadOptions::default()
}

#[test]
fn natural_order_shape_and_pixels() {
    let dir = tempfile::tempdir().unwrap();
    png_folder(dir.path(), 12, 20, 10);
    let loaded = load(dir.path(), &opts(), &Job::new()).unwrap();
    let s = &loaded.stack;
    assert_eq!(s.shape(), [12, 10, 20, 3]);
    // img2 comes before img10: frame k carries blue = 10·k.
    for k in 0..12 {
        assert_eq!(s.frame(k).unwrap()[[3, 7, 2]], (10 * k) as u8, "frame {k}");
    }
    assert_eq!(s.frame(5).unwrap()[[3, 7, 0]], 7); // red = x
    assert_eq!(s.frame(5).unwrap()[[3, 7, 1]], 3); // green = y
    assert_eq!(loaded.report.frames_found, 12);
    assert_eq!(loaded.report.frames_loaded, 12);
    assert_eq!(s.meta().kind, SourceKind::Folder);
}

#[test]
fn range_step_subset_select_the_right_frames() {
    let dir = tempfile::tempdir().unwrap();
    png_folder(dir.path(), 20, 8, 6);
    let o = LoadOptions {
        range: "3:17".parse().unwrap(),
        step: 2,
        subset: 0.5,
        ..opts()
    };
    let loaded = load(dir.path(), &o, &Job::new()).unwrap();
    assert_eq!(loaded.stack.meta().source_frames, vec![3, 7, 11, 15]);
    let blues: Vec<u8> = (0..4)
        .map(|k| loaded.stack.frame(k).unwrap()[[0, 0, 2]])
        .collect();
    assert_eq!(blues, vec![30, 70, 110, 150]);
    assert_eq!(loaded.report.frame_step, 4);
}

#[test]
fn grayscale_crop_and_resize() {
    let dir = tempfile::tempdir().unwrap();
    png_folder(dir.path(), 3, 40, 30);
    let o = LoadOptions {
        grayscale: true,
        crop: Some(Rect {
            x: 10,
            y: 5,
            width: 20,
            height: 10,
        }),
        ..opts()
    };
    let s = load(dir.path(), &o, &Job::new()).unwrap().stack;
    assert_eq!(s.shape(), [3, 10, 20, 1]);
    // Pixel (0,0) of the crop is source (10,5): rgb = (10, 5, 20) in frame 2.
    common::assert_luma(s.frame(2).unwrap()[[0, 0, 0]], [10, 5, 20], 1.0);

    let o = LoadOptions {
        resize: Some(Resize::Factor(0.5)),
        ..opts()
    };
    assert_eq!(
        load(dir.path(), &o, &Job::new()).unwrap().stack.shape(),
        [3, 15, 20, 3]
    );
    let o = LoadOptions {
        resize: Some(Resize::Size {
            width: 7,
            height: 9,
        }),
        ..opts()
    };
    assert_eq!(
        load(dir.path(), &o, &Job::new()).unwrap().stack.shape(),
        [3, 9, 7, 3]
    );
}

#[test]
fn gray_jpegs_decode_to_one_channel() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..4u8 {
        flat_gray(16, 16, 40 * i + 20)
            .save(dir.path().join(format!("f{i}.jpg")))
            .unwrap();
    }
    let s = load(dir.path(), &opts(), &Job::new()).unwrap().stack;
    assert_eq!(s.shape(), [4, 16, 16, 1]);
    // JPEG is lossy: far from the marker pixel the flat value survives within a few levels.
    for i in 0..4 {
        let v = s.frame(i).unwrap()[[12, 12, 0]];
        assert!(
            (i32::from(v) - (40 * i as i32 + 20)).abs() <= 3,
            "frame {i}: {v}"
        );
    }
}

#[test]
fn color_jpegs_load_as_gray_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let img = image::RgbImage::from_pixel(16, 16, image::Rgb([200, 100, 50]));
    img.save(dir.path().join("a.jpg")).unwrap();
    let o = LoadOptions {
        grayscale: true,
        ..opts()
    };
    let s = load(&dir.path().join("a.jpg"), &o, &Job::new())
        .unwrap()
        .stack;
    assert_eq!(s.shape(), [1, 16, 16, 1]);
    // JPEG's own luma plane (BT.601 too), after lossy compression: within three levels.
    common::assert_luma(s.frame(0).unwrap()[[8, 8, 0]], [200, 100, 50], 3.0);
}

#[test]
fn majority_extension_wins_and_the_rest_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    png_folder(dir.path(), 5, 8, 8);
    coded_rgb(8, 8, 1).save(dir.path().join("odd.bmp")).unwrap();
    fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
    let loaded = load(dir.path(), &opts(), &Job::new()).unwrap();
    assert_eq!(loaded.stack.len(), 5);
    assert!(
        loaded.report.notes.iter().any(|n| n.contains("ignored 1")),
        "{:?}",
        loaded.report.notes
    );
}

#[test]
fn broken_files_are_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..6u8 {
        flat_gray(32, 32, 30 * i)
            .save(dir.path().join(format!("f{i}.jpg")))
            .unwrap();
    }
    fs::write(dir.path().join("f1.jpg"), b"").unwrap();
    let good = fs::read(dir.path().join("f3.jpg")).unwrap();
    fs::write(dir.path().join("f3.jpg"), &good[..good.len() / 2]).unwrap();
    let loaded = load(dir.path(), &opts(), &Job::new()).unwrap();
    let names: Vec<&str> = loaded
        .report
        .skipped
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, vec!["f1.jpg", "f3.jpg"]);
    assert_eq!(loaded.stack.len(), 4);
    assert_eq!(loaded.stack.meta().source_frames, vec![0, 2, 4, 5]);
    // The frames after a gap moved down in order.
    let v = loaded.stack.frame(2).unwrap()[[20, 20, 0]];
    assert!((i32::from(v) - 120).abs() <= 3, "{v}");
}

#[test]
fn first_file_broken_still_loads_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    png_folder(dir.path(), 4, 8, 8);
    fs::write(dir.path().join("img0.png"), b"garbage").unwrap();
    let loaded = load(dir.path(), &opts(), &Job::new()).unwrap();
    assert_eq!(loaded.stack.len(), 3);
    assert_eq!(loaded.report.skipped.len(), 1);
    assert_eq!(loaded.report.skipped[0].name, "img0.png");
}

#[test]
fn mixed_sizes_name_the_first_odd_file_unless_resizing() {
    let dir = tempfile::tempdir().unwrap();
    png_folder(dir.path(), 6, 8, 8);
    coded_rgb(10, 8, 0)
        .save(dir.path().join("img4.png"))
        .unwrap();
    coded_rgb(12, 8, 0)
        .save(dir.path().join("img5.png"))
        .unwrap();
    match load(dir.path(), &opts(), &Job::new()) {
        Err(e @ LoadError::MixedSizes { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("img4.png") && msg.contains("10×8") && msg.contains("8×8"),
                "{msg}"
            );
        }
        other => panic!("expected a mixed-size error, got {other:?}"),
    }
    let o = LoadOptions {
        resize_to_first: true,
        ..opts()
    };
    let s = load(dir.path(), &o, &Job::new()).unwrap().stack;
    assert_eq!(s.shape(), [6, 8, 8, 3]);
}

#[test]
fn empty_and_missing_paths_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        load(dir.path(), &opts(), &Job::new()),
        Err(LoadError::NoImages { .. })
    ));
    let missing = dir.path().join("nope");
    let err = load(&missing, &opts(), &Job::new()).unwrap_err();
    assert!(matches!(err, LoadError::NotFound { .. }));
    assert!(err.to_string().contains("nope"));
    fs::write(dir.path().join("a.png"), b"").unwrap();
    fs::write(dir.path().join("b.png"), b"xx").unwrap();
    let err = load(dir.path(), &opts(), &Job::new()).unwrap_err();
    assert!(
        matches!(err, LoadError::NothingDecoded { tried: 2, .. }),
        "{err}"
    );
}

#[test]
fn memory_guard_picks_a_step_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    png_folder(dir.path(), 20, 10, 10);
    // 300 bytes per frame; 2000 bytes allow 6 frames: step 4 gives 5.
    let o = LoadOptions {
        max_ram_bytes: Some(2000),
        cache: CacheChoice::Off,
        ..opts()
    };
    let loaded = load(dir.path(), &o, &Job::new()).unwrap();
    let guard = loaded.report.guard.expect("the guard must step in");
    assert_eq!(guard.extra_step, 4);
    assert_eq!(loaded.stack.len(), 5);
    assert!(loaded.report.bytes <= 2000);
    assert!(loaded.report.to_string().contains("memory guard"));
    let o = LoadOptions {
        max_ram_bytes: Some(100),
        cache: CacheChoice::Off,
        ..opts()
    };
    assert!(matches!(
        load(dir.path(), &o, &Job::new()),
        Err(LoadError::FrameOverLimit { .. })
    ));
}

#[test]
fn cancelled_job_stops_the_load() {
    let dir = tempfile::tempdir().unwrap();
    png_folder(dir.path(), 5, 8, 8);
    let job = Job::new();
    job.cancel();
    assert!(matches!(
        load(dir.path(), &opts(), &job),
        Err(LoadError::Cancelled)
    ));
}

#[test]
fn progress_reaches_the_total() {
    let dir = tempfile::tempdir().unwrap();
    png_folder(dir.path(), 7, 8, 8);
    let job = Job::new();
    load(dir.path(), &opts(), &job).unwrap();
    let p = job.snapshot();
    assert_eq!((p.done, p.total), (7, 7));
}

#[test]
fn a_folder_over_the_ram_limit_goes_to_the_cache_with_its_gaps_closed() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    png_folder(&images, 30, 20, 10);
    // A damaged file in the middle is skipped by both loads alike.
    fs::write(images.join("img7.png"), b"not a png").unwrap();
    let in_ram = load(&images, &opts(), &Job::new()).unwrap();
    assert_eq!(in_ram.stack.len(), 29);
    let cache_dir = dir.path().join("cache");
    let o = LoadOptions {
        // 600 bytes a frame: three frames fit.
        max_ram_bytes: Some(2000),
        cache: CacheChoice::In(cache_dir.clone()),
        ..opts()
    };
    let cached = load(&images, &o, &Job::new()).unwrap();
    assert!(cached.report.guard.is_none());
    assert!(cached.stack.is_mapped());
    assert_eq!(cached.stack.view(), in_ram.stack.view());
    assert_eq!(
        cached.stack.meta().source_frames,
        in_ram.stack.meta().source_frames
    );
    assert_eq!(cached.report.skipped, in_ram.report.skipped);
    // Each frame holds what its file was written with: (x, y, 10·i) at pixel (x, y).
    for (k, i) in cached.stack.meta().source_frames.iter().enumerate() {
        let f = cached.stack.frame(k).unwrap();
        let pixel = [f[[3, 5, 0]], f[[3, 5, 1]], f[[3, 5, 2]]];
        assert_eq!(pixel, [5, 3, (i * 10) as u8], "frame {k} from img{i}.png");
    }
    // Reopened from the cache, with the same account of what was skipped.
    let again = load(&images, &o, &Job::new()).unwrap();
    assert!(again.report.cache.unwrap().reused);
    assert_eq!(again.report.skipped, in_ram.report.skipped);
    assert_eq!(again.stack.view(), in_ram.stack.view());
    // A file changed in the folder is a different source.
    png_folder(&images, 1, 20, 10);
    let changed = load(&images, &o, &Job::new()).unwrap();
    assert!(!changed.report.cache.unwrap().reused);
}
