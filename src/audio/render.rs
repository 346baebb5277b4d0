//! Visualizers: one video frame from a [`Spectrum`], drawn anti-aliased with tiny-skia into a
//! caller-owned pixmap (reused frame to frame), on a background prepared once.

use std::path::PathBuf;

use serde::Serialize;
use tiny_skia::{Color, FillRule, Paint, PathBuilder, Pixmap, Rect, Stroke, Transform};

use super::error::AudioError;
use super::spectrum::Spectrum;
use crate::display::Colormap;
use crate::interp::yuv::{chroma_from_rgb, luma_from_rgb};
use crate::interp::{Region, Yuv420};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// Vertical bars, low frequencies on the left.
    #[default]
    Bars,
    /// Bars pointing outwards around a circle, low frequencies at the top.
    Circular,
    /// A scrolling time × frequency image, now on the right edge.
    Spectrogram,
    /// The signal's min/max envelope around the frame's time.
    Waveform,
}

impl Style {
    pub const ALL: [Style; 4] = [
        Self::Bars,
        Self::Circular,
        Self::Spectrogram,
        Self::Waveform,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Bars => "bars",
            Self::Circular => "circular",
            Self::Spectrogram => "spectrogram",
            Self::Waveform => "waveform",
        }
    }

    /// Bands that suit the style when the user gives none.
    pub fn default_bands(self) -> usize {
        match self {
            Style::Bars | Style::Circular | Style::Waveform => 64,
            Style::Spectrogram => 256,
        }
    }

    /// The colormap that suits the style when the user gives none: the spectrogram's
    /// quiet level must be dark.
    pub fn default_colormap(self) -> Colormap {
        match self {
            Style::Spectrogram => Colormap::Magma,
            _ => Colormap::Plasma,
        }
    }
}

/// How shapes are coloured: one colour, or a colormap across bands (for the spectrogram:
/// across levels).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Palette {
    Solid([u8; 3]),
    Map(Colormap),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Background {
    Color([u8; 3]),
    /// Scaled to cover the frame, centred.
    Image(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VisualSettings {
    pub style: Style,
    pub width: usize,
    pub height: usize,
    pub palette: Palette,
    pub background: Background,
    /// Seconds of history across the spectrogram's width.
    #[serde(rename = "history_s")]
    pub history_secs: f64,
}

impl Default for VisualSettings {
    fn default() -> Self {
        Self {
            style: Style::Bars,
            width: 1280,
            height: 720,
            palette: Palette::Map(Colormap::Plasma),
            background: Background::Color([10, 10, 16]),
            history_secs: 10.0,
        }
    }
}

/// `#rrggbb`, `rrggbb`, `#rgb` or one of a few names.
pub fn parse_color(text: &str) -> Result<[u8; 3], AudioError> {
    let t = text.trim().to_ascii_lowercase();
    let named = match t.as_str() {
        "black" => Some([0, 0, 0]),
        "white" => Some([255, 255, 255]),
        "red" => Some([230, 40, 40]),
        "green" => Some([40, 200, 80]),
        "blue" => Some([50, 110, 240]),
        "orange" => Some([255, 150, 30]),
        "cyan" => Some([40, 220, 230]),
        "magenta" => Some([230, 50, 200]),
        "yellow" => Some([250, 220, 40]),
        _ => None,
    };
    if let Some(c) = named {
        return Ok(c);
    }
    let hex = t.strip_prefix('#').unwrap_or(&t);
    let digit = |i: usize, len: usize| u8::from_str_radix(&hex[i..i + len], 16).ok();
    let parsed = match hex.len() {
        6 if hex.is_ascii() => (|| Some([digit(0, 2)?, digit(2, 2)?, digit(4, 2)?]))(),
        3 if hex.is_ascii() => {
            (|| Some([digit(0, 1)? * 17, digit(1, 1)? * 17, digit(2, 1)? * 17]))()
        }
        _ => None,
    };
    parsed.ok_or_else(|| {
        AudioError::Settings(format!(
            "colour '{text}': give #rrggbb, #rgb or a name (black, white, red, green, blue, \
             orange, cyan, magenta, yellow)"
        ))
    })
}

/// A colour if `text` parses as one, else an image path that must exist.
pub fn parse_background(text: &str) -> Result<Background, AudioError> {
    match parse_color(text) {
        Ok(c) => Ok(Background::Color(c)),
        Err(e) if !std::path::Path::new(text).exists() => Err(AudioError::Settings(format!(
            "background '{text}' is neither a colour nor an existing image file ({e})"
        ))),
        Err(_) => Ok(Background::Image(PathBuf::from(text))),
    }
}

/// Draws frames of one style at one size; holds what does not change between frames (the
/// background with the style's fixed decorations, as RGBA and as YUV).
pub struct Renderer {
    settings: VisualSettings,
    background: Pixmap,
    background_yuv: Yuv420,
    /// 256 colours for positions 0..1 (bands, waveform columns).
    ramp: Vec<Color>,
    /// 256 levels for the spectrogram, and their Y and (U, V) for writing it as YUV.
    levels: [[u8; 4]; 256],
    level_luma: [u8; 256],
    level_chroma: [(u8, u8); 256],
}

/// A pixmap being drawn into, and the regions where it differs from the background. Only
/// those are restored before the next frame and converted for the encoder: most of a bars
/// frame is background.
pub struct Canvas {
    pixmap: Pixmap,
    dirty: Vec<Region>,
}

impl Canvas {
    /// Opaque RGBA bytes.
    pub fn rgba(&self) -> &[u8] {
        self.pixmap.data()
    }

    pub fn into_rgba(self) -> Vec<u8> {
        self.pixmap.take()
    }

    pub fn dirty(&self) -> &[Region] {
        &self.dirty
    }

    fn mark(&mut self, x0: f32, y0: f32, x1: f32, y1: f32) {
        let (w, h) = (self.pixmap.width() as usize, self.pixmap.height() as usize);
        if let Some(r) = Region::covering(x0, y0, x1, y1, w, h) {
            self.dirty.push(r);
        }
    }
}

/// A grid of 16×16 tiles marking where something was drawn, read back as runs of tiles.
struct Tiles {
    width: usize,
    height: usize,
    columns: usize,
    set: Vec<bool>,
}

const TILE: usize = 16;

impl Tiles {
    fn new(width: usize, height: usize) -> Self {
        let columns = width.div_ceil(TILE);
        Self {
            width,
            height,
            columns,
            set: vec![false; columns * height.div_ceil(TILE)],
        }
    }

    fn mark(&mut self, x0: f32, y0: f32, x1: f32, y1: f32) {
        let Some(r) = Region::covering(x0, y0, x1, y1, self.width, self.height) else {
            return;
        };
        for ty in r.y0 / TILE..r.y1.div_ceil(TILE) {
            for tx in r.x0 / TILE..r.x1.div_ceil(TILE) {
                self.set[ty * self.columns + tx] = true;
            }
        }
    }

    /// One region per horizontal run of marked tiles.
    fn regions(&self, out: &mut Vec<Region>) {
        for (ty, row) in self.set.chunks_exact(self.columns).enumerate() {
            let mut tx = 0;
            while tx < self.columns {
                if !row[tx] {
                    tx += 1;
                    continue;
                }
                let start = tx;
                while tx < self.columns && row[tx] {
                    tx += 1;
                }
                out.push(Region {
                    x0: start * TILE,
                    y0: ty * TILE,
                    x1: (tx * TILE).min(self.width),
                    y1: ((ty + 1) * TILE).min(self.height),
                });
            }
        }
    }
}

/// A frame for the encoder, remembering which regions differ from the background.
pub struct YuvFrame {
    pub yuv: Yuv420,
    dirty: Vec<Region>,
}

fn opaque(c: [u8; 3]) -> Color {
    Color::from_rgba8(c[0], c[1], c[2], 255)
}

fn solid(color: Color) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color(color);
    paint.anti_alias = true;
    paint
}

impl Renderer {
    /// Checks the size and prepares the background (loading an image if asked).
    pub fn new(settings: &VisualSettings) -> Result<Self, AudioError> {
        let (w, h) = (settings.width, settings.height);
        if !(16..=7680).contains(&w) || !(16..=4320).contains(&h) || w % 2 == 1 || h % 2 == 1 {
            return Err(AudioError::Settings(format!(
                "size {w}×{h}: give even sides from 16×16 to 7680×4320"
            )));
        }
        if !(settings.history_secs > 0.0 && settings.history_secs <= 3600.0) {
            return Err(AudioError::Settings(format!(
                "spectrogram history {} s must be in (0, 3600]",
                settings.history_secs
            )));
        }
        let ramp = (0..256)
            .map(|i| match settings.palette {
                Palette::Solid(c) => opaque(c),
                // The dark ends of most maps vanish on a dark background.
                Palette::Map(map) => opaque(map.color(0.2 + 0.8 * f64::from(i) / 255.0)),
            })
            .collect();
        let back = match &settings.background {
            Background::Color(c) => *c,
            Background::Image(_) => [0, 0, 0],
        };
        let mut levels = [[0u8; 4]; 256];
        for (i, level) in levels.iter_mut().enumerate() {
            let t = i as f64 / 255.0;
            let c = match settings.palette {
                Palette::Map(map) => map.color(t),
                Palette::Solid(c) => {
                    let mix = |a: u8, b: u8| {
                        (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8
                    };
                    [mix(back[0], c[0]), mix(back[1], c[1]), mix(back[2], c[2])]
                }
            };
            *level = [c[0], c[1], c[2], 255];
        }
        let level_luma = levels.map(|c| luma_from_rgb(c[0], c[1], c[2]));
        let level_chroma =
            levels.map(|c| chroma_from_rgb(i32::from(c[0]), i32::from(c[1]), i32::from(c[2])));
        let mut renderer = Self {
            settings: settings.clone(),
            background: background_pixmap(&settings.background, w as u32, h as u32)?,
            background_yuv: Yuv420::new(w, h),
            ramp,
            levels,
            level_luma,
            level_chroma,
        };
        renderer.decorate();
        let mut yuv = Yuv420::new(w, h);
        yuv.fill_from_rgba(renderer.background.data());
        renderer.background_yuv = yuv;
        Ok(renderer)
    }

    /// Draws what every frame of the style shows into the background, once.
    fn decorate(&mut self) {
        if self.settings.style != Style::Circular {
            return;
        }
        let (cx, cy, inner, _) = self.circle();
        if let Some(ring) = PathBuilder::from_circle(cx, cy, inner - 3.0) {
            let stroke = Stroke {
                width: 2.0,
                ..Stroke::default()
            };
            let paint = solid(self.color_at(0.5));
            self.background
                .stroke_path(&ring, &paint, &stroke, Transform::identity(), None);
        }
    }

    pub fn settings(&self) -> &VisualSettings {
        &self.settings
    }

    /// A canvas showing the background, for [`Renderer::render`].
    pub fn new_canvas(&self) -> Canvas {
        Canvas {
            pixmap: self.background.clone(),
            dirty: Vec::new(),
        }
    }

    /// A YUV frame showing the background, for [`Renderer::convert`].
    pub fn new_yuv_frame(&self) -> YuvFrame {
        YuvFrame {
            yuv: self.background_yuv.clone(),
            dirty: Vec::new(),
        }
    }

    fn color_at(&self, t: f32) -> Color {
        self.ramp[(t.clamp(0.0, 1.0) * 255.0).round() as usize]
    }

    /// Draws video frame `frame` into `canvas` (from [`Renderer::new_canvas`]). Every pixel
    /// is opaque afterwards, so the premultiplied bytes are plain RGBA.
    pub fn render(&self, spectrum: &Spectrum, frame: usize, canvas: &mut Canvas) {
        if self.settings.style == Style::Spectrogram {
            // Every pixel is drawn: nothing to restore.
            canvas.dirty.clear();
            self.spectrogram(spectrum, frame, &mut canvas.pixmap);
            canvas
                .dirty
                .push(Region::full(self.settings.width, self.settings.height));
            return;
        }
        let w = self.settings.width;
        let (background, pixmap) = (self.background.data(), canvas.pixmap.data_mut());
        for r in canvas.dirty.drain(..) {
            for y in r.y0..r.y1 {
                let row = 4 * (y * w);
                pixmap[row + 4 * r.x0..row + 4 * r.x1]
                    .copy_from_slice(&background[row + 4 * r.x0..row + 4 * r.x1]);
            }
        }
        match self.settings.style {
            Style::Bars => self.bars(spectrum.frame(frame), canvas),
            Style::Circular => self.circular(spectrum.frame(frame), canvas),
            Style::Waveform => self.waveform(spectrum, frame, canvas),
            Style::Spectrogram => {}
        }
    }

    /// Brings `out` up to date with `canvas`: its old regions back to the background, the
    /// canvas's regions converted.
    pub fn convert(&self, canvas: &Canvas, out: &mut YuvFrame) {
        for r in out.dirty.drain(..) {
            out.yuv.copy_region_from(&self.background_yuv, r);
        }
        for &r in &canvas.dirty {
            out.yuv.fill_region_from_rgba(canvas.rgba(), r);
        }
        out.dirty.extend_from_slice(&canvas.dirty);
    }

    /// The frame as RGBA bytes (for previews and tests).
    pub fn render_rgba(&self, spectrum: &Spectrum, frame: usize) -> Vec<u8> {
        let mut canvas = self.new_canvas();
        self.render(spectrum, frame, &mut canvas);
        canvas.into_rgba()
    }

    /// Where bar `band` of `bands` sits: left edge and width in pixels.
    pub fn bar_span(&self, band: usize, bands: usize) -> (f32, f32) {
        let w = self.settings.width as f32;
        let margin = w * 0.04;
        let slot = (w - 2.0 * margin) / bands as f32;
        (margin + slot * band as f32 + slot * 0.125, slot * 0.75)
    }

    fn band_t(band: usize, bands: usize) -> f32 {
        band as f32 / (bands.max(2) - 1) as f32
    }

    /// Bars on whole-pixel columns: only the top edge is fractional, so only that one-pixel
    /// strip goes through the anti-aliasing pipeline and the body is a plain opaque fill.
    fn bars(&self, values: &[f32], canvas: &mut Canvas) {
        let h = self.settings.height as f32;
        let base = (h * 0.9).round();
        let full = h * 0.8;
        for (band, &v) in values.iter().enumerate() {
            let (x, width) = self.bar_span(band, values.len());
            let (x0, x1) = (x.round(), (x + width).round().max(x.round() + 1.0));
            let top = base - (v * full).max(1.0);
            let body_top = top.ceil();
            let mut paint = solid(self.color_at(Self::band_t(band, values.len())));
            if body_top > top
                && let Some(strip) = Rect::from_ltrb(x0, top, x1, body_top)
            {
                canvas
                    .pixmap
                    .fill_rect(strip, &paint, Transform::identity(), None);
            }
            paint.anti_alias = false;
            if let Some(body) = Rect::from_ltrb(x0, body_top, x1, base) {
                canvas
                    .pixmap
                    .fill_rect(body, &paint, Transform::identity(), None);
            }
            canvas.mark(x0, top, x1, base);
        }
    }

    /// Centre x, centre y, inner radius and full bar length of the circular style.
    fn circle(&self) -> (f32, f32, f32, f32) {
        let (w, h) = (self.settings.width as f32, self.settings.height as f32);
        let side = w.min(h);
        (w / 2.0, h / 2.0, side * 0.2, side * 0.26)
    }

    fn circular(&self, values: &[f32], canvas: &mut Canvas) {
        let (cx, cy, inner, full) = self.circle();
        let n = values.len().max(1);
        let step = std::f32::consts::TAU / n as f32;
        let half = step * 0.3;
        // Slanted bars have boxes far larger than themselves that overlap their neighbours';
        // tiles convert each pixel once.
        let mut tiles = Tiles::new(self.settings.width, self.settings.height);
        for (band, &v) in values.iter().enumerate() {
            let angle = band as f32 * step - std::f32::consts::FRAC_PI_2;
            let outer = inner + (v * full).max(1.0);
            let at = |r: f32, a: f32| (cx + r * a.cos(), cy + r * a.sin());
            let corners = [
                at(inner, angle - half),
                at(outer, angle - half),
                at(outer, angle + half),
                at(inner, angle + half),
            ];
            let mut path = PathBuilder::new();
            path.move_to(corners[0].0, corners[0].1);
            for &(x, y) in &corners[1..] {
                path.line_to(x, y);
            }
            path.close();
            if let Some(path) = path.finish() {
                let paint = solid(self.color_at(Self::band_t(band, values.len())));
                canvas.pixmap.fill_path(
                    &path,
                    &paint,
                    FillRule::Winding,
                    Transform::identity(),
                    None,
                );
                let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
                for (x, y) in corners {
                    (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
                }
                // Anti-aliasing reaches one pixel beyond the path.
                tiles.mark(x0 - 1.0, y0 - 1.0, x1 + 1.0, y1 + 1.0);
            }
        }
        tiles.regions(&mut canvas.dirty);
    }

    /// One rectangle per min/max pair, on whole-pixel columns: abutting anti-aliased edges
    /// would leave seams, and a filled polygon with thousands of vertical edges rasterizes
    /// far slower than rectangles.
    fn waveform(&self, spectrum: &Spectrum, frame: usize, canvas: &mut Canvas) {
        let (w, h) = (self.settings.width as f32, self.settings.height as f32);
        let points = spectrum.waveform_points();
        if points == 0 {
            return;
        }
        let margin = (w * 0.04).round();
        let column = (w - 2.0 * margin) / points as f32;
        let (mid, amp) = (h / 2.0, h * 0.42);
        let mut group: Option<(f32, f32, f32, f32)> = None;
        for (i, (lo, hi)) in spectrum.waveform(frame).enumerate() {
            let x0 = (margin + column * i as f32).round();
            let x1 = (margin + column * (i + 1) as f32).round();
            let (top, bottom) = (mid - hi * amp - 0.75, mid - lo * amp + 0.75);
            if x1 <= x0 {
                continue;
            }
            if let Some(rect) = Rect::from_ltrb(x0, top, x1, bottom) {
                let paint = solid(self.color_at(i as f32 / (points - 1).max(1) as f32));
                canvas
                    .pixmap
                    .fill_rect(rect, &paint, Transform::identity(), None);
            }
            // Dirty regions per 16 columns: few enough to be cheap, tight enough to matter.
            let g = group.get_or_insert((x0, top, x1, bottom));
            *g = (g.0.min(x0), g.1.min(top), g.2.max(x1), g.3.max(bottom));
            if i % 16 == 15 {
                let (a, b, c, d) = *g;
                canvas.mark(a, b - 1.0, c, d + 1.0);
                group = None;
            }
        }
        if let Some((a, b, c, d)) = group {
            canvas.mark(a, b - 1.0, c, d + 1.0);
        }
    }

    /// Draws frame `frame` and brings `out` up to date: [`Renderer::render`] then
    /// [`Renderer::convert`], except for the spectrogram, which is written straight into the
    /// YUV planes (every pixel changes each frame, and it needs no anti-aliasing) with the
    /// same result as converting its RGBA frame.
    pub fn draw(&self, spectrum: &Spectrum, frame: usize, canvas: &mut Canvas, out: &mut YuvFrame) {
        if self.settings.style == Style::Spectrogram {
            self.spectrogram_yuv(spectrum, frame, &mut out.yuv);
            out.dirty.clear();
            out.dirty
                .push(Region::full(self.settings.width, self.settings.height));
            return;
        }
        self.render(spectrum, frame, canvas);
        self.convert(canvas, out);
    }

    /// The spectrogram's level index per (row, visible column), row-major, and the first
    /// pixel of each visible column (plus the width). Column x shows frame
    /// `frame − (history − 1) + x·history/width`; row y the band level interpolated at its
    /// height.
    fn spectrogram_levels(&self, spectrum: &Spectrum, frame: usize) -> (Vec<u8>, Vec<usize>) {
        let (w, h) = (self.settings.width, self.settings.height);
        let history = ((self.settings.history_secs * spectrum.fps).round() as usize).max(2);
        let bands = spectrum.bands;
        let first = frame as i64 - (history as i64 - 1);
        let column_of = |x: usize| first + (x * history / w) as i64;
        let (from, to) = (column_of(0), column_of(w - 1));
        let visible = (to - from + 1) as usize;
        // Per row: the two bands it lies between and the weight of the upper one.
        let rows: Vec<(usize, usize, f32)> = (0..h)
            .map(|y| {
                let pos = (h - 1 - y) as f32 / (h - 1) as f32 * (bands.max(2) - 1) as f32;
                let a = (pos.floor() as usize).min(bands - 1);
                (a, (a + 1).min(bands - 1), pos - a as f32)
            })
            .collect();
        let mut level = vec![0u8; visible * h];
        for (c, f) in (from..=to).enumerate() {
            if f < 0 {
                continue;
            }
            let v = spectrum.frame(f as usize);
            for (y, &(a, b, t)) in rows.iter().enumerate() {
                // Band values are within 0..=1, so the sum rounds without clamping.
                level[y * visible + c] = ((v[a] + (v[b] - v[a]) * t) * 255.0 + 0.5) as u8;
            }
        }
        let mut starts: Vec<usize> = Vec::with_capacity(visible + 1);
        for x in 0..w {
            if x == 0 || column_of(x) != column_of(x - 1) {
                starts.push(x);
            }
        }
        starts.push(w);
        (level, starts)
    }

    fn spectrogram(&self, spectrum: &Spectrum, frame: usize, pixmap: &mut Pixmap) {
        let w = self.settings.width;
        let (level, starts) = self.spectrogram_levels(spectrum, frame);
        let visible = starts.len() - 1;
        for (y, row) in pixmap.data_mut().chunks_exact_mut(4 * w).enumerate() {
            let levels = &level[y * visible..(y + 1) * visible];
            for (c, span) in starts.windows(2).enumerate() {
                let color = self.levels[usize::from(levels[c])];
                for px in row[4 * span[0]..4 * span[1]].chunks_exact_mut(4) {
                    px.copy_from_slice(&color);
                }
            }
        }
    }

    fn spectrogram_yuv(&self, spectrum: &Spectrum, frame: usize, out: &mut Yuv420) {
        let w = self.settings.width;
        let (level, starts) = self.spectrogram_levels(spectrum, frame);
        let visible = starts.len() - 1;
        let (luma, chroma) = (&self.level_luma, &self.level_chroma);
        let mut column = vec![0usize; w];
        for (c, span) in starts.windows(2).enumerate() {
            column[span[0]..span[1]].fill(c);
        }
        let (y_plane, u_plane, v_plane) = out.planes_mut();
        for (y, row) in y_plane.chunks_exact_mut(w).enumerate() {
            let levels = &level[y * visible..(y + 1) * visible];
            for (c, span) in starts.windows(2).enumerate() {
                row[span[0]..span[1]].fill(luma[usize::from(levels[c])]);
            }
        }
        for (cy, (u_row, v_row)) in u_plane
            .chunks_exact_mut(w / 2)
            .zip(v_plane.chunks_exact_mut(w / 2))
            .enumerate()
        {
            let top = &level[2 * cy * visible..(2 * cy + 1) * visible];
            let bottom = &level[(2 * cy + 1) * visible..(2 * cy + 2) * visible];
            for (cx, (u, v)) in u_row.iter_mut().zip(v_row.iter_mut()).enumerate() {
                let (left, right) = (column[2 * cx], column[2 * cx + 1]);
                let block = [top[left], top[right], bottom[left], bottom[right]];
                // Mostly one colour per 2×2 block: its chroma comes from the table.
                if block.iter().all(|&l| l == block[0]) {
                    (*u, *v) = chroma[usize::from(block[0])];
                    continue;
                }
                let px = block.map(|l| self.levels[usize::from(l)]);
                let sum = |k: usize| (px.iter().map(|p| i32::from(p[k])).sum::<i32>() + 2) >> 2;
                (*u, *v) = chroma_from_rgb(sum(0), sum(1), sum(2));
            }
        }
    }
}

fn background_pixmap(background: &Background, w: u32, h: u32) -> Result<Pixmap, AudioError> {
    let size_err = || AudioError::Settings(format!("cannot allocate a {w}×{h} frame"));
    let mut pixmap = Pixmap::new(w, h).ok_or_else(size_err)?;
    match background {
        Background::Color(c) => pixmap.fill(opaque(*c)),
        Background::Image(path) => {
            let image = image::open(path).map_err(|e| AudioError::Background {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let cover = image
                .resize_to_fill(w, h, image::imageops::FilterType::Triangle)
                .to_rgba8();
            for (out, px) in pixmap.data_mut().chunks_exact_mut(4).zip(cover.pixels()) {
                // Transparent parts of the image show black: frames are opaque.
                let a = u16::from(px[3]);
                for c in 0..3 {
                    out[c] = ((u16::from(px[c]) * a + 127) / 255) as u8;
                }
                out[3] = 255;
            }
        }
    }
    Ok(pixmap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse() {
        assert_eq!(parse_color("#ff8000").unwrap(), [255, 128, 0]);
        assert_eq!(parse_color("0F0").unwrap(), [0, 255, 0]);
        assert_eq!(parse_color("White").unwrap(), [255, 255, 255]);
        assert!(parse_color("#12345").is_err());
        assert!(parse_color("#gg0000").is_err());
        assert!(parse_color("ünï").is_err());
    }

    #[test]
    fn the_spectrogram_written_as_yuv_equals_its_rgba_converted() {
        let rate = 16_000;
        let samples = crate::sample::chords(rate, 3.0);
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("c.wav");
        crate::sample::write_wav(&wav, rate, &samples).unwrap();
        let spectrum = crate::audio::analyze(
            &wav,
            &crate::audio::SpectrumSettings {
                bands: 40,
                ..Default::default()
            },
            &crate::Job::new(),
        )
        .unwrap();
        let settings = VisualSettings {
            style: Style::Spectrogram,
            width: 96,
            height: 64,
            history_secs: 2.0,
            ..Default::default()
        };
        let renderer = Renderer::new(&settings).unwrap();
        for frame in [0, 20, 71] {
            let mut expected = Yuv420::new(96, 64);
            expected.fill_from_rgba(&renderer.render_rgba(&spectrum, frame));
            let (mut canvas, mut out) = (renderer.new_canvas(), renderer.new_yuv_frame());
            renderer.draw(&spectrum, frame, &mut canvas, &mut out);
            assert_eq!(out.yuv, expected, "frame {frame}");
        }
    }

    #[test]
    fn bars_drawn_incrementally_equal_bars_drawn_afresh() {
        let rate = 16_000;
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("c.wav");
        crate::sample::write_wav(&wav, rate, &crate::sample::chords(rate, 2.0)).unwrap();
        let spectrum =
            crate::audio::analyze(&wav, &Default::default(), &crate::Job::new()).unwrap();
        for style in [Style::Bars, Style::Circular] {
            let settings = VisualSettings {
                style,
                width: 160,
                height: 90,
                ..Default::default()
            };
            let renderer = Renderer::new(&settings).unwrap();
            let (mut canvas, mut out) = (renderer.new_canvas(), renderer.new_yuv_frame());
            // Frames out of order, reusing one canvas and one YUV frame, as the pool does.
            for frame in [3, 30, 4, 47, 12] {
                renderer.draw(&spectrum, frame, &mut canvas, &mut out);
                let fresh = renderer.render_rgba(&spectrum, frame);
                assert_eq!(canvas.rgba(), &fresh[..], "{style:?} frame {frame}");
                let mut expected = Yuv420::new(160, 90);
                expected.fill_from_rgba(&fresh);
                assert_eq!(out.yuv, expected, "{style:?} frame {frame}");
            }
        }
    }

    #[test]
    fn odd_or_tiny_sizes_are_refused() {
        for (w, h) in [(15, 16), (1281, 720), (8, 8)] {
            let s = VisualSettings {
                width: w,
                height: h,
                ..Default::default()
            };
            assert!(Renderer::new(&s).is_err());
        }
    }

    #[test]
    fn a_background_image_covers_the_frame_behind_the_bars() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bg.png");
        // Left half red, right half blue; scaled from 40×20 to cover 160×80.
        image::RgbImage::from_fn(40, 20, |x, _| {
            if x < 20 {
                image::Rgb([200, 0, 0])
            } else {
                image::Rgb([0, 0, 200])
            }
        })
        .save(&path)
        .unwrap();
        let wav = dir.path().join("t.wav");
        crate::sample::write_wav(&wav, 16_000, &crate::sample::sine(16_000, 1.0, 500.0)).unwrap();
        let spectrum =
            crate::audio::analyze(&wav, &Default::default(), &crate::Job::new()).unwrap();
        let settings = VisualSettings {
            width: 160,
            height: 80,
            background: Background::Image(path),
            ..Default::default()
        };
        let rgba = Renderer::new(&settings).unwrap().render_rgba(&spectrum, 5);
        let at = |x: usize, y: usize| &rgba[4 * (y * 160 + x)..4 * (y * 160 + x) + 4];
        // The top rows hold no bars at this level; the image shows there.
        assert_eq!(at(10, 2), &[200, 0, 0, 255]);
        assert_eq!(at(150, 2), &[0, 0, 200, 255]);
    }

    #[test]
    fn a_missing_background_image_is_a_clear_error() {
        let s = VisualSettings {
            background: Background::Image("/nonexistent/bg.png".into()),
            ..Default::default()
        };
        assert!(matches!(
            Renderer::new(&s),
            Err(AudioError::Background { .. })
        ));
    }
}
