//! What tests and scripts read from the window (and the few things they set directly).

use eframe::egui;

use super::app::App;
use super::forms::Settings;
use super::jobs::JobKind;
use super::panels::audio::AudioPanel;
use super::viewer::Tool;
use crate::analyze::AnalysisResult;
use crate::ops::Shape;

impl App {
    /// Opens the load dialog on `path` (empty: none yet).
    pub fn open_dialog(&mut self, path: String) {
        self.push(super::Command::OpenDialog(path));
    }

    pub fn frame(&self) -> Option<usize> {
        self.doc.as_ref().map(|d| d.frame)
    }

    /// The weight (of 256) of the next frame blended into the view (interpolated playback).
    pub fn blend(&self) -> Option<u16> {
        self.doc.as_ref().map(|d| d.blend())
    }

    /// The export blender interpolated playback draws with, once opened.
    pub fn blend_device(&self) -> Option<String> {
        self.blend_view.as_ref().map(|v| v.device())
    }

    pub fn playing(&self) -> bool {
        self.playback.playing()
    }

    pub fn stack_shape(&self) -> Option<[usize; 4]> {
        self.doc.as_ref().map(|d| d.stack.shape())
    }

    pub fn layer_name(&self) -> Option<&str> {
        self.doc.as_ref()?.layer.as_ref().map(|l| l.name.as_str())
    }

    /// Points per curve (ROI × channel), once computed for the current ROIs.
    pub fn curve_lengths(&self) -> Vec<usize> {
        match &self.doc {
            Some(doc) if doc.curves_current() => doc
                .curves
                .iter()
                .flat_map(|(_, c)| c.iter().map(|c| c.stats.len()))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The kymograph texture's size (positions × frames, shrunk past the GPU's limit).
    pub fn kymograph_texture_size(&self) -> Option<[usize; 2]> {
        self.panels.plots.kymograph_texture_size()
    }

    /// How much the frame texture is shrunk to fit the GPU's texture limit.
    pub fn texture_shrink(&self) -> Option<usize> {
        self.doc.as_ref().map(|d| d.texture_shrink())
    }

    pub fn rois(&self) -> Vec<Shape> {
        self.doc.as_ref().map(|d| d.shapes()).unwrap_or_default()
    }

    /// True while any background work runs.
    pub fn busy(&self) -> bool {
        self.jobs.busy() || !self.commands.is_empty()
    }

    pub fn analysing(&self) -> bool {
        self.jobs.running(JobKind::Analyze)
    }

    /// The analysis results shown over the open stack.
    pub fn analysis_results(&self) -> &[AnalysisResult] {
        if self.analysis.doc == Some(self.doc_id) {
            &self.analysis.results
        } else {
            &[]
        }
    }

    /// The outcome line of the last analysis.
    pub fn analysis_outcome(&self) -> Option<&Result<String, String>> {
        self.panels.analyzers.outcome.as_ref()
    }

    /// Time of the frame shown, in seconds (frame numbers for sources without a rate).
    pub fn current_time(&self) -> Option<f64> {
        self.doc_time()
    }

    /// The "Audio to video" dialog.
    pub fn audio_dialog(&self) -> &AudioPanel {
        &self.panels.audio
    }

    pub fn exporting(&self) -> bool {
        self.jobs.running(JobKind::Export)
    }

    pub fn export_outcome(&self) -> Option<&Result<String, String>> {
        self.panels.export.outcome.as_ref()
    }

    /// The clips of the batch window's results folder whose last run succeeded.
    pub fn batch_finished(&self) -> &[super::panels::batch::Finished] {
        self.panels.batch.finished()
    }

    pub fn batch_outcome(&self) -> Option<&Result<String, String>> {
        self.panels.batch.outcome.as_ref()
    }

    /// The frame cache entry the open stack is mapped from, if it came from one.
    pub fn stack_cache(&self) -> Option<&crate::load::cache::CacheUse> {
        self.doc.as_ref().and_then(|d| d.report.cache.as_ref())
    }

    pub fn status(&self) -> Option<&str> {
        self.status.as_ref().map(|(s, _)| s.as_str())
    }

    /// Where the image is drawn, in screen points.
    pub fn image_rect(&self) -> Option<egui::Rect> {
        self.doc.as_ref().and(self.panels.viewer.image_rect)
    }

    pub fn set_tool(&mut self, tool: Tool) {
        self.panels.viewer.tool = tool;
    }

    pub fn settings_mut(&mut self) -> &mut Settings {
        &mut self.settings
    }

    /// Mean and worst time between frames and the mean time spent in `ui`.
    pub fn frame_time_summary(&self) -> String {
        self.timer.summary()
    }

    /// The renderer drawing the window.
    pub fn renderer(&self) -> &str {
        &self.renderer
    }
}
