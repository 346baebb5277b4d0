//! Regions of interest and their time curves.
//!
//! A pixel belongs to a shape when its centre `(x + 0.5, y + 0.5)` lies inside it (polygon:
//! even-odd rule), so shapes drawn in image coordinates select the pixels a viewer shows under
//! them. A region is stored as horizontal spans, so a curve reads only the pixels it needs.

use std::fmt::Write as _;
use std::str::FromStr;

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, ArrayView4, Axis};
use rayon::prelude::*;
use serde::Serialize;

use crate::job::{Cancelled, Job};
use crate::stack::row_bytes;

/// A region drawn on the image, in pixel coordinates (x right, y down).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    Rect {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
    },
    Ellipse {
        cx: f32,
        cy: f32,
        rx: f32,
        ry: f32,
    },
    Polygon {
        points: Vec<(f32, f32)>,
    },
    /// One pixel.
    Probe {
        x: usize,
        y: usize,
    },
}

fn numbers(s: &str, what: &str) -> Result<Vec<f32>, String> {
    s.split(',')
        .map(|t| t.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("{what} '{s}' must be comma-separated numbers"))
}

impl Shape {
    /// `x,y,w,h`.
    pub fn parse_rect(s: &str) -> Result<Self, String> {
        match numbers(s, "rectangle")?[..] {
            [x, y, width, height] if width > 0.0 && height > 0.0 => Ok(Self::Rect {
                x,
                y,
                width,
                height,
            }),
            _ => Err(format!(
                "rectangle '{s}' must be X,Y,W,H with W and H above 0"
            )),
        }
    }

    /// `cx,cy,rx,ry`.
    pub fn parse_ellipse(s: &str) -> Result<Self, String> {
        match numbers(s, "ellipse")?[..] {
            [cx, cy, rx, ry] if rx > 0.0 && ry > 0.0 => Ok(Self::Ellipse { cx, cy, rx, ry }),
            _ => Err(format!(
                "ellipse '{s}' must be CX,CY,RX,RY with radii above 0"
            )),
        }
    }

    /// `x0,y0,x1,y1,x2,y2,…` (at least three points).
    pub fn parse_polygon(s: &str) -> Result<Self, String> {
        let v = numbers(s, "polygon")?;
        if v.len() < 6 || !v.len().is_multiple_of(2) {
            return Err(format!("polygon '{s}' needs at least three X,Y points"));
        }
        Ok(Self::Polygon {
            points: v.chunks_exact(2).map(|p| (p[0], p[1])).collect(),
        })
    }

    /// `x,y`.
    pub fn parse_probe(s: &str) -> Result<Self, String> {
        let parts: Vec<usize> = s
            .split(',')
            .map(|t| t.trim().parse())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("probe '{s}' must be X,Y pixel numbers"))?;
        match parts[..] {
            [x, y] => Ok(Self::Probe { x, y }),
            _ => Err(format!("probe '{s}' must be X,Y")),
        }
    }

    /// A short name for CSV headers.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Rect { .. } => "rect",
            Self::Ellipse { .. } => "ellipse",
            Self::Polygon { .. } => "polygon",
            Self::Probe { .. } => "probe",
        }
    }

    /// Whether the point `(px, py)` (a pixel centre) is inside.
    pub fn contains(&self, px: f32, py: f32) -> bool {
        match self {
            Self::Rect {
                x,
                y,
                width,
                height,
            } => px >= *x && px < x + width && py >= *y && py < y + height,
            Self::Ellipse { cx, cy, rx, ry } => {
                let (dx, dy) = ((px - cx) / rx, (py - cy) / ry);
                dx * dx + dy * dy <= 1.0
            }
            Self::Polygon { points } => {
                let mut inside = false;
                let mut j = points.len() - 1;
                for i in 0..points.len() {
                    let ((xi, yi), (xj, yj)) = (points[i], points[j]);
                    if (yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi {
                        inside = !inside;
                    }
                    j = i;
                }
                inside
            }
            Self::Probe { x, y } => {
                px.floor() as usize == *x && py.floor() as usize == *y && px >= 0.0 && py >= 0.0
            }
        }
    }
}

/// A set of pixels as horizontal spans `(y, x0..x1)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Region {
    spans: Vec<(usize, std::ops::Range<usize>)>,
}

impl Region {
    /// The pixels of a `width × height` image inside `shape`, minus those excluded by `mask`
    /// (false = excluded).
    pub fn new(shape: &Shape, width: usize, height: usize, mask: Option<ArrayView2<bool>>) -> Self {
        let mut spans = Vec::new();
        for y in 0..height {
            let mut start = None;
            for x in 0..=width {
                let inside = x < width
                    && shape.contains(x as f32 + 0.5, y as f32 + 0.5)
                    && mask.is_none_or(|m| m.get((y, x)).copied().unwrap_or(false));
                match (inside, start) {
                    (true, None) => start = Some(x),
                    (false, Some(s)) => {
                        spans.push((y, s..x));
                        start = None;
                    }
                    _ => {}
                }
            }
        }
        Self { spans }
    }

    pub fn pixel_count(&self) -> usize {
        self.spans.iter().map(|(_, r)| r.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The region as a mask image (true inside).
    pub fn to_mask(&self, width: usize, height: usize) -> Array2<bool> {
        let mut m = Array2::from_elem((height, width), false);
        for (y, r) in &self.spans {
            for x in r.clone() {
                m[[*y, x]] = true;
            }
        }
        m
    }

    /// Statistics of one byte frame inside the region, per channel (median from a 256-bin
    /// count: exact and O(pixels)).
    pub fn stats(&self, frame: ArrayView3<u8>, with_median: bool) -> Vec<RoiStats> {
        let c = frame.shape()[2];
        (0..c)
            .map(|k| {
                let (mut sum, mut min, mut max) = (0u64, u8::MAX, u8::MIN);
                let mut hist = [0u32; 256];
                for (y, r) in &self.spans {
                    let row = row_bytes(frame, *y);
                    for &v in row[r.start * c + k..r.end * c].iter().step_by(c) {
                        sum += u64::from(v);
                        min = min.min(v);
                        max = max.max(v);
                        if with_median {
                            hist[usize::from(v)] += 1;
                        }
                    }
                }
                let n = self.pixel_count();
                RoiStats {
                    mean: if n > 0 {
                        sum as f32 / n as f32
                    } else {
                        f32::NAN
                    },
                    min: f32::from(min),
                    max: f32::from(max),
                    median: if with_median && n > 0 {
                        median_of(&hist, n)
                    } else {
                        f32::NAN
                    },
                }
            })
            .collect()
    }

    /// Statistics of one float frame (normalized data) inside the region, per channel; NaN
    /// values are left out.
    pub fn stats_f32(&self, frame: ArrayView3<f32>, with_median: bool) -> Vec<RoiStats> {
        let c = frame.shape()[2];
        (0..c)
            .map(|k| {
                let mut values = Vec::new();
                let (mut sum, mut count) = (0f64, 0usize);
                let (mut min, mut max) = (f32::INFINITY, f32::NEG_INFINITY);
                for (y, r) in &self.spans {
                    for &v in frame.slice(ndarray::s![*y, r.clone(), k]) {
                        if v.is_nan() {
                            continue;
                        }
                        sum += f64::from(v);
                        count += 1;
                        min = min.min(v);
                        max = max.max(v);
                        if with_median {
                            values.push(v);
                        }
                    }
                }
                let median = if with_median && !values.is_empty() {
                    values.sort_by(f32::total_cmp);
                    let m = values.len();
                    (values[(m - 1) / 2] + values[m / 2]) / 2.0
                } else {
                    f32::NAN
                };
                RoiStats {
                    mean: if count > 0 {
                        (sum / count as f64) as f32
                    } else {
                        f32::NAN
                    },
                    min: if count > 0 { min } else { f32::NAN },
                    max: if count > 0 { max } else { f32::NAN },
                    median,
                }
            })
            .collect()
    }
}

fn median_of(hist: &[u32; 256], n: usize) -> f32 {
    let (lo_rank, hi_rank) = ((n - 1) / 2, n / 2);
    let (mut seen, mut lo) = (0usize, None);
    for (v, &c) in hist.iter().enumerate() {
        seen += c as usize;
        if lo.is_none() && seen > lo_rank {
            lo = Some(v);
        }
        if seen > hi_rank {
            return (lo.unwrap_or(v) + v) as f32 / 2.0;
        }
    }
    f32::NAN
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RoiStats {
    pub mean: f32,
    pub min: f32,
    pub max: f32,
    /// NaN unless asked for.
    pub median: f32,
}

/// One region's values over frames.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoiCurve {
    pub shape: Shape,
    pub pixels: usize,
    /// `stats[frame][channel]`.
    pub stats: Vec<Vec<RoiStats>>,
}

/// Curves of several regions over every frame, in one parallel pass over the frames.
pub fn roi_curves(
    stack: ArrayView4<u8>,
    shapes: &[Shape],
    mask: Option<ArrayView2<bool>>,
    with_median: bool,
    job: &Job,
) -> Result<Vec<RoiCurve>, Cancelled> {
    let (h, w) = (stack.shape()[1], stack.shape()[2]);
    let regions: Vec<Region> = shapes.iter().map(|s| Region::new(s, w, h, mask)).collect();
    job.set_total(stack.shape()[0] as u64);
    let per_frame: Vec<Vec<Vec<RoiStats>>> = stack
        .axis_iter(Axis(0))
        .into_par_iter()
        .map(|frame| {
            if job.is_cancelled() {
                return Vec::new();
            }
            job.advance(1);
            regions
                .iter()
                .map(|r| r.stats(frame, with_median))
                .collect()
        })
        .collect();
    job.check()?;
    Ok(assemble(shapes, &regions, &per_frame))
}

/// Per-region curves from per-frame statistics (`per_frame[frame][region][channel]`).
fn assemble(
    shapes: &[Shape],
    regions: &[Region],
    per_frame: &[Vec<Vec<RoiStats>>],
) -> Vec<RoiCurve> {
    shapes
        .iter()
        .zip(regions)
        .enumerate()
        .map(|(i, (shape, region))| RoiCurve {
            shape: shape.clone(),
            pixels: region.pixel_count(),
            stats: per_frame.iter().map(|f| f[i].clone()).collect(),
        })
        .collect()
}

/// Curves of several regions over float frames (for example a normalization's running
/// iterator), in the order the frames come.
pub fn roi_curves_f32(
    frames: impl Iterator<Item = Array3<f32>>,
    size: (usize, usize),
    shapes: &[Shape],
    mask: Option<ArrayView2<bool>>,
    with_median: bool,
    job: &Job,
) -> Result<Vec<RoiCurve>, Cancelled> {
    let (w, h) = size;
    let regions: Vec<Region> = shapes.iter().map(|s| Region::new(s, w, h, mask)).collect();
    let mut per_frame: Vec<Vec<Vec<RoiStats>>> = Vec::new();
    for frame in frames {
        job.check()?;
        per_frame.push(
            regions
                .iter()
                .map(|r| r.stats_f32(frame.view(), with_median))
                .collect(),
        );
        job.advance(1);
    }
    Ok(assemble(shapes, &regions, &per_frame))
}

/// CSV with one row per frame: `frame,time_s,<roi>_<stat>_c<k>…`; `times` gives each frame's
/// time in seconds when the source has a frame rate.
pub fn curves_csv(
    curves: &[RoiCurve],
    frames: &[usize],
    times: Option<&[f64]>,
    with_median: bool,
) -> String {
    let mut out = String::from("frame");
    if times.is_some() {
        out.push_str(",time_s");
    }
    let stats: &[&str] = if with_median {
        &["mean", "median", "min", "max"]
    } else {
        &["mean", "min", "max"]
    };
    for (i, c) in curves.iter().enumerate() {
        let channels = c.stats.first().map_or(0, Vec::len);
        for k in 0..channels {
            for s in stats {
                let _ = write!(out, ",roi{i}_{}_{s}_c{k}", c.shape.kind());
            }
        }
    }
    out.push('\n');
    for (row, frame) in frames.iter().enumerate() {
        let _ = write!(out, "{frame}");
        if let Some(t) = times {
            let _ = write!(out, ",{:.6}", t.get(row).copied().unwrap_or(f64::NAN));
        }
        for c in curves {
            for s in &c.stats[row] {
                let _ = write!(out, ",{}", s.mean);
                if with_median {
                    let _ = write!(out, ",{}", s.median);
                }
                let _ = write!(out, ",{},{}", s.min, s.max);
            }
        }
        out.push('\n');
    }
    out
}

impl FromStr for Shape {
    type Err = String;

    /// `rect:x,y,w,h`, `ellipse:cx,cy,rx,ry`, `polygon:x,y,…`, `probe:x,y`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, rest) = s.split_once(':').ok_or_else(|| {
            format!("shape '{s}' must start with rect:, ellipse:, polygon: or probe:")
        })?;
        match kind {
            "rect" => Self::parse_rect(rest),
            "ellipse" => Self::parse_ellipse(rest),
            "polygon" => Self::parse_polygon(rest),
            "probe" => Self::parse_probe(rest),
            _ => Err(format!("unknown shape '{kind}'")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;

    fn count(shape: Shape, w: usize, h: usize) -> usize {
        Region::new(&shape, w, h, None).pixel_count()
    }

    #[test]
    fn rect_membership_uses_pixel_centres() {
        assert_eq!(
            count(
                Shape::Rect {
                    x: 1.0,
                    y: 1.0,
                    width: 3.0,
                    height: 2.0
                },
                10,
                10
            ),
            6
        );
        // Edges at half pixels include only the centres inside.
        assert_eq!(
            count(
                Shape::Rect {
                    x: 0.6,
                    y: 0.0,
                    width: 1.0,
                    height: 1.0
                },
                10,
                10
            ),
            1
        );
        assert_eq!(
            count(
                Shape::Rect {
                    x: 8.0,
                    y: 8.0,
                    width: 5.0,
                    height: 5.0
                },
                10,
                10
            ),
            4
        );
    }

    #[test]
    fn ellipse_edges() {
        // A circle of radius 1 centred on a pixel centre covers it and its four neighbours.
        let m = Region::new(
            &Shape::Ellipse {
                cx: 2.5,
                cy: 2.5,
                rx: 1.0,
                ry: 1.0,
            },
            5,
            5,
            None,
        )
        .to_mask(5, 5);
        let expected = [(2, 2), (1, 2), (3, 2), (2, 1), (2, 3)];
        assert_eq!(m.iter().filter(|&&b| b).count(), 5);
        for (y, x) in expected {
            assert!(m[[y, x]], "({x}, {y})");
        }
        assert!(!m[[1, 1]]);
    }

    #[test]
    fn polygon_even_odd_and_concave() {
        // An L shape: the notch at the top right is outside.
        let l = Shape::Polygon {
            points: vec![
                (0.0, 0.0),
                (2.0, 0.0),
                (2.0, 2.0),
                (4.0, 2.0),
                (4.0, 4.0),
                (0.0, 4.0),
            ],
        };
        let m = Region::new(&l, 4, 4, None).to_mask(4, 4);
        assert!(m[[0, 0]] && m[[0, 1]] && !m[[0, 2]] && !m[[1, 3]] && m[[3, 3]]);
        assert_eq!(m.iter().filter(|&&b| b).count(), 12);
        let tri = Shape::Polygon {
            points: vec![(0.0, 0.0), (4.0, 0.0), (0.0, 4.0)],
        };
        // Centres (x + ½, y + ½) with a sum below 4, i.e. x + y ≤ 2: six pixels.
        assert_eq!(count(tri, 4, 4), 6);
    }

    #[test]
    fn probe_and_mask() {
        assert_eq!(count(Shape::Probe { x: 3, y: 1 }, 5, 5), 1);
        let mut mask = Array2::from_elem((4, 4), true);
        mask[[1, 1]] = false;
        let r = Region::new(
            &Shape::Rect {
                x: 0.0,
                y: 0.0,
                width: 2.0,
                height: 2.0,
            },
            4,
            4,
            Some(mask.view()),
        );
        assert_eq!(r.pixel_count(), 3);
    }

    #[test]
    fn curves_follow_known_values_per_frame_and_channel() {
        // Frame t: channel k = 10·t + k everywhere, except pixel (0, 0) = 255.
        let mut stack = Array4::from_shape_fn((5, 4, 4, 2), |(t, _, _, k)| (10 * t + k) as u8);
        for t in 0..5 {
            stack[[t, 0, 0, 0]] = 255;
        }
        let shapes = [
            Shape::Rect {
                x: 0.0,
                y: 0.0,
                width: 2.0,
                height: 1.0,
            },
            Shape::Probe { x: 3, y: 3 },
        ];
        let curves = roi_curves(stack.view(), &shapes, None, true, &Job::new()).unwrap();
        assert_eq!(curves[0].pixels, 2);
        for t in 0..5 {
            let s = curves[0].stats[t][0];
            assert_eq!(s.mean, (255.0 + 10.0 * t as f32) / 2.0);
            assert_eq!((s.min, s.max), (10.0 * t as f32, 255.0));
            assert_eq!(s.median, (255.0 + 10.0 * t as f32) / 2.0);
            assert_eq!(curves[1].stats[t][1].mean, 10.0 * t as f32 + 1.0);
        }
        let csv = curves_csv(
            &curves,
            &[0, 1, 2, 3, 4],
            Some(&[0.0, 0.1, 0.2, 0.3, 0.4]),
            false,
        );
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 6);
        assert!(lines[0].starts_with("frame,time_s,roi0_rect_mean_c0,roi0_rect_min_c0"));
        assert!(lines[2].starts_with("1,0.100000,132.5,10,255"));
    }

    #[test]
    fn parsing() {
        assert!(Shape::parse_rect("1,2,3,4").is_ok());
        assert!(Shape::parse_rect("1,2,0,4").is_err());
        assert!(Shape::parse_polygon("0,0,1,0").is_err());
        assert_eq!(Shape::parse_probe("3,4"), Ok(Shape::Probe { x: 3, y: 4 }));
        assert!(Shape::parse_ellipse("1,1,2").is_err());
    }
}
