//! One open stack and everything the window shows of it: current frame, display mapping,
//! normalization, mask, result layer, ROIs and the line profile. Rendering to the texture
//! happens here; computing (reduce, curves, kymograph) is done by tasks the app starts.

use std::sync::Arc;

use eframe::egui;
use ndarray::{Array2, Array3};

use crate::display::{DisplayMapping, Histogram};
use crate::load::LoadReport;
use crate::ops::{Envelope, LineSpec, Normalizer, RoiCurve, Sample, Shape, profile};
use crate::source::shown_values;
use crate::stack::FrameStack;

/// A result image shown instead of the stack (a reduction).
pub struct Layer {
    pub name: String,
    pub image: Array3<f32>,
    pub mapping: DisplayMapping,
}

/// A region drawn on the image.
#[derive(Debug, Clone, PartialEq)]
pub struct Roi {
    pub shape: Shape,
    pub color: egui::Color32,
}

pub const ROI_COLORS: [egui::Color32; 6] = [
    egui::Color32::from_rgb(255, 200, 0),
    egui::Color32::from_rgb(0, 200, 255),
    egui::Color32::from_rgb(255, 80, 160),
    egui::Color32::from_rgb(120, 255, 120),
    egui::Color32::from_rgb(255, 140, 60),
    egui::Color32::from_rgb(180, 140, 255),
];

/// The drawn line and what was computed along it.
pub struct LineProfile {
    pub spec: LineSpec,
    /// frames × positions × channels, once computed.
    pub kymograph: Option<Array3<f32>>,
    pub envelope: Option<Envelope>,
}

pub enum Current<'a> {
    Values(&'a Array3<f32>),
    Bytes(ndarray::ArrayView3<'a, u8>),
}

/// What the texture currently shows; a change of any part re-renders it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RenderKey {
    frame: usize,
    layer: bool,
    mapping: DisplayMapping,
    generation: u64,
}

pub struct Document {
    pub stack: Arc<FrameStack>,
    pub report: LoadReport,
    pub frame: usize,
    pub mapping: DisplayMapping,
    pub normalizer: Option<Normalizer>,
    pub mask: Option<Array2<bool>>,
    pub layer: Option<Layer>,
    pub show_layer: bool,
    pub rois: Vec<Roi>,
    pub selected_roi: Option<usize>,
    /// Curves of `rois` as they were when computed.
    pub curves: Option<(Vec<Shape>, Vec<RoiCurve>)>,
    pub line: Option<LineProfile>,
    /// Bumped whenever normalization, mask or layer change, so the texture re-renders.
    generation: u64,
    rendered: Option<RenderKey>,
    texture: Option<egui::TextureHandle>,
    /// How much the texture is shrunk to fit the renderer's texture limit (1: not at all).
    texture_shrink: usize,
    /// The last rendered frame (index, values) after normalization and mask, when either is on.
    values: Option<(usize, Array3<f32>)>,
    pub histogram: Option<Histogram>,
}

impl Document {
    pub fn new(stack: FrameStack, report: LoadReport) -> Self {
        Self {
            stack: Arc::new(stack),
            report,
            frame: 0,
            mapping: DisplayMapping::default(),
            normalizer: None,
            mask: None,
            layer: None,
            show_layer: false,
            rois: Vec::new(),
            selected_roi: None,
            curves: None,
            line: None,
            generation: 0,
            rendered: None,
            texture: None,
            texture_shrink: 1,
            values: None,
            histogram: None,
        }
    }

    pub fn len(&self) -> usize {
        self.stack.len()
    }

    pub fn size(&self) -> (usize, usize) {
        (self.stack.width(), self.stack.height())
    }

    /// Marks normalization, mask or layer as changed.
    pub fn invalidate(&mut self) {
        self.generation += 1;
    }

    pub fn set_frame(&mut self, frame: usize) {
        self.frame = frame.min(self.len().saturating_sub(1));
    }

    pub fn showing_layer(&self) -> bool {
        self.show_layer && self.layer.is_some()
    }

    /// The mapping of what is on screen (the layer's or the stack's).
    pub fn active_mapping(&self) -> DisplayMapping {
        match (&self.layer, self.show_layer) {
            (Some(layer), true) => layer.mapping,
            _ => self.mapping,
        }
    }

    pub fn set_active_mapping(&mut self, mapping: DisplayMapping) {
        match (&mut self.layer, self.show_layer) {
            (Some(layer), true) => layer.mapping = mapping,
            _ => self.mapping = mapping,
        }
    }

    /// True when frames go through floats (normalization or mask) before display.
    pub fn transformed(&self) -> bool {
        self.normalizer.is_some() || self.mask.is_some()
    }

    /// Frame `index` as floats after normalization and mask.
    pub fn values_of(&self, index: usize) -> Array3<f32> {
        shown_values(
            self.stack.view(),
            index,
            self.normalizer.as_ref(),
            self.mask.as_ref(),
        )
    }

    /// Raw bytes and shown value at pixel (x, y) of the current frame (or the layer).
    pub fn pixel(&self, x: usize, y: usize) -> Option<(Vec<u8>, Vec<f32>)> {
        let (w, h) = self.size();
        if x >= w || y >= h {
            return None;
        }
        let frame = self.stack.frame(self.frame)?;
        let raw: Vec<u8> = (0..self.stack.channels())
            .map(|c| frame[[y, x, c]])
            .collect();
        let shown: Vec<f32> = if self.showing_layer() {
            let layer = self.layer.as_ref()?;
            (0..layer.image.shape()[2])
                .map(|c| layer.image[[y, x, c]])
                .collect()
        } else if self.transformed() {
            let (_, values) = self.values.as_ref().filter(|(f, _)| *f == self.frame)?;
            (0..values.shape()[2]).map(|c| values[[y, x, c]]).collect()
        } else {
            raw.iter().map(|&v| f32::from(v)).collect()
        };
        Some((raw, shown))
    }

    /// Updates the texture when what it should show changed; the texture is allocated once
    /// per size and then written in place.
    pub fn texture(&mut self, ctx: &egui::Context) -> Option<&egui::TextureHandle> {
        let layer = self.showing_layer();
        let key = RenderKey {
            // A layer is one image: scrubbing under it must not re-render it.
            frame: if layer { 0 } else { self.frame },
            layer,
            mapping: self.active_mapping(),
            generation: self.generation,
        };
        if self.rendered != Some(key) || self.texture.is_none() {
            let (w, h) = self.size();
            let rgba = self.render_rgba(key.layer, key.mapping);
            // The mappings write opaque pixels, for which premultiplied is the same bytes:
            // this skips a conversion pass over every pixel of every frame.
            let image = egui::ColorImage::from_rgba_premultiplied([w, h], &rgba);
            let (image, shrink) = super::texture::fit(ctx, image);
            self.texture_shrink = shrink;
            let size = image.size;
            let options = egui::TextureOptions {
                magnification: egui::TextureFilter::Nearest,
                minification: egui::TextureFilter::Linear,
                ..Default::default()
            };
            match &mut self.texture {
                Some(texture) if texture.size() == size => {
                    texture.set_partial([0, 0], image, options);
                }
                _ => self.texture = Some(ctx.load_texture("stack-frame", image, options)),
            }
            self.rendered = Some(key);
        }
        self.texture.as_ref()
    }

    /// How much the shown texture is shrunk to fit the renderer (1: full resolution).
    pub fn texture_shrink(&self) -> usize {
        self.texture_shrink
    }

    fn render_rgba(&mut self, layer: bool, mapping: DisplayMapping) -> Vec<u8> {
        if layer && let Some(layer) = &self.layer {
            self.histogram = Some(Histogram::of_f32(layer.image.view(), 256));
            return mapping.rgba_from_f32(layer.image.view());
        }
        if self.transformed() {
            let values = self.values_of(self.frame);
            self.histogram = Some(Histogram::of_f32(values.view(), 256));
            let rgba = mapping.rgba_from_f32(values.view());
            self.values = Some((self.frame, values));
            return rgba;
        }
        self.values = None;
        match self.stack.frame(self.frame) {
            Some(frame) => {
                self.histogram = Some(Histogram::of_u8(frame));
                mapping.rgba_from_u8(frame)
            }
            None => vec![0; self.stack.width() * self.stack.height() * 4],
        }
    }

    /// The current frame of the stack as shown: normalized values when normalization or a
    /// mask is on (as last rendered), else the bytes.
    pub fn current(&self) -> Option<Current<'_>> {
        match &self.values {
            Some((frame, values)) if self.transformed() => {
                (*frame == self.frame).then_some(Current::Values(values))
            }
            _ if self.transformed() => None,
            _ => self.stack.frame(self.frame).map(Current::Bytes),
        }
    }

    /// The profile of the current frame as shown along `line` (positions × channels), when
    /// the frame's values are at hand.
    pub fn current_profile(&self, line: &LineSpec, samples: &[Sample]) -> Option<Array2<f32>> {
        Some(match self.current()? {
            Current::Values(values) => profile(values.view(), samples, line.width),
            Current::Bytes(frame) => profile(frame, samples, line.width),
        })
    }

    /// Shapes of the ROIs, in order.
    pub fn shapes(&self) -> Vec<Shape> {
        self.rois.iter().map(|r| r.shape.clone()).collect()
    }

    /// True when the curves on screen were computed for the ROIs as they are now.
    pub fn curves_current(&self) -> bool {
        self.curves
            .as_ref()
            .is_some_and(|(shapes, _)| *shapes == self.shapes())
    }

    pub fn memory_text(&self) -> String {
        let bytes = self.stack.nbytes() as u64;
        if self.stack.is_mapped() {
            format!("{} memory-mapped", crate::load::human_bytes(bytes))
        } else {
            format!("{} in RAM", crate::load::human_bytes(bytes))
        }
    }
}
