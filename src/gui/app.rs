//! The app: menus, panels, timeline, status bar, keyboard shortcuts, and the bookkeeping of
//! background tasks (load, ops, curves, kymograph, export) and their results.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use eframe::egui::{self, Color32, Key};
use ndarray::{Array2, Array3};

use super::analyzers_panel::{self, AnalyzersPanel, PanelAction};
use super::audio_panel::AudioDialog;
use super::document::{Document, Layer};
use super::export_panel::ExportDialog;
use super::forms::{Settings, colormap_named};
use super::load_dialog::{LoadAction, LoadDialog, dialog};
use super::ops_panel::{self, OpsRequest, OpsState};
use super::plots::{PlotRequest, Plots};
use super::task::{Poll, Task, progress_row};
use super::viewer::{Tool, Viewer};
use crate::analyze::AnalysisResult;
use crate::analyze::frames::{stack_frame_at, stack_time};
use crate::display::{DisplayMapping, save_image};
use crate::job::Job;
use crate::load::{LoadError, LoadOptions, Loaded, Rect, load, reference_image};
use crate::ops::{
    Envelope, LineSpec, Normalizer, ReduceOp, RoiCurve, Shape, crop, curves_csv, envelope,
    kymograph, kymograph_f32, mask_from_image, mask_from_shape, profile_csv, reduce, roi_curves,
    roi_curves_f32,
};
use crate::output;
use crate::stack::FrameStack;

/// A finished op, applied to the document it was started for.
enum OpsResult {
    Layer(Layer),
    Normalizer(Normalizer),
    Stack(FrameStack),
    Mask(Array2<bool>),
}

type Curves = (Vec<Shape>, Vec<RoiCurve>);
type Kymo = (LineSpec, Array3<f32>, Envelope);
/// The curves task, with the shapes it computes for.
type CurvesTask = (u64, Vec<Shape>, Task<Result<Curves, String>>);

/// Frame times kept for the overlay.
const FRAME_TIMES: usize = 120;

pub struct App {
    settings: Settings,
    doc: Option<Document>,
    /// Bumped per opened stack, so late results of a previous stack are dropped.
    doc_id: u64,
    viewer: Viewer,
    ops: OpsState,
    plots: Plots,
    export: ExportDialog,
    audio: AudioDialog,
    analyzers: AnalyzersPanel,
    load_dialog: Option<LoadDialog>,
    loading: Option<Task<Result<Loaded, LoadError>>>,
    ops_task: Option<(u64, Task<Result<OpsResult, String>>)>,
    curves_task: Option<CurvesTask>,
    kymo_task: Option<(u64, Task<Result<Kymo, String>>)>,
    playing: bool,
    play_from: Option<(Instant, usize)>,
    show_help: bool,
    show_report: bool,
    show_frame_time: bool,
    frame_times: VecDeque<(f32, f32)>,
    last_frame: Option<Instant>,
    status: Option<(String, bool)>,
    /// When the last load started, until its first frame is on screen.
    first_frame_pending: Option<Instant>,
    /// The first error the window's GPU device reported (wgpu would panic on it otherwise).
    gpu_error: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl App {
    /// The app as eframe creates it; opens `path` at once when given.
    pub fn new(cc: &eframe::CreationContext<'_>, path: Option<PathBuf>) -> Self {
        let settings = cc
            .storage
            .and_then(|s| eframe::get_value::<Settings>(s, eframe::APP_KEY))
            .unwrap_or_default();
        let mut app = Self::with_settings(settings);
        // wgpu's default reaction to a validation or out-of-memory error is a panic; the
        // window keeps running and says what happened instead.
        if let Some(render_state) = &cc.wgpu_render_state {
            let slot = app.gpu_error.clone();
            render_state.device.on_uncaptured_error(std::sync::Arc::new(
                move |e: eframe::wgpu::Error| {
                    let mut slot = slot
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    slot.get_or_insert_with(|| e.to_string());
                },
            ));
        }
        // A debug switch for scripts: the overlay on from the start, a summary on exit.
        app.show_frame_time = std::env::var_os("STACKSCOPE_FRAME_TIME").is_some();
        if let Some(path) = path {
            app.load(&cc.egui_ctx, path, LoadOptions::default());
        }
        app
    }

    pub fn with_settings(settings: Settings) -> Self {
        Self {
            settings,
            doc: None,
            doc_id: 0,
            viewer: Viewer::default(),
            ops: OpsState::default(),
            plots: Plots::default(),
            export: ExportDialog::default(),
            audio: AudioDialog::default(),
            analyzers: AnalyzersPanel::default(),
            load_dialog: None,
            loading: None,
            ops_task: None,
            curves_task: None,
            kymo_task: None,
            playing: false,
            play_from: None,
            show_help: false,
            show_report: false,
            show_frame_time: false,
            frame_times: VecDeque::new(),
            last_frame: None,
            status: None,
            first_frame_pending: None,
            gpu_error: Default::default(),
        }
    }

    /// Starts loading `path` on a worker; the window stays live and shows progress.
    pub fn load(&mut self, ctx: &egui::Context, path: PathBuf, options: LoadOptions) {
        if let Some(old) = &self.loading {
            old.cancel();
        }
        self.status = None;
        let label = format!("loading {}", short_name(&path));
        self.loading = Some(Task::spawn(label, ctx, move |job| {
            load(&path, &options, job)
        }));
    }

    /// Opens the load dialog on `path` (empty: none yet).
    pub fn open_dialog(&mut self, path: String) {
        self.load_dialog = Some(LoadDialog::new(path, self.settings.load.clone()));
    }

    // Read-outs for tests and scripts.

    pub fn frame(&self) -> Option<usize> {
        self.doc.as_ref().map(|d| d.frame)
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
        self.plots.kymograph_texture_size()
    }

    /// How much the frame texture is shrunk to fit the GPU's texture limit.
    pub fn texture_shrink(&self) -> Option<usize> {
        self.doc.as_ref().map(Document::texture_shrink)
    }

    pub fn rois(&self) -> Vec<Shape> {
        self.doc.as_ref().map(Document::shapes).unwrap_or_default()
    }

    /// True while any background work runs.
    pub fn busy(&self) -> bool {
        self.loading.is_some()
            || self.ops_task.is_some()
            || self.curves_task.is_some()
            || self.kymo_task.is_some()
            || self.export.busy()
            || self.audio.busy()
            || self.audio.analysing()
            || self.analyzers.busy()
    }

    /// The "Audio → video" dialog (tests).
    /// Opens the Analyzers window.
    pub fn open_analyzers(&mut self) {
        self.analyzers.open = true;
    }

    pub fn analysing(&self) -> bool {
        self.analyzers.busy()
    }

    /// The analysis results shown over the open stack.
    pub fn analysis_results(&self) -> &[AnalysisResult] {
        self.analyzers.results_for(self.doc_id)
    }

    /// The outcome line of the last analysis.
    pub fn analysis_outcome(&self) -> Option<&Result<String, String>> {
        self.analyzers.outcome.as_ref()
    }

    /// Time of the frame shown, in seconds (frame numbers for sources without a rate).
    pub fn current_time(&self) -> Option<f64> {
        self.doc
            .as_ref()
            .map(|d| stack_time(d.stack.meta(), d.frame))
    }

    fn seek_time(&mut self, t: f64) {
        if let Some(doc) = &mut self.doc {
            let frame = stack_frame_at(doc.stack.meta(), doc.len(), t);
            doc.set_frame(frame);
            self.play_from = None;
        }
    }

    pub fn audio_dialog(&self) -> &AudioDialog {
        &self.audio
    }

    pub fn open_audio_dialog(&mut self) {
        self.audio.open = true;
    }

    pub fn exporting(&self) -> bool {
        self.export.busy()
    }

    pub fn export_outcome(&self) -> Option<&Result<String, String>> {
        self.export.outcome.as_ref()
    }

    pub fn status(&self) -> Option<&str> {
        self.status.as_ref().map(|(s, _)| s.as_str())
    }

    /// Where the image is drawn, in screen points.
    pub fn image_rect(&self) -> Option<egui::Rect> {
        self.doc.as_ref().and(self.viewer.image_rect)
    }

    pub fn set_tool(&mut self, tool: Tool) {
        self.viewer.tool = tool;
    }

    pub fn settings_mut(&mut self) -> &mut Settings {
        &mut self.settings
    }

    /// Label and job of every running task but the export (which the export dialog shows).
    fn background_jobs(&self) -> Vec<(&str, &Job)> {
        [
            self.loading.as_ref().map(|t| (t.label.as_str(), t.job())),
            self.ops_task
                .as_ref()
                .map(|(_, t)| (t.label.as_str(), t.job())),
            self.curves_task
                .as_ref()
                .map(|(_, _, t)| (t.label.as_str(), t.job())),
            self.kymo_task
                .as_ref()
                .map(|(_, t)| (t.label.as_str(), t.job())),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn error(&mut self, message: impl Into<String>) {
        self.status = Some((message.into(), true));
    }

    fn info(&mut self, message: impl Into<String>) {
        self.status = Some((message.into(), false));
    }

    fn poll_tasks(&mut self, ctx: &egui::Context) {
        if let Some(task) = &mut self.loading {
            let started = Instant::now().checked_sub(task.elapsed());
            match task.poll() {
                Poll::Running => {}
                Poll::Done(Ok(loaded)) => {
                    self.loading = None;
                    self.first_frame_pending = started;
                    self.open_loaded(ctx, loaded);
                }
                Poll::Done(Err(LoadError::Cancelled)) => {
                    self.loading = None;
                    self.info("loading cancelled");
                }
                Poll::Done(Err(e)) => {
                    self.loading = None;
                    self.error(format!("could not open: {e}"));
                }
                Poll::Lost(e) => {
                    self.loading = None;
                    self.error(e);
                }
            }
        }
        if let Some((id, task)) = &mut self.ops_task
            && let Some(outcome) = task.finished()
        {
            let id = *id;
            self.ops_task = None;
            match outcome {
                Some(Ok(r)) if id == self.doc_id => self.apply_ops(r),
                Some(Err(e)) => self.error(e),
                _ => {}
            }
        }
        if let Some((id, _, task)) = &mut self.curves_task
            && let Some(outcome) = task.finished()
        {
            let id = *id;
            self.curves_task = None;
            match outcome {
                Some(Ok(curves)) => {
                    if let Some(doc) = self.doc.as_mut().filter(|_| id == self.doc_id) {
                        doc.curves = Some(curves);
                    }
                }
                Some(Err(e)) => self.error(e),
                None => {}
            }
        }
        if let Some((id, task)) = &mut self.kymo_task
            && let Some(outcome) = task.finished()
        {
            let id = *id;
            self.kymo_task = None;
            match outcome {
                Some(Ok((spec, kymo, env))) => {
                    if let Some(line) = self
                        .doc
                        .as_mut()
                        .filter(|_| id == self.doc_id)
                        .and_then(|d| d.line.as_mut())
                        .filter(|l| l.spec == spec)
                    {
                        line.kymograph = Some(kymo);
                        line.envelope = Some(env);
                    }
                }
                Some(Err(e)) => self.error(e),
                None => {}
            }
        }
    }

    fn open_loaded(&mut self, ctx: &egui::Context, loaded: Loaded) {
        let Loaded { stack, report } = loaded;
        self.settings.remember(report.source.clone());
        let notable =
            report.guard.is_some() || !report.skipped.is_empty() || !report.notes.is_empty();
        let mut doc = Document::new(stack, report);
        if doc.stack.channels() == 1 {
            doc.mapping.colormap = colormap_named(&self.settings.colormap);
        }
        if let Some(fps) = doc.stack.meta().fps {
            self.settings.playback_fps = fps;
        }
        self.info(format!(
            "opened {} in {:.2} s",
            doc.report.source.display(),
            doc.report.elapsed_secs
        ));
        self.doc = Some(doc);
        self.doc_id += 1;
        self.show_report = notable;
        self.playing = false;
        self.viewer.fit();
        self.export.new_stack();
        if let Some((_, _, t)) = self.curves_task.take() {
            t.cancel();
        }
        if let Some((_, t)) = self.kymo_task.take() {
            t.cancel();
        }
        ctx.request_repaint();
    }

    fn apply_ops(&mut self, result: OpsResult) {
        let Some(doc) = &mut self.doc else { return };
        match result {
            OpsResult::Layer(layer) => {
                self.status = Some((format!("{} ready", layer.name), false));
                doc.layer = Some(layer);
                doc.show_layer = true;
            }
            OpsResult::Normalizer(n) => {
                doc.normalizer = Some(n);
                doc.invalidate();
                let values = doc.values_of(doc.frame);
                doc.mapping = DisplayMapping::automatic(values.view());
                doc.curves = None;
                clear_line_results(doc);
            }
            OpsResult::Mask(mask) => {
                doc.mask = Some(mask);
                doc.invalidate();
                doc.curves = None;
                clear_line_results(doc);
            }
            OpsResult::Stack(stack) => {
                let report = doc.report.clone();
                let frame = doc.frame;
                let mapping = doc.mapping;
                let mut new = Document::new(stack, report);
                new.report.shape = new.stack.shape();
                new.mapping = mapping;
                new.set_frame(frame);
                self.doc = Some(new);
                self.doc_id += 1;
                self.viewer.fit();
                self.info("cropped; the ROIs, mask and normalization were cleared");
            }
        }
        if let Some(doc) = &mut self.doc {
            doc.invalidate();
        }
    }

    fn start_ops(&mut self, ctx: &egui::Context, request: OpsRequest) {
        let Some(doc) = &mut self.doc else { return };
        let stack = doc.stack.clone();
        let id = self.doc_id;
        let task: Task<Result<OpsResult, String>> = match request {
            OpsRequest::Reduce { op, start, end } => {
                let range = match frame_range(&start, &end, doc.len()) {
                    Ok(r) => r,
                    Err(e) => return self.error(e),
                };
                let normalizer = doc.normalizer.clone();
                let mask = doc.mask.clone();
                let label = format!("{} of frames {}..{}", op.name(), range.start, range.end);
                Task::spawn(format!("reduce ({label})"), ctx, move |job| {
                    let image = match &normalizer {
                        Some(n) => {
                            let frames = n.frames(stack.view()).skip(range.start).take(range.len());
                            crate::ops::reduce_f32(frames, op, job)
                        }
                        None => reduce(stack.view(), op, Some(range), job),
                    };
                    let mut image = image.map_err(|e| e.to_string())?;
                    if let Some(mask) = &mask {
                        crate::ops::apply_mask(&mut image, mask);
                    }
                    let mapping = layer_mapping(op, &image);
                    Ok(OpsResult::Layer(Layer {
                        name: label,
                        image,
                        mapping,
                    }))
                })
            }
            OpsRequest::Normalize => {
                let form = self.ops.normalize.clone();
                let frames = doc.len();
                let channels = doc.stack.channels();
                Task::spawn("normalizing", ctx, move |job| {
                    let image = if form.reference == 2 {
                        let path = PathBuf::from(form.file.trim());
                        Some(reference_image(&path, channels, job).map_err(|e| e.to_string())?)
                    } else {
                        None
                    };
                    let settings = form.settings(frames, image)?;
                    Normalizer::new(stack.view(), settings, job)
                        .map(OpsResult::Normalizer)
                        .map_err(|e| e.to_string())
                })
            }
            OpsRequest::NormalizeOff => {
                doc.normalizer = None;
                doc.mapping = DisplayMapping {
                    colormap: doc.mapping.colormap,
                    ..DisplayMapping::default()
                };
                if doc.mapping.colormap == crate::display::Colormap::Diverging {
                    doc.mapping.colormap = crate::display::Colormap::Gray;
                }
                doc.curves = None;
                clear_line_results(doc);
                doc.invalidate();
                return;
            }
            OpsRequest::ClearMask => {
                doc.mask = None;
                doc.curves = None;
                clear_line_results(doc);
                doc.invalidate();
                return;
            }
            OpsRequest::MaskFromRoi | OpsRequest::CropToRoi => {
                let Some(shape) = doc
                    .selected_roi
                    .and_then(|i| doc.rois.get(i))
                    .map(|r| r.shape.clone())
                else {
                    return self.error("select a ROI first");
                };
                let (w, h) = doc.size();
                if matches!(request, OpsRequest::MaskFromRoi) {
                    let mask = mask_from_shape(&shape, w, h);
                    self.apply_ops(OpsResult::Mask(mask));
                    return;
                }
                let Some(rect) = bounding_rect(&shape, w, h) else {
                    return self.error("the ROI lies outside the image");
                };
                let meta = doc.stack.meta().clone();
                Task::spawn("cropping", ctx, move |_| {
                    let view = crop(stack.view(), None, Some(rect)).map_err(|e| e.to_string())?;
                    Ok(OpsResult::Stack(FrameStack::from_array(
                        view.to_owned(),
                        meta,
                    )))
                })
            }
            OpsRequest::MaskFromFile(path) => {
                let (w, h) = doc.size();
                Task::spawn("reading the mask", ctx, move |_| {
                    mask_from_image(&path, w, h)
                        .map(OpsResult::Mask)
                        .map_err(|e| e.to_string())
                })
            }
            OpsRequest::SaveCurves => {
                return self.save_curves();
            }
            OpsRequest::SaveLayer => {
                return self.save_layer();
            }
        };
        if let Some((_, old)) = self.ops_task.replace((id, task)) {
            old.cancel();
        }
    }

    /// Starts curves for the current ROIs when they changed, and the kymograph for a new line.
    fn schedule_background(&mut self, ctx: &egui::Context) {
        let Some(doc) = &mut self.doc else { return };
        if doc.rois.is_empty() {
            doc.curves = None;
            if let Some((_, _, t)) = self.curves_task.take() {
                t.cancel();
            }
        } else if !doc.curves_current() {
            let shapes = doc.shapes();
            let running_for_these = self
                .curves_task
                .as_ref()
                .is_some_and(|(id, s, _)| *s == shapes && *id == self.doc_id);
            if !running_for_these {
                if let Some((_, _, t)) = self.curves_task.take() {
                    t.cancel();
                }
                let stack = doc.stack.clone();
                let normalizer = doc.normalizer.clone();
                let mask = doc.mask.clone();
                let for_task = shapes.clone();
                let task = Task::spawn("ROI curves", ctx, move |job| {
                    let mask = mask.as_ref().map(|m| m.view());
                    let curves = match &normalizer {
                        Some(n) => roi_curves_f32(
                            n.frames(stack.view()),
                            (stack.width(), stack.height()),
                            &for_task,
                            mask,
                            false,
                            job,
                        ),
                        None => roi_curves(stack.view(), &for_task, mask, false, job),
                    };
                    curves.map(|c| (for_task, c)).map_err(|e| e.to_string())
                });
                self.curves_task = Some((self.doc_id, shapes, task));
            }
        }
        if let Some(line) = &doc.line
            && line.kymograph.is_none()
            && self.kymo_task.is_none()
        {
            let spec = line.spec.clone();
            let stack = doc.stack.clone();
            let normalizer = doc.normalizer.clone();
            let task = Task::spawn("kymograph", ctx, move |job| {
                let kymo = match &normalizer {
                    Some(n) => kymograph_f32(n.frames(stack.view()), &spec, job),
                    None => kymograph(stack.view(), &spec, job),
                }
                .map_err(|e| e.to_string())?;
                let env = envelope(&kymo, None);
                Ok((spec, kymo, env))
            });
            self.kymo_task = Some((self.doc_id, task));
        }
    }

    fn save_curves(&mut self) {
        let Some(doc) = &self.doc else { return };
        let Some((_, curves)) = doc.curves.as_ref().filter(|_| doc.curves_current()) else {
            return self.error("the curves are still being computed");
        };
        let frames: Vec<usize> = (0..doc.len()).collect();
        let times: Option<Vec<f64>> = doc.stack.meta().fps.map(|_| {
            frames
                .iter()
                .filter_map(|&i| doc.stack.meta().frame_time_secs(i))
                .collect()
        });
        let csv = curves_csv(curves, &frames, times.as_deref(), false);
        let Some(path) = dialog(self.settings.last_dir.as_ref())
            .add_filter("CSV", &["csv"])
            .set_file_name("roi_curves.csv")
            .save_file()
        else {
            return;
        };
        // The save dialog has asked about replacing a file; the stack itself is never replaced.
        let source = doc.stack.meta().source.clone();
        match output::write_bytes(&path, &[&source], true, csv.as_bytes()) {
            Ok(_) => self.info(format!("saved {}", path.display())),
            Err(e) => self.error(e.to_string()),
        }
    }

    fn save_layer(&mut self) {
        let Some(layer) = self.doc.as_ref().and_then(|d| d.layer.as_ref()) else {
            return;
        };
        let Some(path) = dialog(self.settings.last_dir.as_ref())
            .add_filter("image or array", &["png", "tif", "npy"])
            .set_file_name("reduced.png")
            .save_file()
        else {
            return;
        };
        let source = self.doc.as_ref().map(|d| d.stack.meta().source.clone());
        let inputs: Vec<&std::path::Path> = source.iter().map(|p| p.as_path()).collect();
        match save_image(
            &path,
            layer.image.view(),
            Some(layer.mapping),
            &inputs,
            true,
        ) {
            Ok(_) => self.info(format!("saved {}", path.display())),
            Err(e) => self.error(e.to_string()),
        }
    }

    fn plot_request(&mut self, request: PlotRequest) {
        let Some(doc) = &mut self.doc else { return };
        match request {
            PlotRequest::Seek(frame) => doc.set_frame(frame),
            PlotRequest::SaveProfileCsv => {
                let Some(line) = &doc.line else { return };
                let Some(env) = &line.envelope else {
                    return self.error("the envelope is still being computed");
                };
                let samples = line.spec.samples();
                let Some(current) = doc.current_profile(&line.spec, &samples) else {
                    return;
                };
                let csv = profile_csv(&samples, &current, env);
                if let Some(path) = dialog(self.settings.last_dir.as_ref())
                    .add_filter("CSV", &["csv"])
                    .set_file_name("profile.csv")
                    .save_file()
                {
                    let source = doc.stack.meta().source.clone();
                    match output::write_bytes(&path, &[&source], true, csv.as_bytes()) {
                        Ok(_) => self.info(format!("saved {}", path.display())),
                        Err(e) => self.error(e.to_string()),
                    }
                }
            }
            PlotRequest::SaveKymograph => {
                let Some(kymo) = doc.line.as_ref().and_then(|l| l.kymograph.as_ref()) else {
                    return self.error("the kymograph is still being computed");
                };
                if let Some(path) = dialog(self.settings.last_dir.as_ref())
                    .add_filter("image or array", &["png", "tif", "npy"])
                    .set_file_name("kymograph.png")
                    .save_file()
                {
                    let mapping = DisplayMapping::automatic(kymo.view());
                    let source = doc.stack.meta().source.clone();
                    match save_image(&path, kymo.view(), Some(mapping), &[&source], true) {
                        Ok(_) => self.info(format!("saved {}", path.display())),
                        Err(e) => self.error(e.to_string()),
                    }
                }
            }
        }
    }

    fn keyboard(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let Some(doc) = &mut self.doc else { return };
        let n = doc.len();
        ctx.input(|i| {
            let big = if i.modifiers.shift { 10 } else { 1 };
            if i.key_pressed(Key::ArrowRight) {
                doc.set_frame(doc.frame.saturating_add(big));
            }
            if i.key_pressed(Key::ArrowLeft) {
                doc.set_frame(doc.frame.saturating_sub(big));
            }
            if i.key_pressed(Key::Home) {
                doc.set_frame(0);
            }
            if i.key_pressed(Key::End) {
                doc.set_frame(n.saturating_sub(1));
            }
        });
        let (space, fit, one, plus, minus, help, export) = ctx.input(|i| {
            (
                i.key_pressed(Key::Space),
                i.key_pressed(Key::F),
                i.key_pressed(Key::Num1),
                i.key_pressed(Key::Plus) || i.key_pressed(Key::Equals),
                i.key_pressed(Key::Minus),
                i.key_pressed(Key::F1),
                i.modifiers.command && i.key_pressed(Key::E),
            )
        });
        if space {
            self.toggle_play();
        }
        if fit {
            self.viewer.fit();
        }
        if one {
            self.viewer.one_to_one();
        }
        if plus {
            self.viewer.zoom_by(1.25);
        }
        if minus {
            self.viewer.zoom_by(0.8);
        }
        if help {
            self.show_help = !self.show_help;
        }
        if export {
            self.export.open = true;
        }
        let tools = ctx.input(|i| {
            [Key::S, Key::R, Key::O, Key::P, Key::X, Key::L]
                .iter()
                .position(|k| i.key_pressed(*k) && !i.modifiers.command)
        });
        if let Some(t) = tools {
            self.viewer.tool = Tool::ALL[t];
            self.viewer.cancel_drawing();
        }
    }

    fn toggle_play(&mut self) {
        self.playing = !self.playing;
        self.play_from = None;
        // The overlay then measures playback alone, not the idle time before it.
        self.frame_times.clear();
    }

    fn advance_playback(&mut self, ctx: &egui::Context) {
        if !self.playing {
            return;
        }
        let Some(doc) = &mut self.doc else { return };
        let fps = self.settings.playback_fps.max(0.1);
        let now = Instant::now();
        let (t0, f0) = *self.play_from.get_or_insert((now, doc.frame));
        let n = doc.len();
        let target = f0 + ((now - t0).as_secs_f64() * fps) as usize;
        if target >= n {
            if self.settings.looping {
                doc.set_frame(0);
                self.play_from = Some((now, 0));
            } else {
                doc.set_frame(n - 1);
                self.playing = false;
            }
        } else {
            doc.set_frame(target);
        }
        ctx.request_repaint();
    }

    fn menu_bar(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open…").clicked() {
                    self.open_dialog(String::new());
                }
                if ui.button("Open folder…").clicked()
                    && let Some(p) = dialog(self.settings.last_dir.as_ref()).pick_folder()
                {
                    self.open_dialog(p.display().to_string());
                }
                if ui.button("Open file…").clicked()
                    && let Some(p) = dialog(self.settings.last_dir.as_ref()).pick_file()
                {
                    self.open_dialog(p.display().to_string());
                }
                ui.menu_button("Recent", |ui| {
                    if self.settings.recent.is_empty() {
                        ui.label("nothing yet");
                    }
                    for p in self.settings.recent.clone() {
                        if ui.button(p.display().to_string()).clicked() {
                            self.open_dialog(p.display().to_string());
                        }
                    }
                });
                ui.separator();
                if ui
                    .add_enabled(self.doc.is_some(), egui::Button::new("Export MP4…"))
                    .clicked()
                {
                    self.export.open = true;
                }
                if ui.button("Audio to video…").clicked() {
                    self.audio.open = true;
                }
                if ui.button("Analyzers…").clicked() {
                    self.analyzers.open = true;
                }
                ui.separator();
                if ui.button("Quit").clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("View", |ui| {
                if ui.button("Fit (F)").clicked() {
                    self.viewer.fit();
                }
                if ui.button("1:1 (1)").clicked() {
                    self.viewer.one_to_one();
                }
                ui.checkbox(&mut self.settings.show_colorbar, "Colorbar");
                ui.checkbox(&mut self.show_frame_time, "Frame-time overlay");
                if ui.button("Load report").clicked() {
                    self.show_report = true;
                }
            });
            ui.menu_button("Help", |ui| {
                if ui.button("Keyboard shortcuts (F1)").clicked() {
                    self.show_help = true;
                }
            });
            ui.separator();
            for tool in Tool::ALL {
                if ui
                    .selectable_label(self.viewer.tool == tool, tool.name())
                    .on_hover_text(tool.hint())
                    .clicked()
                {
                    self.viewer.tool = tool;
                    self.viewer.cancel_drawing();
                }
            }
            if self.viewer.tool == Tool::Line {
                ui.label("width");
                ui.add(egui::DragValue::new(&mut self.viewer.line_width).range(1..=100));
            }
            ui.separator();
            if ui
                .add_enabled(self.doc.is_some(), egui::Button::new("Export…"))
                .clicked()
            {
                self.export.open = true;
            }
            if ui
                .button("Analyze…")
                .on_hover_text("text, objects, scenes, speech")
                .clicked()
            {
                self.analyzers.open = true;
            }
        });
    }

    fn timeline(&mut self, ui: &mut egui::Ui) {
        let Some(doc) = &mut self.doc else { return };
        let n = doc.len();
        let mut play = false;
        ui.horizontal(|ui| {
            let label = if self.playing { "Pause" } else { "Play" };
            if ui
                .button(label)
                .on_hover_text("play / pause (Space)")
                .clicked()
            {
                play = true;
            }
            let mut frame = doc.frame;
            let name = ui.label("Frame").id;
            ui.add(egui::DragValue::new(&mut frame).range(0..=n.saturating_sub(1)))
                .labelled_by(name);
            ui.label(format!("frame {} / {}", doc.frame, n));
            let width = (ui.available_width() - 260.0).max(100.0);
            ui.spacing_mut().slider_width = width;
            ui.add(egui::Slider::new(&mut frame, 0..=n.saturating_sub(1)).show_value(false))
                .labelled_by(name);
            if frame != doc.frame {
                doc.set_frame(frame);
                self.play_from = None;
            }
            ui.add(
                egui::DragValue::new(&mut self.settings.playback_fps)
                    .range(0.1..=1000.0)
                    .suffix(" fps"),
            );
            ui.checkbox(&mut self.settings.looping, "loop");
            if let Some(t) = doc.stack.meta().frame_time_secs(doc.frame) {
                ui.label(format!("{t:.3} s"));
            }
        });
        if play {
            self.toggle_play();
        }
    }

    /// The analysis results as tracks under the timeline; a time to seek to when clicked.
    fn analysis_tracks(&self, ui: &mut egui::Ui) -> Option<f64> {
        let doc = self.doc.as_ref()?;
        let results = self.analyzers.results_for(self.doc_id);
        if results.is_empty() {
            return None;
        }
        let meta = doc.stack.meta();
        let last = doc.len().saturating_sub(1);
        let step = if last > 0 {
            (stack_time(meta, last) - stack_time(meta, 0)) / last as f64
        } else {
            1.0
        };
        let duration = results
            .iter()
            .map(|r| r.duration)
            .fold(stack_time(meta, last) + step, f64::max);
        ui.separator();
        egui::ScrollArea::vertical()
            .id_salt("analysis-tracks")
            .max_height(110.0)
            .show(ui, |ui| {
                analyzers_panel::tracks_ui(ui, results, stack_time(meta, doc.frame), duration)
            })
            .inner
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        let gpu_error = self
            .gpu_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(e) = gpu_error {
            ui.colored_label(
                Color32::LIGHT_RED,
                format!("GPU error (the view may be incomplete): {e}"),
            );
        }
        ui.horizontal(|ui| {
            if let Some(doc) = &self.doc {
                let [n, h, w, c] = doc.stack.shape();
                ui.label(format!("{n}×{h}×{w}×{c}"));
                ui.separator();
                ui.label(doc.memory_text());
                ui.separator();
                let shrink = doc.texture_shrink();
                if shrink > 1 {
                    // Larger than the GPU's texture limit: drawn from a smaller copy.
                    ui.label(format!(
                        "zoom {:.0} % (shown downscaled 1/{shrink}: wider than the GPU's texture limit)",
                        self.viewer.shown_zoom * 100.0
                    ));
                } else {
                    ui.label(format!("zoom {:.0} %", self.viewer.shown_zoom * 100.0));
                }
                if let Some((x, y)) = self.viewer.hover
                    && let Some((raw, shown)) = doc.pixel(x, y)
                {
                    ui.separator();
                    let raw: Vec<String> = raw.iter().map(u8::to_string).collect();
                    let shown: Vec<String> = shown.iter().map(|v| format!("{v:.4}")).collect();
                    let value = if doc.transformed() || doc.showing_layer() {
                        format!("raw {}, shown {}", raw.join(","), shown.join(","))
                    } else {
                        raw.join(",")
                    };
                    ui.label(format!("x {x} y {y}: {value}"));
                }
                ui.separator();
            }
            for (label, job) in self.background_jobs() {
                progress_row(ui, label, job);
            }
            if let Some((message, is_error)) = &self.status {
                if *is_error {
                    ui.colored_label(ui.visuals().error_fg_color, message);
                } else {
                    ui.label(message);
                }
            }
        });
    }

    fn welcome(&mut self, ui: &mut egui::Ui) {
        ui.vertical_centered(|ui| {
            ui.add_space(ui.available_height() / 4.0);
            ui.heading("stackscope");
            ui.label("Open a folder of images, a video, a .npy file or a multi-page TIFF,");
            ui.label("or drop one onto this window.");
            ui.add_space(8.0);
            if ui.button("Open…").clicked() {
                self.open_dialog(String::new());
            }
            if let Some(task) = &self.loading {
                progress_row(ui, &task.label, task.job());
            }
            if !self.settings.recent.is_empty() {
                ui.add_space(12.0);
                ui.label("Recent");
                for p in self.settings.recent.clone() {
                    if ui.link(p.display().to_string()).clicked() {
                        self.open_dialog(p.display().to_string());
                    }
                }
            }
        });
    }

    fn colorbar(&self, ui: &egui::Ui, rect: egui::Rect) {
        let Some(doc) = &self.doc else { return };
        let single = if doc.showing_layer() {
            doc.layer.as_ref().is_some_and(|l| l.image.shape()[2] == 1)
        } else {
            doc.stack.channels() == 1
        };
        if !single || !self.settings.show_colorbar {
            return;
        }
        let m = doc.active_mapping();
        let bar = egui::Rect::from_min_size(
            rect.right_top() + egui::vec2(-34.0, 30.0),
            egui::vec2(14.0, (rect.height() - 60.0).max(40.0)),
        );
        let painter = ui.painter_at(rect);
        let steps = 64;
        for i in 0..steps {
            let t = i as f64 / (steps - 1) as f64;
            let [r, g, b] = m.colormap.color(t);
            let y0 = bar.bottom() - bar.height() * (i + 1) as f32 / steps as f32;
            let y1 = bar.bottom() - bar.height() * i as f32 / steps as f32;
            painter.rect_filled(
                egui::Rect::from_x_y_ranges(bar.x_range(), y0..=y1),
                0.0,
                Color32::from_rgb(r, g, b),
            );
        }
        painter.rect_stroke(bar, 0.0, (1.0, Color32::GRAY), egui::StrokeKind::Outside);
        for (v, y, align) in [
            (m.max, bar.top(), egui::Align2::RIGHT_TOP),
            (m.min, bar.bottom(), egui::Align2::RIGHT_BOTTOM),
        ] {
            painter.text(
                egui::pos2(bar.left() - 4.0, y),
                align,
                format!("{v:.4}"),
                egui::FontId::monospace(11.0),
                Color32::WHITE,
            );
        }
    }

    /// Mean and worst time between frames and the mean time spent in `ui`, over the last
    /// frames.
    pub fn frame_time_summary(&self) -> String {
        let n = self.frame_times.len().max(1) as f32;
        let (frame, work) = self
            .frame_times
            .iter()
            .fold((0.0, 0.0), |(a, b), (f, w)| (a + f, b + w));
        let worst = self.frame_times.iter().map(|(f, _)| *f).fold(0.0, f32::max);
        format!(
            "frame time {:.1} ms ({:.0} fps), worst {:.1} ms, ui {:.1} ms over {} frames",
            frame / n,
            1000.0 * n / frame.max(1e-3),
            worst,
            work / n,
            self.frame_times.len()
        )
    }

    fn frame_time_overlay(&self, ui: &egui::Ui, rect: egui::Rect) {
        if !self.show_frame_time || self.frame_times.is_empty() {
            return;
        }
        let text = self.frame_time_summary();
        let at = rect.left_top() + egui::vec2(8.0, 8.0);
        let painter = ui.painter_at(rect);
        let galley = painter.layout_no_wrap(text, egui::FontId::monospace(12.0), Color32::WHITE);
        painter.rect_filled(
            egui::Rect::from_min_size(at, galley.size()).expand(4.0),
            3.0,
            Color32::from_black_alpha(180),
        );
        painter.galley(at, galley, Color32::WHITE);
    }

    fn windows(&mut self, ctx: &egui::Context) {
        if let Some(dialog) = &mut self.load_dialog {
            match dialog.ui(ctx, self.settings.last_dir.as_ref()) {
                LoadAction::None => {}
                LoadAction::Close => self.load_dialog = None,
                LoadAction::Load(path, options) => {
                    self.settings.load = dialog.form.clone();
                    self.load_dialog = None;
                    self.load(ctx, path, options);
                }
            }
        }
        if self.export.open
            && let Some(doc) = &self.doc
        {
            self.export.ui(
                ctx,
                doc,
                &mut self.settings.export,
                self.settings.last_dir.as_ref(),
            );
        } else {
            self.export.poll();
        }
        if self.audio.open {
            self.audio.ui(
                ctx,
                &mut self.settings.audio,
                self.settings.last_dir.as_ref(),
            );
        } else {
            self.audio.poll();
        }
        if self.analyzers.open {
            let doc = self
                .doc
                .as_ref()
                .map(|d| (&d.stack, stack_time(d.stack.meta(), d.frame)));
            let action = self.analyzers.ui(
                ctx,
                &mut self.settings.analyze,
                (self.doc_id, doc.map(|d| d.0), doc.map_or(0.0, |d| d.1)),
                self.settings.last_dir.as_ref(),
            );
            if let PanelAction::Seek(t) = action {
                self.seek_time(t);
            }
        } else {
            self.analyzers.poll();
        }
        if self.show_report
            && let Some(doc) = &self.doc
        {
            let report = doc.report.to_string();
            let guard = doc.report.guard_message();
            egui::Window::new("Load report")
                .open(&mut self.show_report)
                .show(ctx, |ui| {
                    if let Some(g) = guard {
                        ui.colored_label(ui.visuals().warn_fg_color, g);
                    }
                    egui::ScrollArea::vertical()
                        .max_height(300.0)
                        .show(ui, |ui| {
                            ui.monospace(report);
                        });
                });
        }
        egui::Window::new("Keyboard shortcuts")
            .open(&mut self.show_help)
            .show(ctx, |ui| {
                egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                    for (keys, what) in SHORTCUTS {
                        ui.monospace(*keys);
                        ui.label(*what);
                        ui.end_row();
                    }
                });
            });
    }

    fn dropped_files(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|i| {
            i.raw
                .dropped_files
                .first()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
        });
        if let Some(path) = dropped {
            self.open_dialog(path.display().to_string());
        }
    }
}

const SHORTCUTS: &[(&str, &str)] = &[
    ("Left / Right", "previous / next frame"),
    ("Shift + Left / Right", "10 frames back / forward"),
    ("Home / End", "first / last frame"),
    ("Space", "play / pause"),
    ("F", "fit the image to the view"),
    ("1", "zoom 1:1"),
    ("+ / −, wheel", "zoom in / out"),
    ("middle drag", "pan (or drag empty space with Select)"),
    (
        "S R O P X L",
        "tools: select, rectangle, ellipse, polygon, probe, line",
    ),
    ("Enter / Esc", "finish / cancel a polygon or line"),
    ("Delete", "remove the selected ROI"),
    ("Ctrl + E", "export MP4"),
    ("F1", "this list"),
];

fn clear_line_results(doc: &mut Document) {
    if let Some(line) = &mut doc.line {
        line.kymograph = None;
        line.envelope = None;
    }
}

fn short_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn frame_range(start: &str, end: &str, frames: usize) -> Result<std::ops::Range<usize>, String> {
    let parse = |t: &str, default: usize| -> Result<usize, String> {
        let t = t.trim();
        if t.is_empty() {
            Ok(default)
        } else {
            t.parse()
                .map_err(|_| format!("'{t}' is not a frame number"))
        }
    };
    let (s, e) = (parse(start, 0)?, parse(end, frames)?.min(frames));
    if s >= e {
        return Err(format!("the range {s}..{e} holds no frames"));
    }
    Ok(s..e)
}

/// Levels for a reduction result: the data range, diverging for signed data.
fn layer_mapping(op: ReduceOp, image: &Array3<f32>) -> DisplayMapping {
    let mut m = DisplayMapping::automatic(image.view());
    if matches!(
        op,
        ReduceOp::Mean | ReduceOp::Max | ReduceOp::Min | ReduceOp::Median
    ) && m.min >= 0.0
        && m.max <= 255.0
        && m.colormap != crate::display::Colormap::Diverging
    {
        // Byte-valued results keep the stack's scale, so a layer compares with the frames.
        m.min = 0.0;
        m.max = 255.0;
    }
    m
}

/// The pixel rectangle covering a shape, clipped to the image.
fn bounding_rect(shape: &Shape, w: usize, h: usize) -> Option<Rect> {
    let mask = mask_from_shape(shape, w, h);
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for ((y, x), &keep) in mask.indexed_iter() {
        if keep {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    (x0 <= x1).then(|| Rect {
        x: x0,
        y: y0,
        width: x1 - x0 + 1,
        height: y1 - y0 + 1,
    })
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let started = Instant::now();
        let ctx = ui.ctx().clone();
        if let Some(last) = self.last_frame.replace(started) {
            let dt = (started - last).as_secs_f32() * 1000.0;
            if self.frame_times.len() == FRAME_TIMES {
                self.frame_times.pop_front();
            }
            self.frame_times.push_back((dt, 0.0));
        }
        self.poll_tasks(&ctx);
        self.dropped_files(&ctx);
        self.keyboard(&ctx);
        self.advance_playback(&ctx);
        if let Some(doc) = &mut self.doc {
            // Render before the panels, so plots and readouts see this frame's values.
            doc.texture(&ctx);
            if let Some(started) = self.first_frame_pending.take() {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                let opened = self
                    .status
                    .as_ref()
                    .map_or(String::new(), |(s, _)| s.clone());
                self.info(format!("{opened}; first frame on screen after {ms:.0} ms"));
            }
        }

        egui::Panel::top("menu").show(ui, |ui| self.menu_bar(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        if self.doc.is_some() {
            egui::Panel::bottom("timeline-plots")
                .resizable(true)
                .default_size(260.0)
                .min_size(200.0)
                .show(ui, |ui| {
                    self.timeline(ui);
                    if let Some(t) = self.analysis_tracks(ui) {
                        self.seek_time(t);
                    }
                    ui.separator();
                    let busy = self.curves_task.is_some() || self.kymo_task.is_some();
                    if let Some(doc) = &self.doc
                        && let Some(request) = self.plots.ui(ui, doc, busy)
                    {
                        self.plot_request(request);
                    }
                });
            egui::Panel::left("ops")
                .resizable(true)
                .default_size(270.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| {
                        let Some(doc) = &mut self.doc else { return };
                        let request =
                            ops_panel::ui(ui, &mut self.ops, doc, &mut self.settings.show_colorbar);
                        if doc.stack.channels() == 1 && !doc.showing_layer() {
                            self.settings.colormap = doc.mapping.colormap.name().into();
                        }
                        if let Some(request) = request {
                            self.start_ops(ui.ctx(), request);
                        }
                    });
                });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(doc) = &mut self.doc {
                let rect = ui.max_rect();
                let changes = self.viewer.show(ui, doc);
                let results = self.analyzers.results_for(self.doc_id);
                if let Some(image) = self.viewer.image_rect
                    && !results.is_empty()
                {
                    analyzers_panel::paint_on_frame(
                        &ui.painter_at(rect),
                        results,
                        stack_time(doc.stack.meta(), doc.frame),
                        image,
                        doc.size(),
                    );
                }
                if changes.line
                    && let Some((_, t)) = self.kymo_task.take()
                {
                    t.cancel();
                }
                self.colorbar(ui, rect);
                self.frame_time_overlay(ui, rect);
            } else {
                self.welcome(ui);
            }
        });
        self.windows(&ctx);
        self.schedule_background(&ctx);
        if self.busy() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
        if let Some(last) = self.frame_times.back_mut() {
            last.1 = started.elapsed().as_secs_f32() * 1000.0;
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if std::env::var_os("STACKSCOPE_FRAME_TIME").is_some() {
            eprintln!("{}", self.frame_time_summary());
        }
        for (_, job) in self.background_jobs() {
            job.cancel();
        }
        if let Some(task) = &self.export.task {
            task.cancel();
        }
        if let Some(task) = &self.audio.task {
            task.cancel();
        }
        self.analyzers.cancel();
        // An export must get the chance to remove its partial file before the process ends.
        if let Some(task) = &mut self.export.task {
            let _ = task.wait(Duration::from_secs(10));
        }
        if let Some(task) = &mut self.audio.task {
            let _ = task.wait(Duration::from_secs(10));
        }
    }
}
