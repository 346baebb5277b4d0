//! One open stack and everything the window shows of it: current frame, display mapping,
//! normalization, mask, result layer, ROIs and the line profile. Rendering to the texture
//! happens here; computing (reduce, curves, kymograph) is done by jobs the app starts.
//!
//! The rules that tie its parts together live in its methods, so every command that changes
//! the document keeps them: a new normalization or mask invalidates the curves, the profile
//! and the texture; a new line drops the old kymograph; removing a ROI clears the selection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;
use ndarray::{Array2, Array3};

use crate::display::{Colormap, DisplayMapping, Histogram};
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
    /// Weight (of 256) of the next frame blended in during interpolated playback.
    blend: u16,
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
    /// Weight (of 256) of frame `frame + 1` mixed into the view: interpolated playback.
    blend: u16,
    /// A blend made by the export's blender for (frame, weight), RGBA of the frame's size.
    blended: Option<((usize, u16), Vec<u8>)>,
    /// Bumped whenever normalization, mask or layer change, so the texture re-renders.
    generation: u64,
    rendered: Option<RenderKey>,
    texture: Option<egui::TextureHandle>,
    /// How much the texture is shrunk to fit the renderer's texture limit (1: not at all).
    texture_shrink: usize,
    /// A mapped frame being read from disk in the background, and since when: the last
    /// frame stays on screen meanwhile.
    reading: Option<(usize, Instant)>,
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
            blend: 0,
            blended: None,
            generation: 0,
            rendered: None,
            texture: None,
            texture_shrink: 1,
            reading: None,
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

    /// Shows source frame `frame` (clamped to the stack) on its own.
    pub fn set_frame(&mut self, frame: usize) {
        self.frame = frame.min(self.len().saturating_sub(1));
        self.blend = 0;
    }

    /// Mixes `weight`/256 of the next frame into the view, as the export's blend of this
    /// pair would (interpolated playback); 0 shows the frame alone.
    pub fn set_blend(&mut self, weight: u16) {
        self.blend = if self.frame + 1 < self.len() {
            weight.min(256)
        } else {
            0
        };
    }

    pub fn blend(&self) -> u16 {
        self.blend
    }

    /// True when a blend is to be shown and none made by the export's blender is at hand.
    /// Odd sizes are blended by the export at its even size, which would not fill the view:
    /// there the view mixes the frames itself.
    pub fn blend_wanted(&self) -> Option<(usize, u16)> {
        let (w, h) = self.size();
        (self.blend > 0
            && !self.showing_layer()
            && w % 2 == 0
            && h % 2 == 0
            && self.blended.is_none()
            && self.rendered != Some(self.render_key()))
        .then_some((self.frame, self.blend))
    }

    /// The blend for `key` as the export's blender made it (RGBA of the frame's size).
    pub fn set_blended(&mut self, key: (usize, u16), rgba: Vec<u8>) {
        self.blended = Some((key, rgba));
    }

    /// What the texture should show now.
    fn render_key(&self) -> RenderKey {
        let layer = self.showing_layer();
        RenderKey {
            // A layer is one image: scrubbing under it must not re-render it.
            frame: if layer { 0 } else { self.frame },
            blend: if layer { 0 } else { self.blend },
            layer,
            mapping: self.active_mapping(),
            generation: self.generation,
        }
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
        let key = self.render_key();
        if self.rendered != Some(key) && self.texture.is_some() && !self.paged_in(&key) {
            // A frame of a mapped stack that is still on disk: the OS reads it in the
            // background while the window keeps drawing, rather than freezing on the read.
            // Past the wait the frame is read here, as a slow disk leaves no better choice.
            let since = match self.reading {
                Some((frame, since)) if frame == key.frame => since,
                _ => self.reading.insert((key.frame, Instant::now())).1,
            };
            if since.elapsed() < READ_WAIT {
                ctx.request_repaint_after(Duration::from_millis(15));
                return self.texture.as_ref();
            }
        }
        self.reading = None;
        if self.rendered != Some(key) || self.texture.is_none() {
            let (w, h) = self.size();
            let made = self
                .blended
                .take()
                .filter(|(k, _)| *k == (key.frame, key.blend) && key.blend > 0)
                .map(|(_, rgba)| rgba);
            let blended = made.is_some();
            let mut rgba = match made {
                Some(rgba) => rgba,
                None => self.render_rgba(key.layer, key.mapping),
            };
            if key.blend > 0 && !blended {
                // The next frame, mapped the same way, mixed in with the export's kernel
                // (integer weights, the same rounding), so playback shows the export's blends.
                let kept = (self.frame, self.values.take(), self.histogram.take());
                self.frame += 1;
                let next = self.render_rgba(false, key.mapping);
                (self.frame, self.values, self.histogram) = kept;
                let mut out = vec![0; rgba.len()];
                crate::interp::cpu::blend_slices(&rgba, &next, key.blend, &mut out);
                rgba = out;
            }
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

    /// Bumped whenever normalization, mask or layer change (what the frames look like).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The texture as last rendered by [`Document::texture`] (the app renders before the
    /// panels draw).
    pub fn texture_handle(&self) -> Option<&egui::TextureHandle> {
        self.texture.as_ref()
    }

    /// Whatever was computed from the frames as shown (ROI curves, kymograph, envelope) no
    /// longer holds.
    fn drop_derived(&mut self) {
        self.curves = None;
        if let Some(line) = &mut self.line {
            line.kymograph = None;
            line.envelope = None;
        }
        self.invalidate();
    }

    /// Normalization on (levels follow the new values) or off (levels back to the bytes').
    pub fn set_normalizer(&mut self, normalizer: Option<Normalizer>) {
        let on = normalizer.is_some();
        self.normalizer = normalizer;
        if on {
            let values = self.values_of(self.frame);
            self.mapping = DisplayMapping::automatic(values.view());
        } else {
            let colormap = match self.mapping.colormap {
                // Diverging suits signed normalized values, not bytes.
                Colormap::Diverging => Colormap::Gray,
                c => c,
            };
            self.mapping = DisplayMapping {
                colormap,
                ..DisplayMapping::default()
            };
        }
        self.drop_derived();
    }

    pub fn set_mask(&mut self, mask: Option<Array2<bool>>) {
        self.mask = mask;
        self.drop_derived();
    }

    /// A new result layer, shown at once.
    pub fn set_layer(&mut self, layer: Layer) {
        self.layer = Some(layer);
        self.show_layer = true;
        self.invalidate();
    }

    pub fn show_layer(&mut self, show: bool) {
        if self.show_layer != show {
            self.show_layer = show;
            self.invalidate();
        }
    }

    /// Adds a ROI in the next colour and selects it.
    pub fn add_roi(&mut self, shape: Shape) {
        let color = ROI_COLORS[self.rois.len() % ROI_COLORS.len()];
        self.rois.push(Roi { shape, color });
        self.selected_roi = Some(self.rois.len() - 1);
    }

    pub fn set_roi_shape(&mut self, index: usize, shape: Shape) {
        if let Some(roi) = self.rois.get_mut(index) {
            roi.shape = shape;
        }
    }

    pub fn remove_roi(&mut self, index: usize) {
        if index < self.rois.len() {
            self.rois.remove(index);
            self.selected_roi = None;
        }
    }

    pub fn select_roi(&mut self, index: Option<usize>) {
        self.selected_roi = index.filter(|&i| i < self.rois.len());
    }

    /// A new line: its kymograph and envelope are computed afresh.
    pub fn set_line(&mut self, spec: LineSpec) {
        self.line = Some(LineProfile {
            spec,
            kymograph: None,
            envelope: None,
        });
    }

    /// A document on `stack` cropped from this one: same frame and levels; ROIs, mask,
    /// normalization and layer do not carry over (their coordinates no longer hold).
    pub fn cropped(&self, stack: FrameStack) -> Self {
        let mut new = Self::new(stack, self.report.clone());
        new.report.shape = new.stack.shape();
        new.mapping = self.mapping;
        new.set_frame(self.frame);
        new
    }

    /// The frame being read from disk before it is shown, if any.
    pub fn reading(&self) -> Option<usize> {
        self.reading.map(|(frame, _)| frame)
    }

    /// Whether the frames `key` shows are in memory; asks the OS to read those that are not.
    fn paged_in(&self, key: &RenderKey) -> bool {
        if key.layer && self.layer.is_some() {
            return true;
        }
        let frames = if key.blend > 0 {
            vec![key.frame, key.frame + 1]
        } else {
            vec![key.frame]
        };
        let mut all = true;
        for frame in frames {
            if !self.stack.frame_resident(frame) {
                self.stack.prefetch_frame(frame);
                all = false;
            }
        }
        all
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

/// How long a frame of a mapped stack may take to come in from disk before it is read on
/// the UI thread anyway.
const READ_WAIT: Duration = Duration::from_secs(3);

#[cfg(test)]
mod tests {
    use ndarray::Array4;

    use super::*;
    use crate::ops::NormalizeSettings;
    use crate::stack::{ChannelOrder, SourceKind, StackMeta};

    fn meta() -> StackMeta {
        StackMeta::new(
            std::path::Path::new("test.npy"),
            SourceKind::Npy,
            ChannelOrder::Gray,
        )
    }

    fn doc() -> Document {
        let frames = Array4::from_shape_fn((4, 6, 8, 1), |(i, y, x, _)| (10 * i + x + y) as u8);
        let stack = FrameStack::from_array(frames, meta());
        Document::new(stack, LoadReport::new("test.npy".into(), SourceKind::Npy))
    }

    fn with_results(doc: &mut Document) {
        doc.add_roi(Shape::Probe { x: 1, y: 1 });
        doc.curves = Some((doc.shapes(), Vec::new()));
        doc.set_line(LineSpec {
            points: vec![(0.0, 0.0), (5.0, 3.0)],
            width: 1,
        });
        let line = doc.line.as_mut().unwrap();
        line.kymograph = Some(Array3::zeros((4, 6, 1)));
        line.envelope = Some(crate::ops::envelope(&Array3::zeros((4, 6, 1)), None));
    }

    fn derived_gone(doc: &Document) -> bool {
        let line = doc.line.as_ref().unwrap();
        doc.curves.is_none() && line.kymograph.is_none() && line.envelope.is_none()
    }

    #[test]
    fn normalization_on_and_off_drops_curves_and_profile_and_resets_levels() {
        let mut d = doc();
        with_results(&mut d);
        let before = d.generation;
        let settings = NormalizeSettings::background_subtraction();
        let n = Normalizer::new(d.stack.view(), settings, &crate::job::Job::new()).unwrap();
        d.set_normalizer(Some(n));
        assert!(derived_gone(&d));
        assert!(d.generation > before);
        // Frame 0 minus the mean of frames 0..4 (10·i + x + y) is −15 everywhere: a flat
        // image gets levels one unit wide.
        assert_eq!((d.mapping.min, d.mapping.max), (-15.0, -14.0));
        with_results(&mut d);
        d.mapping.colormap = Colormap::Diverging;
        d.set_normalizer(None);
        assert!(derived_gone(&d));
        assert_eq!(d.mapping.colormap, Colormap::Gray);
        assert_eq!((d.mapping.min, d.mapping.max), (0.0, 255.0));
    }

    #[test]
    fn a_mask_drops_curves_and_profile() {
        let mut d = doc();
        with_results(&mut d);
        d.set_mask(Some(Array2::from_elem((6, 8), true)));
        assert!(derived_gone(&d));
    }

    #[test]
    fn rois_are_added_selected_moved_and_removed() {
        let mut d = doc();
        d.add_roi(Shape::Probe { x: 1, y: 1 });
        d.add_roi(Shape::Probe { x: 2, y: 2 });
        assert_eq!(d.selected_roi, Some(1));
        assert_ne!(d.rois[0].color, d.rois[1].color);
        d.set_roi_shape(0, Shape::Probe { x: 5, y: 5 });
        assert_eq!(d.rois[0].shape, Shape::Probe { x: 5, y: 5 });
        d.select_roi(Some(7));
        assert_eq!(d.selected_roi, None);
        d.select_roi(Some(0));
        d.remove_roi(0);
        assert_eq!(d.rois.len(), 1);
        assert_eq!(d.selected_roi, None);
        assert_eq!(d.rois[0].shape, Shape::Probe { x: 2, y: 2 });
    }

    #[test]
    fn a_new_line_has_no_kymograph_yet_and_a_layer_is_shown_when_set() {
        let mut d = doc();
        with_results(&mut d);
        d.set_line(LineSpec {
            points: vec![(1.0, 1.0), (2.0, 2.0)],
            width: 3,
        });
        assert!(d.line.as_ref().unwrap().kymograph.is_none());
        d.set_layer(Layer {
            name: "mean".into(),
            image: Array3::zeros((6, 8, 1)),
            mapping: DisplayMapping::default(),
        });
        assert!(d.showing_layer());
        d.show_layer(false);
        assert!(!d.showing_layer());
    }

    #[test]
    fn a_cropped_document_keeps_frame_and_levels_but_not_rois() {
        let mut d = doc();
        d.add_roi(Shape::Probe { x: 1, y: 1 });
        d.set_frame(2);
        d.mapping.max = 99.0;
        let small = Array4::zeros((4, 2, 3, 1));
        let c = d.cropped(FrameStack::from_array(small, meta()));
        assert_eq!((c.frame, c.mapping.max), (2, 99.0));
        assert!(c.rois.is_empty());
        assert_eq!(c.report.shape, [4, 2, 3, 1]);
    }
}
