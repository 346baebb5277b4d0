//! What the user asks of a load: which frames, what geometry, how much RAM.

use std::str::FromStr;

use serde::Serialize;

/// A half-open range of source frame indices; `end: None` means "to the last frame".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct FrameRange {
    pub start: usize,
    pub end: Option<usize>,
}

impl FromStr for FrameRange {
    type Err = String;

    /// `A:B`, `A:`, `:B` (B exclusive, as in Python slices).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s
            .split_once(':')
            .ok_or_else(|| format!("range '{s}' must look like START:END, START: or :END"))?;
        let parse = |t: &str| -> Result<Option<usize>, String> {
            let t = t.trim();
            if t.is_empty() {
                Ok(None)
            } else {
                t.parse()
                    .map(Some)
                    .map_err(|_| format!("'{t}' in range '{s}' is not a frame number"))
            }
        };
        let start = parse(a)?.unwrap_or(0);
        let end = parse(b)?;
        if end.is_some_and(|e| e <= start) {
            return Err(format!(
                "range '{s}' is empty: END must be greater than START"
            ));
        }
        Ok(Self { start, end })
    }
}

impl FrameRange {
    /// From the window's two fields, "START to END" (empty: the first / the last frame; END
    /// exclusive): the same rules as `START:END` on the command line.
    pub fn from_fields(start: &str, end: &str) -> Result<Self, String> {
        Self::from_str(&format!("{}:{}", start.trim(), end.trim()))
    }

    /// The frames this range selects in a stack of `frames` (END clamped to the stack);
    /// an error when none are left.
    pub fn within(&self, frames: usize) -> Result<std::ops::Range<usize>, String> {
        let end = self.end.unwrap_or(frames).min(frames);
        if self.start >= end {
            return Err(format!(
                "frames {}..{end} hold no frames of the {frames} loaded",
                self.start
            ));
        }
        Ok(self.start..end)
    }
}

pub use crate::stack::Rect;

/// How to resize frames (after cropping).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resize {
    /// Multiply both sides by this factor (> 0).
    Factor(f64),
    /// Exact output size in pixels.
    Size { width: usize, height: usize },
}

impl FromStr for Resize {
    type Err = String;

    /// `0.5` (factor) or `640x480` (size).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some((w, h)) = s.split_once(['x', 'X']) {
            let (width, height) = (w.trim().parse::<usize>(), h.trim().parse::<usize>());
            match (width, height) {
                (Ok(width), Ok(height)) if width > 0 && height > 0 => {
                    Ok(Self::Size { width, height })
                }
                _ => Err(format!("size '{s}' must be WIDTHxHEIGHT with both above 0")),
            }
        } else {
            match s.trim().parse::<f64>() {
                Ok(f) if f > 0.0 && f.is_finite() => Ok(Self::Factor(f)),
                _ => Err(format!(
                    "resize '{s}' must be a factor above 0 or WIDTHxHEIGHT"
                )),
            }
        }
    }
}

/// How values of a wider type (u16, f32, …) become bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// The stack's global minimum becomes 0 and its maximum 255 (Fiji's default for 16-bit).
    #[default]
    MinMax,
    /// The type's full range maps onto 0..=255 (u16: x/257; i16: shifted; floats: 0..1).
    FullRange,
}

/// Whether a stack larger than the RAM limit goes to the frame cache on disk.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CacheChoice {
    /// The cache in the default folder ([`super::cache::default_dir`]).
    #[default]
    Auto,
    /// No cache: the memory guard thins the selection to fit.
    Off,
    /// The cache in this folder.
    In(std::path::PathBuf),
}

impl CacheChoice {
    /// The cache folder, unless the cache is off.
    pub fn dir(&self) -> Option<std::path::PathBuf> {
        match self {
            Self::Auto => Some(super::cache::default_dir()),
            Self::Off => None,
            Self::In(dir) => Some(dir.clone()),
        }
    }
}

impl FromStr for CacheChoice {
    type Err = String;

    /// `auto`, `off`, or a folder.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" => Err("give auto, off or a folder for the frame cache".into()),
            "auto" => Ok(Self::Auto),
            "off" => Ok(Self::Off),
            dir => Ok(Self::In(dir.into())),
        }
    }
}

impl std::fmt::Display for CacheChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Off => f.write_str("off"),
            Self::In(dir) => write!(f, "{}", dir.display()),
        }
    }
}

impl Serialize for CacheChoice {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Everything a loader is told. `Default` loads every frame as it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadOptions {
    pub range: FrameRange,
    /// Keep every `step`-th frame of the range (≥ 1).
    pub step: usize,
    /// Fraction of frames to keep (0 < ratio ≤ 1), taken as an extra step of round(1/ratio).
    pub subset: f64,
    pub crop: Option<Rect>,
    pub resize: Option<Resize>,
    pub grayscale: bool,
    /// Resize frames whose size differs from the first frame's instead of failing.
    pub resize_to_first: bool,
    /// RAM the loaded matrix may take; `None`: 60 % of the memory available at load time.
    pub max_ram_bytes: Option<u64>,
    pub scaling: Scaling,
    /// Where a selection larger than the RAM limit goes instead of being thinned.
    pub cache: CacheChoice,
    /// Most bytes the frame cache may hold; `None`: half of the disk's free space (plus what
    /// the cache already holds).
    pub cache_limit_bytes: Option<u64>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            range: FrameRange::default(),
            step: 1,
            subset: 1.0,
            crop: None,
            resize: None,
            grayscale: false,
            resize_to_first: false,
            max_ram_bytes: None,
            scaling: Scaling::default(),
            cache: CacheChoice::default(),
            cache_limit_bytes: None,
        }
    }
}

impl LoadOptions {
    /// The step the user asked for: `step × round(1/subset)`.
    pub fn requested_step(&self) -> usize {
        let subset = if self.subset > 0.0 && self.subset <= 1.0 {
            (1.0 / self.subset).round() as usize
        } else {
            1
        };
        self.step.max(1) * subset.max(1)
    }

    /// True when frames need more than a copy (crop, resize or a channel change) on the way in.
    pub fn reshapes(&self) -> bool {
        self.crop.is_some() || self.resize.is_some() || self.grayscale
    }

    /// Source indices to load out of `found` frames, with an extra step (from the memory
    /// guard). Lazy: `found` may come from a file header and is never allocated for.
    pub fn select(&self, found: usize, extra_step: usize) -> Selection {
        let end = self.range.end.map_or(found, |e| e.min(found));
        let step = self
            .requested_step()
            .saturating_mul(extra_step.max(1))
            .max(1);
        let len = if end > self.range.start {
            (end - self.range.start - 1) / step + 1
        } else {
            0
        };
        Selection {
            start: self.range.start,
            step,
            len,
        }
    }

    /// Whether source frame `index` is kept when the frame count is not known in advance.
    pub fn keeps(&self, index: usize, extra_step: usize) -> bool {
        let step = self.requested_step() * extra_step.max(1);
        index >= self.range.start
            && self.range.end.is_none_or(|e| index < e)
            && (index - self.range.start).is_multiple_of(step)
    }

    /// Checks values a caller could have set out of range.
    pub fn validate(&self) -> Result<(), String> {
        if self.step == 0 {
            return Err("step must be at least 1".into());
        }
        if !(self.subset > 0.0 && self.subset <= 1.0) {
            return Err(format!("subset ratio {} must be in (0, 1]", self.subset));
        }
        if self.max_ram_bytes == Some(0) {
            return Err("the RAM limit must be above 0".into());
        }
        if self.cache_limit_bytes == Some(0) {
            return Err("the frame cache limit must be above 0".into());
        }
        Ok(())
    }
}

/// Source frames `start, start + step, …` (`len` of them): a selection as arithmetic, so
/// that a frame count read from a header costs nothing until frames are really loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub start: usize,
    pub step: usize,
    pub len: usize,
}

impl Selection {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The source index of selected frame `i` (`None` past the end).
    pub fn get(&self, i: usize) -> Option<usize> {
        (i < self.len)
            .then(|| self.step.checked_mul(i)?.checked_add(self.start))
            .flatten()
    }

    pub fn first(&self) -> Option<usize> {
        self.get(0)
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).filter_map(|i| self.get(i))
    }

    /// The indices as a list; only for selections already bounded by the memory guard.
    pub fn to_vec(&self) -> Vec<usize> {
        self.iter().collect()
    }

    pub fn source_frames(&self) -> crate::stack::SourceFrames {
        crate::stack::SourceFrames::every(self.start, self.step, self.len)
    }
}

/// Parses `512M`, `2G`, `1.5GiB`, `100000` (bytes) into bytes.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size like 512M or 2G"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0_f64.powi(4),
        _ => return Err(format!("'{s}' has an unknown unit (use K, M, G or T)")),
    };
    let bytes = value * mult;
    if bytes < 1.0 {
        return Err(format!("size '{s}' must be at least 1 byte"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_parsing() {
        assert_eq!(
            "3:10".parse::<FrameRange>(),
            Ok(FrameRange {
                start: 3,
                end: Some(10)
            })
        );
        assert_eq!("5:".parse::<FrameRange>().map(|r| r.end), Ok(None));
        assert_eq!(":4".parse::<FrameRange>().map(|r| r.start), Ok(0));
        assert!("4:4".parse::<FrameRange>().is_err());
        assert!("a:4".parse::<FrameRange>().is_err());
        assert!("7".parse::<FrameRange>().is_err());
    }

    #[test]
    fn crop_and_resize_parsing() {
        assert_eq!(
            "1,2,30,40".parse::<Rect>(),
            Ok(Rect {
                x: 1,
                y: 2,
                width: 30,
                height: 40
            })
        );
        assert!("1,2,0,4".parse::<Rect>().is_err());
        assert!("1,2,3".parse::<Rect>().is_err());
        assert_eq!("0.5".parse::<Resize>(), Ok(Resize::Factor(0.5)));
        assert_eq!(
            "64x48".parse::<Resize>(),
            Ok(Resize::Size {
                width: 64,
                height: 48
            })
        );
        assert!("0".parse::<Resize>().is_err());
        assert!("64x0".parse::<Resize>().is_err());
    }

    #[test]
    fn selection_combines_range_step_subset_and_guard() {
        let o = LoadOptions {
            range: FrameRange {
                start: 2,
                end: Some(20),
            },
            step: 2,
            subset: 0.5,
            ..Default::default()
        };
        assert_eq!(o.requested_step(), 4);
        assert_eq!(o.select(100, 1).to_vec(), vec![2, 6, 10, 14, 18]);
        assert_eq!(o.select(100, 2).to_vec(), vec![2, 10, 18]);
        assert_eq!(o.select(7, 1).to_vec(), vec![2, 6]);
        assert_eq!(o.select(2, 1).len(), 0);
        assert!(o.keeps(6, 1) && !o.keeps(4, 1) && !o.keeps(22, 1) && !o.keeps(0, 1));
        let all = LoadOptions::default();
        assert_eq!(all.select(3, 1).to_vec(), vec![0, 1, 2]);
        // A header's count is arithmetic, not an allocation.
        let huge = all.select(usize::MAX, 1);
        assert_eq!(huge.len(), usize::MAX);
        assert_eq!(huge.get(usize::MAX - 1), Some(usize::MAX - 1));
        assert_eq!(huge.get(usize::MAX), None);
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("512M"), Ok(512 << 20));
        assert_eq!(parse_bytes("2G"), Ok(2 << 30));
        assert_eq!(parse_bytes("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert!(parse_bytes("12Q").is_err());
        assert!(parse_bytes("M").is_err());
    }

    #[test]
    fn frame_fields_follow_the_command_line_rules() {
        let r = |a: &str, b: &str| FrameRange::from_fields(a, b);
        assert_eq!(r("", "").unwrap().within(40).unwrap(), 0..40);
        assert_eq!(r(" 5", "").unwrap().within(40).unwrap(), 5..40);
        assert_eq!(r("", "500").unwrap().within(40).unwrap(), 0..40);
        assert_eq!(r("3", "7").unwrap(), "3:7".parse().unwrap());
        assert!(r("7", "3").is_err());
        assert!(r("x", "").unwrap_err().contains("'x'"));
        assert!(r("40", "").unwrap().within(40).is_err());
    }
}
