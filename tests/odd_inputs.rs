//! A corpus of bad and odd inputs, each with its exact outcome: which open and with what
//! shape and values, which are refused and with which words. Fixtures are written here by
//! hand (npy headers, a TIFF writer from the specification in `common/tiffw.rs`), with the
//! `tiff` crate's encoder for compressed pages, and with the ffmpeg CLI for media. The
//! expected pixel values are computed in the test from the documented scaling (global
//! minimum → 0, maximum → 255), not taken from the loader.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::tiffw::{self, Page, bytes_f32, bytes_i32, bytes_u16};
use stackscope::Job;
use stackscope::load::{LoadOptions, Loaded, load};

/// What a case must do.
enum Expect {
    /// Opens with this shape `[n, h, w, c]`; the closure checks values.
    Opens([usize; 4], Option<fn(&Loaded)>),
    /// Refused with an error containing these words.
    Refused(&'static str),
}

struct Case {
    name: &'static str,
    file: &'static str,
    bytes: Vec<u8>,
    expect: Expect,
}

/// An `.npy` file: magic, version 1.0, the header dict padded to 64 bytes, then `data`.
fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let dict = format!(
        "{{'descr': {descr}, 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    let mut header = dict.into_bytes();
    let total = 10 + header.len() + 1;
    header.resize(header.len() + (64 - total % 64) % 64, b' ');
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out
}

/// The byte the documented min-max scaling gives `v` in a stack whose range is `lo..hi`.
fn scaled(v: f64, lo: f64, hi: f64) -> u8 {
    ((v - lo) * 255.0 / (hi - lo)).round().clamp(0.0, 255.0) as u8
}

fn pixels(l: &Loaded) -> Vec<u8> {
    l.stack.view().iter().copied().collect()
}

fn tiff_encoded<C: tiff::encoder::colortype::ColorType>(
    compression: tiff::encoder::Compression,
    big_tiff: bool,
    pages: &[Vec<C::Inner>],
    w: u32,
    h: u32,
) -> Vec<u8>
where
    [C::Inner]: tiff::encoder::TiffValue,
{
    let mut buf = std::io::Cursor::new(Vec::new());
    if big_tiff {
        let mut enc = tiff::encoder::TiffEncoder::new_big(&mut buf)
            .unwrap()
            .with_compression(compression);
        for p in pages {
            enc.write_image::<C>(w, h, p).unwrap();
        }
    } else {
        let mut enc = tiff::encoder::TiffEncoder::new(&mut buf)
            .unwrap()
            .with_compression(compression);
        for p in pages {
            enc.write_image::<C>(w, h, p).unwrap();
        }
    }
    buf.into_inner()
}

fn npy_cases() -> Vec<Case> {
    let ramp: Vec<u8> = (0..60).collect();
    let u16_values: Vec<u16> = vec![100, 200, 300, 400, 500, 600];
    vec![
        Case {
            name: "uint8 stack",
            file: "a.npy",
            bytes: npy("'|u1'", false, "(3, 4, 5)", &ramp),
            expect: Expect::Opens(
                [3, 4, 5, 1],
                Some(|l| {
                    assert!(l.stack.is_mapped());
                    assert_eq!(pixels(l), (0..60).collect::<Vec<u8>>());
                }),
            ),
        },
        Case {
            name: "header (10**18, 0, 5): zero-pixel frames, the crash in the issue",
            file: "a.npy",
            bytes: npy("'|u1'", false, "(1000000000000000000, 0, 5)", &[]),
            expect: Expect::Refused("frames of 5×0 pixels"),
        },
        Case {
            name: "header promising 10**15 frames of real size",
            file: "a.npy",
            bytes: npy("'|u1'", false, "(1000000000000000, 4, 5)", &ramp),
            expect: Expect::Refused("it is truncated"),
        },
        Case {
            name: "header (10**18, 4, 5): the byte count overflows",
            file: "a.npy",
            bytes: npy("'|u1'", false, "(1000000000000000000, 4, 5)", &ramp),
            expect: Expect::Refused("the header's shape overflows"),
        },
        Case {
            name: "shape product overflows",
            file: "a.npy",
            bytes: npy(
                "'<f8'",
                false,
                "(4611686018427387904, 4611686018427387904)",
                &[],
            ),
            expect: Expect::Refused("overflows"),
        },
        Case {
            name: "big-endian uint16 (>u2)",
            file: "a.npy",
            bytes: npy("'>u2'", false, "(1, 2, 3)", &bytes_u16(&u16_values, true)),
            expect: Expect::Opens(
                [1, 2, 3, 1],
                Some(|l| {
                    let want: Vec<u8> = [100, 200, 300, 400, 500, 600]
                        .iter()
                        .map(|&v| scaled(v as f64, 100.0, 600.0))
                        .collect();
                    assert_eq!(pixels(l), want);
                    let r = l.stack.meta().value_range.unwrap();
                    assert_eq!((r.min, r.max), (100.0, 600.0));
                }),
            ),
        },
        Case {
            name: "little-endian uint16 (<u2), same values",
            file: "a.npy",
            bytes: npy("'<u2'", false, "(1, 2, 3)", &bytes_u16(&u16_values, false)),
            expect: Expect::Opens(
                [1, 2, 3, 1],
                Some(|l| assert_eq!(pixels(l), vec![0, 51, 102, 153, 204, 255])),
            ),
        },
        Case {
            name: "big-endian float32 (>f4)",
            file: "a.npy",
            bytes: npy(
                "'>f4'",
                false,
                "(2, 2)",
                &bytes_f32(&[-1.0, 0.0, 0.5, 3.0], true),
            ),
            expect: Expect::Opens(
                [1, 2, 2, 1],
                Some(|l| {
                    let want: Vec<u8> = [-1.0, 0.0, 0.5, 3.0]
                        .iter()
                        .map(|&v| scaled(v, -1.0, 3.0))
                        .collect();
                    assert_eq!(pixels(l), want);
                }),
            ),
        },
        Case {
            name: "big-endian float64 (>f8)",
            file: "a.npy",
            bytes: npy(
                "'>f8'",
                false,
                "(1, 3)",
                &[0.0f64, 2.0, 4.0]
                    .iter()
                    .flat_map(|v| v.to_be_bytes())
                    .collect::<Vec<u8>>(),
            ),
            expect: Expect::Opens(
                [1, 1, 3, 1],
                Some(|l| assert_eq!(pixels(l), vec![0, 128, 255])),
            ),
        },
        Case {
            name: "big-endian int16 (>i2)",
            file: "a.npy",
            bytes: npy(
                "'>i2'",
                false,
                "(1, 2)",
                &[(-100i16).to_be_bytes(), 100i16.to_be_bytes()].concat(),
            ),
            expect: Expect::Opens([1, 1, 2, 1], Some(|l| assert_eq!(pixels(l), vec![0, 255]))),
        },
        Case {
            name: "big-endian int32 (>i4)",
            file: "a.npy",
            bytes: npy("'>i4'", false, "(1, 3)", &bytes_i32(&[-5, 0, 5], true)),
            expect: Expect::Opens(
                [1, 1, 3, 1],
                Some(|l| assert_eq!(pixels(l), vec![0, 128, 255])),
            ),
        },
        Case {
            name: "bool",
            file: "a.npy",
            bytes: npy("'|b1'", false, "(1, 2)", &[0, 1]),
            expect: Expect::Opens([1, 1, 2, 1], Some(|l| assert_eq!(pixels(l), vec![0, 255]))),
        },
        Case {
            name: "float32 with NaN",
            file: "a.npy",
            bytes: npy(
                "'<f4'",
                false,
                "(1, 3)",
                &bytes_f32(&[f32::NAN, 1.0, 2.0], false),
            ),
            expect: Expect::Opens(
                [1, 1, 3, 1],
                Some(|l| assert_eq!(pixels(l), vec![0, 0, 255])),
            ),
        },
        Case {
            name: "RGBA uint8 (alpha dropped)",
            file: "a.npy",
            bytes: npy("'|u1'", false, "(1, 1, 2, 4)", &[1, 2, 3, 9, 4, 5, 6, 9]),
            expect: Expect::Opens(
                [1, 1, 2, 3],
                Some(|l| assert_eq!(pixels(l), vec![1, 2, 3, 4, 5, 6])),
            ),
        },
        Case {
            name: "one 2-D image",
            file: "a.npy",
            bytes: npy("'|u1'", false, "(2, 3)", &[1, 2, 3, 4, 5, 6]),
            expect: Expect::Opens([1, 2, 3, 1], None),
        },
        Case {
            name: "complex64",
            file: "a.npy",
            bytes: npy("'<c8'", false, "(1, 1)", &[0; 8]),
            expect: Expect::Refused("unsupported dtype '<c8'"),
        },
        Case {
            name: "object array",
            file: "a.npy",
            bytes: npy("'|O'", false, "(1, 1)", &[0; 8]),
            expect: Expect::Refused("object arrays"),
        },
        Case {
            name: "structured dtype",
            file: "a.npy",
            bytes: npy("[('a', '<u2')]", false, "(1, 1)", &[0; 2]),
            expect: Expect::Refused("structured dtype"),
        },
        Case {
            name: "Fortran order",
            file: "a.npy",
            bytes: npy("'|u1'", true, "(2, 3)", &[0; 6]),
            expect: Expect::Refused("Fortran order"),
        },
        Case {
            name: "five dimensions",
            file: "a.npy",
            bytes: npy("'|u1'", false, "(1, 1, 1, 1, 1)", &[0]),
            expect: Expect::Refused("5-dimensional"),
        },
        Case {
            name: "two channels",
            file: "a.npy",
            bytes: npy("'|u1'", false, "(1, 2, 2, 2)", &[0; 8]),
            expect: Expect::Refused("2 channels"),
        },
        Case {
            name: "zero frames",
            file: "a.npy",
            bytes: npy("'|u1'", false, "(0, 4, 5)", &[]),
            expect: Expect::Refused("no frame"),
        },
        Case {
            name: "data shorter than the header says",
            file: "a.npy",
            bytes: npy("'<u2'", false, "(2, 4, 5)", &[0; 30]),
            expect: Expect::Refused("truncated"),
        },
        Case {
            name: "stray braces before the header dict (the literal parser backtracks)",
            file: "a.npy",
            bytes: {
                let mut b = npy("'|u1'", false, "(1, 2)", &[1, 2]);
                // Twenty '{' where the header's padding was: 30+ s of parsing before.
                b[10..30].copy_from_slice(&[b'{'; 20]);
                b
            },
            expect: Expect::Refused("malformed .npy header"),
        },
        Case {
            name: "format 2.0 header length of 662 MB in a 200-byte file",
            file: "a.npy",
            bytes: {
                let mut b = npy("'|u1'", false, "(1, 2)", &[1, 2]);
                b[6] = 2;
                b[8..12].copy_from_slice(&0x277b_0076u32.to_le_bytes());
                b
            },
            expect: Expect::Refused("claims 662372470 bytes"),
        },
        Case {
            name: "not an npy at all",
            file: "a.npy",
            bytes: b"P5\n2 2\n255\n\x00\x01\x02\x03".to_vec(),
            expect: Expect::Refused("malformed .npy header"),
        },
        Case {
            name: "magic only",
            file: "a.npy",
            bytes: b"\x93NUMPY".to_vec(),
            expect: Expect::Refused("malformed .npy header"),
        },
    ]
}

fn tiff_cases() -> Vec<Case> {
    use tiff::encoder::{Compression, colortype};
    let gray: Vec<u8> = (0..12).map(|i| i * 20).collect();
    let planar_rgb = |big: bool, bits: u16| {
        // Planes R, G, B of a 3×2 image; pixel i is (i, 10 + i, 20 + i) (×100 for 16-bit).
        let planes: Vec<u16> = (0..3)
            .flat_map(|c| (0..6).map(move |i| (c * 10 + i) as u16))
            .collect();
        let data = if bits == 8 {
            planes.iter().map(|&v| v as u8).collect()
        } else {
            bytes_u16(&planes.iter().map(|v| v * 100).collect::<Vec<_>>(), big)
        };
        Page {
            samples_per_pixel: 3,
            bits,
            planar: 2,
            photometric: 2,
            ..Page::gray8(3, 2, data)
        }
    };
    let float_page = |values: &[f32], spp: u16| Page {
        samples_per_pixel: spp,
        bits: 32,
        sample_format: 3,
        photometric: if spp == 3 { 2 } else { 1 },
        ..Page::gray8(2, 1, bytes_f32(values, false))
    };
    vec![
        Case {
            name: "8-bit gray pages",
            file: "a.tif",
            bytes: tiff_encoded::<colortype::Gray8>(
                Compression::Uncompressed,
                false,
                &[gray.clone(), gray.clone()],
                4,
                3,
            ),
            expect: Expect::Opens([2, 3, 4, 1], None),
        },
        Case {
            name: "Fiji 32-bit float gray",
            file: "a.tif",
            bytes: tiffw::write(&[float_page(&[-0.5, 1.5], 1)], false),
            expect: Expect::Opens(
                [1, 1, 2, 1],
                Some(|l| {
                    assert_eq!(pixels(l), vec![0, 255]);
                    assert_eq!(l.stack.meta().original_dtype.as_deref(), Some("float32"));
                    let r = l.stack.meta().value_range.unwrap();
                    assert_eq!((r.min, r.max), (-0.5, 1.5));
                }),
            ),
        },
        Case {
            name: "Fiji 32-bit float RGB, values between the extremes",
            file: "a.tif",
            bytes: tiffw::write(&[float_page(&[0.0, 1.0, 2.0, 3.0, 4.0, 8.0], 3)], false),
            expect: Expect::Opens(
                [1, 1, 2, 3],
                Some(|l| {
                    let want: Vec<u8> = [0.0, 1.0, 2.0, 3.0, 4.0, 8.0]
                        .iter()
                        .map(|&v| scaled(v, 0.0, 8.0))
                        .collect();
                    assert_eq!(pixels(l), want);
                }),
            ),
        },
        Case {
            name: "32-bit signed integer pages",
            file: "a.tif",
            bytes: tiffw::write(
                &[Page {
                    bits: 32,
                    sample_format: 2,
                    ..Page::gray8(3, 1, bytes_i32(&[-70000, 0, 70000], false))
                }],
                false,
            ),
            expect: Expect::Opens(
                [1, 1, 3, 1],
                Some(|l| {
                    assert_eq!(pixels(l), vec![0, 128, 255]);
                    assert_eq!(l.stack.meta().original_dtype.as_deref(), Some("int32"));
                }),
            ),
        },
        Case {
            name: "32-bit unsigned integer pages",
            file: "a.tif",
            bytes: tiff_encoded::<colortype::Gray32>(
                Compression::Uncompressed,
                false,
                &[vec![0, 100_000, 200_000, 400_000]],
                2,
                2,
            ),
            expect: Expect::Opens(
                [1, 2, 2, 1],
                Some(|l| assert_eq!(pixels(l), vec![0, 64, 128, 255])),
            ),
        },
        Case {
            name: "16-bit signed pages",
            file: "a.tif",
            bytes: tiff_encoded::<colortype::GrayI16>(
                Compression::Uncompressed,
                false,
                &[vec![-300, 300]],
                2,
                1,
            ),
            expect: Expect::Opens([1, 1, 2, 1], Some(|l| assert_eq!(pixels(l), vec![0, 255]))),
        },
        Case {
            name: "planar configuration 2, 8-bit RGB (tifffile's (3, h, w))",
            file: "a.tif",
            bytes: tiffw::write(&[planar_rgb(false, 8)], false),
            expect: Expect::Opens(
                [1, 2, 3, 3],
                Some(|l| {
                    // Interleaved back: pixel i is (i, 10 + i, 20 + i).
                    let want: Vec<u8> = (0..6u8).flat_map(|i| [i, 10 + i, 20 + i]).collect();
                    assert_eq!(pixels(l), want);
                }),
            ),
        },
        Case {
            name: "planar configuration 2, 16-bit big-endian RGB",
            file: "a.tif",
            bytes: tiffw::write(&[planar_rgb(true, 16)], true),
            expect: Expect::Opens(
                [1, 2, 3, 3],
                Some(|l| {
                    let want: Vec<u8> = (0..6u16)
                        .flat_map(|i| [i * 100, (10 + i) * 100, (20 + i) * 100])
                        .map(|v| scaled(f64::from(v), 0.0, 2500.0))
                        .collect();
                    assert_eq!(pixels(l), want);
                }),
            ),
        },
        Case {
            name: "big-endian (MM) 16-bit gray",
            file: "a.tif",
            bytes: tiffw::write(
                &[Page {
                    bits: 16,
                    ..Page::gray8(2, 1, bytes_u16(&[1000, 3000], true))
                }],
                true,
            ),
            expect: Expect::Opens([1, 1, 2, 1], Some(|l| assert_eq!(pixels(l), vec![0, 255]))),
        },
        Case {
            name: "tiled 8-bit gray (2×2 tiles of 16×16)",
            file: "a.tif",
            bytes: {
                // A 20×18 image in 16×16 tiles; pixel (x, y) = x + 10·y; tiles padded.
                let mut data = Vec::new();
                for ty in 0..2 {
                    for tx in 0..2 {
                        for y in 0..16 {
                            for x in 0..16 {
                                let (px, py) = (tx * 16 + x, ty * 16 + y);
                                data.push(if px < 20 && py < 18 {
                                    (px + 10 * py) as u8
                                } else {
                                    0
                                });
                            }
                        }
                    }
                }
                tiffw::write(
                    &[Page {
                        tile: Some((16, 16)),
                        ..Page::gray8(20, 18, data)
                    }],
                    false,
                )
            },
            expect: Expect::Opens(
                [1, 18, 20, 1],
                Some(|l| {
                    let f = l.stack.frame(0).unwrap();
                    for (x, y) in [(0, 0), (19, 0), (17, 5), (3, 17), (19, 17)] {
                        assert_eq!(f[[y, x, 0]] as usize, x + 10 * y, "pixel ({x}, {y})");
                    }
                }),
            ),
        },
        Case {
            name: "LZW-compressed pages",
            file: "a.tif",
            bytes: tiff_encoded::<colortype::Gray8>(
                Compression::Lzw,
                false,
                &[gray.clone(), gray.clone(), gray.clone()],
                4,
                3,
            ),
            expect: Expect::Opens(
                [3, 3, 4, 1],
                Some(|l| assert_eq!(l.stack.frame(2).unwrap()[[2, 3, 0]], 220)),
            ),
        },
        Case {
            name: "Deflate-compressed RGB",
            file: "a.tif",
            bytes: tiff_encoded::<colortype::RGB8>(
                Compression::Deflate(tiff::encoder::DeflateLevel::Balanced),
                false,
                &[(0..36).collect()],
                4,
                3,
            ),
            expect: Expect::Opens(
                [1, 3, 4, 3],
                Some(|l| assert_eq!(pixels(l), (0..36).collect::<Vec<u8>>())),
            ),
        },
        Case {
            name: "PackBits-compressed pages",
            file: "a.tif",
            bytes: tiff_encoded::<colortype::Gray8>(
                Compression::Packbits,
                false,
                &[vec![7; 12]],
                4,
                3,
            ),
            expect: Expect::Opens(
                [1, 3, 4, 1],
                Some(|l| assert!(pixels(l).iter().all(|&v| v == 7))),
            ),
        },
        Case {
            name: "BigTIFF",
            file: "a.tif",
            bytes: tiff_encoded::<colortype::Gray16>(
                Compression::Uncompressed,
                true,
                &[vec![0, 10, 20, 30], vec![40, 50, 60, 70]],
                2,
                2,
            ),
            expect: Expect::Opens(
                [2, 2, 2, 1],
                Some(|l| {
                    let want: Vec<u8> =
                        (0..8).map(|i| scaled(i as f64 * 10.0, 0.0, 70.0)).collect();
                    assert_eq!(pixels(l), want);
                }),
            ),
        },
        Case {
            name: "ImageJ hyperstack (2 channels × 3 frames)",
            file: "a.tif",
            bytes: {
                let pages: Vec<Page> = (0..6)
                    .map(|i| Page {
                        description: (i == 0).then(|| {
                            "ImageJ=1.54f\nimages=6\nchannels=2\nframes=3\nhyperstack=true\nmode=composite\n"
                                .to_string()
                        }),
                        ..Page::gray8(2, 2, vec![i * 10; 4])
                    })
                    .collect();
                tiffw::write(&pages, true)
            },
            expect: Expect::Opens(
                [6, 2, 2, 1],
                Some(|l| {
                    assert!(
                        l.report
                            .notes
                            .iter()
                            .any(|n| n.contains("ImageJ hyperstack: 2 channels × 3 frames")),
                        "{:?}",
                        l.report.notes
                    );
                    assert_eq!(l.stack.frame(5).unwrap()[[0, 0, 0]], 50);
                }),
            ),
        },
        Case {
            name: "ImageJ stack over 4 GB style: one directory, images back to back",
            file: "a.tif",
            bytes: {
                // Three 3×2 16-bit big-endian frames after one another; the directory
                // describes the first and the description says images=3.
                let values: Vec<u16> = (0..18).map(|i| i * 100).collect();
                let page = Page {
                    bits: 16,
                    description: Some("ImageJ=1.54f\nimages=3\nslices=3\n".into()),
                    ..Page::gray8(3, 2, bytes_u16(&values, true))
                };
                let mut bytes = tiffw::write(&[page], true);
                // StripByteCounts (279) says one page: 3 × 2 × 2 bytes.
                let first = u32::from_be_bytes(bytes[4..8].try_into().unwrap()) as usize;
                let entries = u16::from_be_bytes([bytes[first], bytes[first + 1]]) as usize;
                let entry = (0..entries)
                    .map(|i| first + 2 + i * 12)
                    .find(|&e| u16::from_be_bytes([bytes[e], bytes[e + 1]]) == 279)
                    .unwrap();
                bytes[entry + 8..entry + 12].copy_from_slice(&12u32.to_be_bytes());
                bytes
            },
            expect: Expect::Opens(
                [3, 2, 3, 1],
                Some(|l| {
                    let want: Vec<u8> = (0..18)
                        .map(|i| scaled(i as f64 * 100.0, 0.0, 1700.0))
                        .collect();
                    assert_eq!(pixels(l), want);
                    assert!(
                        l.report
                            .notes
                            .iter()
                            .any(|n| n.contains("3 images back to back")),
                        "{:?}",
                        l.report.notes
                    );
                }),
            ),
        },
        Case {
            name: "directory chain that loops back to itself",
            file: "a.tif",
            bytes: {
                let mut bytes = tiffw::write(&[Page::gray8(2, 2, vec![9; 4])], false);
                // Point the only directory's next-IFD field at the directory itself.
                let first = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
                let entries = u16::from_le_bytes([bytes[first], bytes[first + 1]]) as usize;
                let next_at = first + 2 + entries * 12;
                bytes[next_at..next_at + 4].copy_from_slice(&(first as u32).to_le_bytes());
                bytes
            },
            expect: Expect::Refused("cycle in the list of IFDs"),
        },
        Case {
            name: "palette colour",
            file: "a.tif",
            bytes: tiffw::write(
                &[Page {
                    photometric: 3,
                    ..Page::gray8(2, 1, vec![0, 1])
                }],
                false,
            ),
            expect: Expect::Refused(
                "RGBPalette with bits per sample [8] is unsupported; stackscope reads gray, RGB and RGBA",
            ),
        },
        Case {
            name: "CMYK",
            file: "a.tif",
            bytes: tiffw::write(
                &[Page {
                    photometric: 5,
                    samples_per_pixel: 4,
                    ..Page::gray8(1, 1, vec![0, 0, 0, 0])
                }],
                false,
            ),
            expect: Expect::Refused("unsupported TIFF colour type CMYK"),
        },
        Case {
            name: "strip offset past the end of the file",
            file: "a.tif",
            bytes: {
                let mut bytes = tiffw::write(&[Page::gray8(2, 2, vec![1; 4])], false);
                // StripOffsets (tag 273) is the 6th entry; its value sits inline.
                let first = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
                let entry = first + 2 + 5 * 12;
                assert_eq!(u16::from_le_bytes([bytes[entry], bytes[entry + 1]]), 273);
                bytes[entry + 8..entry + 12].copy_from_slice(&1_000_000u32.to_le_bytes());
                bytes
            },
            expect: Expect::Refused("none of the 1 frames could be decoded"),
        },
        Case {
            name: "garbage named .tif",
            file: "a.tif",
            bytes: b"this is not a tiff at all".to_vec(),
            expect: Expect::Refused("not a readable TIFF"),
        },
        Case {
            name: "empty .tif",
            file: "a.tif",
            bytes: Vec::new(),
            expect: Expect::Refused("not a readable TIFF"),
        },
    ]
}

fn image_and_media_cases(dir: &Path) -> Vec<Case> {
    let png = |v: u8| {
        let mut buf = std::io::Cursor::new(Vec::new());
        image::GrayImage::from_pixel(4, 3, image::Luma([v]))
            .write_to(&mut buf, image::ImageFormat::Png)
            .unwrap();
        buf.into_inner()
    };
    let jpg = {
        let mut buf = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_pixel(16, 16, image::Rgb([10, 200, 30]))
            .write_to(&mut buf, image::ImageFormat::Jpeg)
            .unwrap();
        buf.into_inner()
    };
    // A short video from the ffmpeg CLI, whole and cut short.
    let video = dir.join("fixture.mp4");
    common::ffmpeg_from_raw(
        &common::gray_frames(10, 32, 24),
        32,
        24,
        "gray",
        10,
        &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "2"],
        &video,
    );
    let whole = std::fs::read(&video).unwrap();
    vec![
        Case {
            name: "a PNG",
            file: "a.png",
            bytes: png(42),
            expect: Expect::Opens(
                [1, 3, 4, 1],
                Some(|l| assert!(pixels(l).iter().all(|&v| v == 42))),
            ),
        },
        Case {
            name: "a truncated JPEG",
            file: "a.jpg",
            bytes: jpg[..jpg.len() / 2].to_vec(),
            expect: Expect::Refused("a.jpg"),
        },
        Case {
            name: "text named .png",
            file: "a.png",
            bytes: b"hello".to_vec(),
            expect: Expect::Refused("a.png"),
        },
        Case {
            name: "an H.264 MP4",
            file: "a.mp4",
            bytes: whole.clone(),
            expect: Expect::Opens([10, 24, 32, 3], None),
        },
        Case {
            name: "an MP4 without its index (first 600 bytes)",
            file: "a.mp4",
            bytes: whole[..600.min(whole.len())].to_vec(),
            expect: Expect::Refused("a.mp4"),
        },
        Case {
            name: "random bytes named .mp4",
            file: "a.mp4",
            bytes: (0..4000u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
                .collect(),
            expect: Expect::Refused("not a video FFmpeg can read"),
        },
        Case {
            name: "an empty .mp4",
            file: "a.mp4",
            bytes: Vec::new(),
            expect: Expect::Refused("a.mp4"),
        },
    ]
}

fn run(case: &Case, dir: &Path) -> Result<(), String> {
    let sub = dir.join(case.name.replace(['/', ' ', '*', '(', ')', ',', '\''], "_"));
    std::fs::create_dir_all(&sub).unwrap();
    let path: PathBuf = sub.join(case.file);
    std::fs::write(&path, &case.bytes).unwrap();
    let result = load(&path, &LoadOptions::default(), &Job::new());
    match (&case.expect, result) {
        (Expect::Opens(shape, check), Ok(loaded)) => {
            if loaded.stack.shape() != *shape {
                return Err(format!(
                    "opened with shape {:?}, expected {shape:?}",
                    loaded.stack.shape()
                ));
            }
            if let Some(check) = check {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&loaded))).map_err(
                    |e| {
                        e.downcast_ref::<String>()
                            .cloned()
                            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default()
                    },
                )?;
            }
            Ok(())
        }
        (Expect::Opens(..), Err(e)) => Err(format!("refused: {e}")),
        (Expect::Refused(words), Err(e)) => {
            let message = e.to_string();
            if message.contains(words) {
                Ok(())
            } else {
                Err(format!("refused with '{message}', expected '{words}'"))
            }
        }
        (Expect::Refused(words), Ok(l)) => Err(format!(
            "opened with shape {:?}, expected a refusal with '{words}'",
            l.stack.shape()
        )),
    }
}

#[test]
fn every_odd_input_has_its_exact_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = npy_cases();
    cases.extend(tiff_cases());
    cases.extend(image_and_media_cases(dir.path()));
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| run(c, dir.path()).err().map(|e| format!("{}: {e}", c.name)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn a_wav_claiming_a_gigahertz_sample_rate_is_refused_at_once() {
    // Found by the fuzzer: 2^30 Hz made the resampler take 20 s and 1.5 GB.
    let dir = tempfile::tempdir().unwrap();
    let mut wav = b"RIFF\x00\x01\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00".to_vec();
    wav.extend_from_slice(&(1u32 << 30).to_le_bytes());
    wav.extend_from_slice(&(1u32 << 31).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data\x00\x01\x00\x00");
    wav.extend_from_slice(&[0x10; 256]);
    let path = dir.path().join("fast.wav");
    std::fs::write(&path, &wav).unwrap();
    let e = stackscope::audio::analyze(&path, &Default::default(), &Job::new()).unwrap_err();
    assert!(
        e.to_string().contains("1073741824 Hz is not plausible"),
        "{e}"
    );
}

#[test]
fn a_lying_wav_header_is_read_for_what_the_file_holds() {
    // A WAV whose RIFF and data sizes claim 4 GB while the file holds one second.
    let dir = tempfile::tempdir().unwrap();
    let rate = 8000u32;
    let samples: Vec<i16> = (0..rate)
        .map(|i| ((i as f64 * 440.0 * std::f64::consts::TAU / rate as f64).sin() * 8000.0) as i16)
        .collect();
    let mut wav = b"RIFF".to_vec();
    wav.extend_from_slice(&u32::MAX.to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(u32::MAX - 100).to_le_bytes());
    wav.extend(samples.iter().flat_map(|s| s.to_le_bytes()));
    let path = dir.path().join("liar.wav");
    std::fs::write(&path, &wav).unwrap();
    let settings = stackscope::audio::SpectrumSettings {
        fps: 10.0,
        ..Default::default()
    };
    let spectrum = stackscope::audio::analyze(&path, &settings, &Job::new()).unwrap();
    // ceil(8000 samples · 10 fps / 8000 Hz) frames, whatever the header claimed.
    assert_eq!(spectrum.frames, 10);
}
