//! A small TIFF writer for fixtures the `tiff` crate's encoder cannot make: planar pages
//! (tifffile's default for `(3, h, w)` data), tiles, big-endian files, any sample format,
//! ImageJ descriptions, and deliberately broken directories. Written from the TIFF 6.0
//! specification, independently of the reader under test.
#![allow(dead_code)]

/// One page (image file directory).
#[derive(Clone)]
pub struct Page {
    pub width: u32,
    pub height: u32,
    pub samples_per_pixel: u16,
    pub bits: u16,
    /// 1 unsigned, 2 signed, 3 float.
    pub sample_format: u16,
    /// 1 chunky (interleaved), 2 planar (one plane per sample).
    pub planar: u16,
    /// 1 min-is-black, 2 RGB, 3 palette, 5 CMYK.
    pub photometric: u16,
    /// Tile size; `None`: one strip per plane.
    pub tile: Option<(u32, u32)>,
    /// Samples in the file's byte order, planes or chunky pixels in row order, as stored
    /// (for tiles: already cut into tiles, tile after tile).
    pub data: Vec<u8>,
    pub description: Option<String>,
    /// Overrides the next-IFD pointer of this page (to build loops).
    pub next_override: Option<u32>,
}

impl Page {
    pub fn gray8(width: u32, height: u32, data: Vec<u8>) -> Self {
        Self {
            width,
            height,
            samples_per_pixel: 1,
            bits: 8,
            sample_format: 1,
            planar: 1,
            photometric: 1,
            tile: None,
            data,
            description: None,
            next_override: None,
        }
    }
}

struct Writer {
    big: bool,
    out: Vec<u8>,
}

impl Writer {
    fn u16(&mut self, v: u16) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.out.extend_from_slice(&b);
    }
    fn u32(&mut self, v: u32) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.out.extend_from_slice(&b);
    }
    fn pad(&mut self) {
        if self.out.len() % 2 == 1 {
            self.out.push(0);
        }
    }
}

/// A value of an IFD entry: shorts, longs or ASCII.
enum Value {
    Short(Vec<u16>),
    Long(Vec<u32>),
    Ascii(Vec<u8>),
}

macro_rules! sample_bytes {
    ($($name:ident: $t:ty),*) => {$(
        /// Samples as bytes in the chosen byte order.
        pub fn $name(values: &[$t], big: bool) -> Vec<u8> {
            let order = |v: &$t| if big { v.to_be_bytes() } else { v.to_le_bytes() };
            values.iter().flat_map(order).collect()
        }
    )*};
}
sample_bytes!(bytes_u16: u16, bytes_f32: f32, bytes_i32: i32);

/// The file: header, then each page's data followed by its directory.
pub fn write(pages: &[Page], big: bool) -> Vec<u8> {
    let mut w = Writer {
        big,
        out: Vec::new(),
    };
    w.out.extend_from_slice(if big { b"MM" } else { b"II" });
    w.u16(42);
    let first_ifd_at = w.out.len();
    w.u32(0);
    let mut previous_next_at = first_ifd_at;
    for page in pages {
        // Data first: strips (one per plane) or tiles.
        let bytes_per_sample = usize::from(page.bits / 8);
        let chunks: Vec<(u32, u32)> = match page.tile {
            None => {
                let planes = if page.planar == 2 {
                    usize::from(page.samples_per_pixel)
                } else {
                    1
                };
                let plane_len = page.data.len() / planes;
                (0..planes)
                    .map(|p| {
                        let at = w.out.len() as u32;
                        w.out
                            .extend_from_slice(&page.data[p * plane_len..(p + 1) * plane_len]);
                        (at, plane_len as u32)
                    })
                    .collect()
            }
            Some((tw, th)) => {
                let across = page.width.div_ceil(tw);
                let down = page.height.div_ceil(th);
                let tile_len =
                    (tw * th) as usize * bytes_per_sample * usize::from(page.samples_per_pixel);
                (0..(across * down) as usize)
                    .map(|t| {
                        let at = w.out.len() as u32;
                        w.out
                            .extend_from_slice(&page.data[t * tile_len..(t + 1) * tile_len]);
                        (at, tile_len as u32)
                    })
                    .collect()
            }
        };
        w.pad();
        let spp = usize::from(page.samples_per_pixel);
        let mut entries: Vec<(u16, Value)> = vec![
            (256, Value::Long(vec![page.width])),
            (257, Value::Long(vec![page.height])),
            (258, Value::Short(vec![page.bits; spp])),
            (259, Value::Short(vec![1])),
            (262, Value::Short(vec![page.photometric])),
        ];
        if let Some(d) = &page.description {
            let mut b = d.as_bytes().to_vec();
            b.push(0);
            entries.push((270, Value::Ascii(b)));
        }
        let offsets: Vec<u32> = chunks.iter().map(|c| c.0).collect();
        let counts: Vec<u32> = chunks.iter().map(|c| c.1).collect();
        if page.tile.is_none() {
            entries.push((273, Value::Long(offsets.clone())));
        }
        entries.push((277, Value::Short(vec![page.samples_per_pixel])));
        if page.tile.is_none() {
            entries.push((278, Value::Long(vec![page.height])));
            entries.push((279, Value::Long(counts.clone())));
        }
        entries.push((284, Value::Short(vec![page.planar])));
        if let Some((tw, th)) = page.tile {
            entries.push((322, Value::Long(vec![tw])));
            entries.push((323, Value::Long(vec![th])));
            entries.push((324, Value::Long(offsets)));
            entries.push((325, Value::Long(counts)));
        }
        entries.push((339, Value::Short(vec![page.sample_format; spp])));

        // Values longer than four bytes go after the directory.
        let ifd_at = w.out.len() as u32;
        let ifd_len = 2 + entries.len() * 12 + 4;
        let mut extra_at = ifd_at as usize + ifd_len;
        let mut extra: Vec<u8> = Vec::new();
        let mut ifd = Writer {
            big,
            out: Vec::new(),
        };
        ifd.u16(entries.len() as u16);
        for (tag, value) in &entries {
            let (kind, count, bytes) = match value {
                Value::Short(v) => (3u16, v.len(), bytes_u16(v, big)),
                Value::Long(v) => (
                    4u16,
                    v.len(),
                    v.iter()
                        .flat_map(|x| {
                            if big {
                                x.to_be_bytes()
                            } else {
                                x.to_le_bytes()
                            }
                        })
                        .collect(),
                ),
                Value::Ascii(v) => (2u16, v.len(), v.clone()),
            };
            ifd.u16(*tag);
            ifd.u16(kind);
            ifd.u32(count as u32);
            if bytes.len() <= 4 {
                let mut inline = bytes.clone();
                inline.resize(4, 0);
                ifd.out.extend_from_slice(&inline);
            } else {
                ifd.u32(extra_at as u32);
                extra.extend_from_slice(&bytes);
                if extra.len() % 2 == 1 {
                    extra.push(0);
                }
                extra_at = ifd_at as usize + ifd_len + extra.len();
            }
        }
        let next_at = ifd_at as usize + ifd.out.len();
        ifd.u32(page.next_override.unwrap_or(0));
        // Link the previous directory (or the header) to this one.
        let link = if big {
            ifd_at.to_be_bytes()
        } else {
            ifd_at.to_le_bytes()
        };
        w.out[previous_next_at..previous_next_at + 4].copy_from_slice(&link);
        w.out.extend_from_slice(&ifd.out);
        w.out.extend_from_slice(&extra);
        w.pad();
        if page.next_override.is_some() {
            // The override stays; the pages after it are not linked.
            break;
        }
        previous_next_at = next_at;
    }
    w.out
}
