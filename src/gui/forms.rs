//! What the user typed into the dialogs, kept as text between runs (eframe persistence), and
//! its translation into the core's option types with the same parsers the CLI uses.

use std::ops::Range;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::audio::{
    Palette, SpectrumSettings, Style, VisualSettings, VisualizeSettings, parse_background,
    parse_color,
};
use crate::display::Colormap;
use crate::export::ExportSettings;
use crate::interp::BlendDevice;
use crate::load::{CacheChoice, FrameRange, LoadOptions, Rect, Resize, parse_bytes};
use crate::ops::{NormalizeSettings, ReduceOp, Reference};

/// Everything remembered between runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub recent: Vec<PathBuf>,
    pub last_dir: Option<PathBuf>,
    pub load: LoadForm,
    pub export: ExportForm,
    pub audio: AudioForm,
    pub analyze: super::panels::analyzers::AnalyzeForm,
    pub batch: BatchForm,
    pub colormap: String,
    pub show_colorbar: bool,
    pub playback: PlaybackForm,
}

/// The timeline's playback settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlaybackForm {
    /// Output frames per second (with in-between frames, each counts).
    pub fps: f64,
    pub looping: bool,
    /// Blended frames shown between source frames: the export's interpolation, previewed.
    pub steps: usize,
}

impl Default for PlaybackForm {
    fn default() -> Self {
        Self {
            fps: 25.0,
            looping: true,
            steps: 0,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            recent: Vec::new(),
            last_dir: None,
            load: LoadForm::default(),
            export: ExportForm::default(),
            audio: AudioForm::default(),
            analyze: Default::default(),
            batch: BatchForm::default(),
            colormap: "gray".into(),
            show_colorbar: true,
            playback: PlaybackForm::default(),
        }
    }
}

pub const RECENT_MAX: usize = 10;

impl Settings {
    pub fn remember(&mut self, path: PathBuf) {
        self.recent.retain(|p| p != &path);
        self.last_dir = if path.is_dir() {
            path.parent().map(PathBuf::from).or(Some(path.clone()))
        } else {
            path.parent().map(PathBuf::from)
        };
        self.recent.insert(0, path);
        self.recent.truncate(RECENT_MAX);
    }
}

pub fn colormap_named(name: &str) -> Colormap {
    Colormap::ALL
        .into_iter()
        .find(|c| c.name() == name)
        .unwrap_or_default()
}

fn optional<T>(text: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    let t = text.trim();
    if t.is_empty() {
        Ok(None)
    } else {
        parse(t).map(Some)
    }
}

/// The load dialog's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadForm {
    pub start: String,
    pub end: String,
    pub step: usize,
    pub subset: f64,
    /// `0.5` or `640x480`; empty: none.
    pub resize: String,
    pub grayscale: bool,
    /// `X,Y,W,H`; empty: none.
    pub crop: String,
    /// `2G`, `512M`; empty: 60 % of the available memory.
    pub max_ram: String,
    /// Where frames over the RAM limit go: `auto`, `off` (thin them), or `folder`.
    pub cache: String,
    /// The frame cache folder when `cache` is `folder`.
    pub cache_dir: String,
}

impl Default for LoadForm {
    fn default() -> Self {
        Self {
            start: String::new(),
            end: String::new(),
            step: 1,
            subset: 1.0,
            resize: String::new(),
            grayscale: false,
            crop: String::new(),
            max_ram: String::new(),
            cache: "auto".into(),
            cache_dir: String::new(),
        }
    }
}

impl LoadForm {
    pub fn options(&self) -> Result<LoadOptions, String> {
        let options = LoadOptions {
            range: FrameRange::from_fields(&self.start, &self.end)?,
            step: self.step.max(1),
            subset: self.subset,
            crop: optional(&self.crop, |t| t.parse::<Rect>())?,
            resize: optional(&self.resize, |t| t.parse::<Resize>())?,
            grayscale: self.grayscale,
            max_ram_bytes: optional(&self.max_ram, parse_bytes)?,
            cache: self.cache_choice()?,
            ..LoadOptions::default()
        };
        options.validate()?;
        Ok(options)
    }

    /// The frame cache the form names, with the command line's meaning of `--cache`.
    pub fn cache_choice(&self) -> Result<CacheChoice, String> {
        match self.cache.as_str() {
            "off" => Ok(CacheChoice::Off),
            "folder" if self.cache_dir.trim().is_empty() => {
                Err("choose a folder for the frame cache".into())
            }
            "folder" => Ok(CacheChoice::In(self.cache_dir.trim().into())),
            _ => Ok(CacheChoice::Auto),
        }
    }
}

/// The batch window's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchForm {
    /// The folder of clips.
    pub folder: String,
    /// Only files matching this (`*.mp4`, `**/*.mkv`); empty: every file.
    pub glob: String,
    pub recursive: bool,
    /// The results folder.
    pub out: String,
    /// Clips analysed at once.
    pub jobs: usize,
    /// True: export every clip as MP4 with the Export window's settings; false: analyze.
    pub export: bool,
}

impl Default for BatchForm {
    fn default() -> Self {
        Self {
            folder: String::new(),
            glob: String::new(),
            recursive: false,
            out: String::new(),
            jobs: 1,
            export: false,
        }
    }
}

/// The export dialog's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExportForm {
    pub output: String,
    pub steps: usize,
    pub intensity: f64,
    /// Empty: the source's frame rate.
    pub fps: String,
    pub crf: u8,
    pub preset: String,
    pub start: String,
    pub end: String,
    pub overwrite: bool,
    /// Levels, colormap, normalization and mask as on screen; else the raw frames.
    pub as_displayed: bool,
    pub device: String,
}

impl Default for ExportForm {
    fn default() -> Self {
        Self {
            output: String::new(),
            steps: 0,
            intensity: 1.0,
            fps: String::new(),
            crf: 23,
            preset: "veryfast".into(),
            start: String::new(),
            end: String::new(),
            overwrite: false,
            as_displayed: true,
            device: "auto".into(),
        }
    }
}

impl ExportForm {
    pub fn device(&self) -> BlendDevice {
        match self.device.as_str() {
            "gpu" => BlendDevice::Gpu,
            "cpu" => BlendDevice::Cpu,
            _ => BlendDevice::Auto,
        }
    }

    pub fn settings(&self) -> Result<ExportSettings, String> {
        let fps = optional(&self.fps, |t| {
            t.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && *f > 0.0)
                .ok_or_else(|| format!("fps '{t}' must be a number above 0"))
        })?;
        Ok(ExportSettings {
            steps: self.steps,
            intensity: self.intensity,
            fps,
            crf: self.crf,
            preset: self.preset.clone(),
            audio: None,
            overwrite: self.overwrite,
            blend_device: self.device(),
        })
    }

    /// The frames to export, within `frames`.
    pub fn range(&self, frames: usize) -> Result<Range<usize>, String> {
        FrameRange::from_fields(&self.start, &self.end)?.within(frames)
    }
}

/// The "Audio → video" dialog's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AudioForm {
    pub audio: String,
    pub output: String,
    pub style: Style,
    pub width: usize,
    pub height: usize,
    pub fps: f64,
    /// Empty: the style's default.
    pub bands: String,
    pub min_hz: f64,
    pub max_hz: f64,
    /// Empty: the style's default colormap.
    pub colormap: String,
    /// One colour for everything instead of the colormap.
    pub solid: bool,
    pub color: String,
    pub background: String,
    pub history_secs: f64,
    pub crf: u8,
    pub preset: String,
    pub overwrite: bool,
}

impl Default for AudioForm {
    fn default() -> Self {
        Self {
            audio: String::new(),
            output: String::new(),
            style: Style::Bars,
            width: 1280,
            height: 720,
            fps: 24.0,
            bands: String::new(),
            min_hz: 40.0,
            max_hz: 16_000.0,
            colormap: String::new(),
            solid: false,
            color: "#ffffff".into(),
            background: "#0a0a10".into(),
            history_secs: 10.0,
            crf: 23,
            preset: "veryfast".into(),
            overwrite: false,
        }
    }
}

impl AudioForm {
    pub fn colormap(&self) -> Colormap {
        Colormap::ALL
            .into_iter()
            .find(|c| c.name() == self.colormap)
            .unwrap_or(self.style.default_colormap())
    }

    /// The settings `stackscope visualize` would get from the same choices.
    pub fn settings(&self) -> Result<VisualizeSettings, String> {
        let bands = optional(&self.bands, |t| {
            t.parse::<usize>()
                .map_err(|_| format!("bands '{t}' must be a whole number"))
        })?
        .unwrap_or(self.style.default_bands());
        let palette = if self.solid {
            Palette::Solid(parse_color(&self.color).map_err(|e| e.to_string())?)
        } else {
            Palette::Map(self.colormap())
        };
        let defaults = SpectrumSettings::default();
        Ok(VisualizeSettings {
            visual: VisualSettings {
                style: self.style,
                width: self.width,
                height: self.height,
                palette,
                background: parse_background(&self.background).map_err(|e| e.to_string())?,
                history_secs: self.history_secs,
            },
            spectrum: SpectrumSettings {
                fps: self.fps,
                bands,
                min_hz: self.min_hz,
                max_hz: self.max_hz,
                ..defaults
            },
            crf: self.crf,
            preset: self.preset.clone(),
            overwrite: self.overwrite,
        })
    }
}

/// The normalization fields of the ops panel.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizeForm {
    pub enabled: bool,
    pub subtract: bool,
    pub divide: bool,
    pub amount_percent: f32,
    pub blur: f32,
    /// 0: aggregate of a range, 1: sliding window, 2: an image file.
    pub reference: usize,
    pub op: ReduceOp,
    pub start: String,
    pub end: String,
    pub window: usize,
    pub lag: usize,
    pub file: String,
}

impl Default for NormalizeForm {
    fn default() -> Self {
        Self {
            enabled: false,
            subtract: true,
            divide: false,
            amount_percent: 100.0,
            blur: 0.0,
            reference: 0,
            op: ReduceOp::Mean,
            start: String::new(),
            end: String::new(),
            window: 10,
            lag: 0,
            file: String::new(),
        }
    }
}

impl NormalizeForm {
    /// The settings for a stack of `frames` frames, with `image` the reference read from
    /// `file` by the caller when that reference is chosen.
    pub fn settings(
        &self,
        frames: usize,
        image: Option<ndarray::Array3<f32>>,
    ) -> Result<NormalizeSettings, String> {
        let reference = match self.reference {
            1 => Reference::SlidingWindow {
                window: self.window,
                lag: self.lag,
            },
            2 => Reference::Image(image.ok_or("choose a reference image file")?),
            _ => {
                let range = if self.start.trim().is_empty() && self.end.trim().is_empty() {
                    None
                } else {
                    Some(FrameRange::from_fields(&self.start, &self.end)?.within(frames)?)
                };
                Reference::Aggregate { op: self.op, range }
            }
        };
        Ok(NormalizeSettings {
            subtract: self.subtract,
            divide: self.divide,
            amount: self.amount_percent / 100.0,
            blur_sigma: self.blur,
            reference,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_form_parses_like_the_cli() {
        let form = LoadForm {
            start: "2".into(),
            end: "10".into(),
            resize: "0.5".into(),
            crop: "1,2,30,40".into(),
            max_ram: "1G".into(),
            ..LoadForm::default()
        };
        let o = form.options().unwrap();
        assert_eq!(
            o.range,
            FrameRange {
                start: 2,
                end: Some(10)
            }
        );
        assert_eq!(o.resize, Some(Resize::Factor(0.5)));
        assert_eq!(o.crop.map(|c| c.width), Some(30));
        assert_eq!(o.max_ram_bytes, Some(1 << 30));
        assert_eq!(o.cache, CacheChoice::Auto);
        let cached = |cache: &str, dir: &str| LoadForm {
            cache: cache.into(),
            cache_dir: dir.into(),
            ..LoadForm::default()
        };
        assert_eq!(cached("off", "").options().unwrap().cache, CacheChoice::Off);
        assert_eq!(
            cached("folder", " /data/cache ").options().unwrap().cache,
            "/data/cache".parse().unwrap()
        );
        assert!(cached("folder", "").options().is_err());
        let bad = LoadForm {
            crop: "1,2".into(),
            ..LoadForm::default()
        };
        assert!(bad.options().is_err());
    }

    #[test]
    fn export_range_is_clamped_and_checked() {
        let form = ExportForm {
            end: "500".into(),
            ..ExportForm::default()
        };
        assert_eq!(form.range(40).unwrap(), 0..40);
        let empty = ExportForm {
            start: "40".into(),
            ..ExportForm::default()
        };
        assert!(empty.range(40).is_err());
    }

    #[test]
    fn recent_files_stay_unique_and_short() {
        let mut s = Settings::default();
        for i in 0..15 {
            s.remember(PathBuf::from(format!("/tmp/{i}.npy")));
        }
        s.remember(PathBuf::from("/tmp/3.npy"));
        assert_eq!(s.recent.len(), RECENT_MAX);
        assert_eq!(s.recent[0], PathBuf::from("/tmp/3.npy"));
        assert_eq!(s.recent.iter().filter(|p| p.ends_with("3.npy")).count(), 1);
    }
}
