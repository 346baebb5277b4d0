//! The load dialog: path, loader options, a RAM estimate that follows the options, and a
//! preview (first frame, or the maximum over a sample of frames), all probed off the UI
//! thread.

use std::path::PathBuf;

use eframe::egui;

use crate::display::DisplayMapping;
use crate::gui::command::Command;
use crate::gui::forms::LoadForm;
use crate::gui::task::{Poll, Task};
use crate::load::cache::Cache;
use crate::load::{self, CacheChoice, FrameRange, LoadOptions, Probe, human_bytes};
use crate::ops::{ReduceOp, reduce};

/// Frames the "max over a sample" preview reads.
const PREVIEW_SAMPLE: usize = 8;

/// A frame cache folder's entries and bytes, or why they could not be read.
type CacheSummary = Result<(usize, u64), String>;

pub struct LoadDialog {
    pub path: String,
    pub form: LoadForm,
    probe: Option<Result<Probe, String>>,
    probing: Option<Task<Result<Probe, String>>>,
    probed_path: String,
    max_preview: bool,
    sampling: Option<Task<Result<Vec<u8>, String>>>,
    preview: Option<egui::TextureHandle>,
    preview_error: Option<String>,
    /// The frame cache folder the form names, and its entries and bytes (read when the
    /// folder changes, not every frame).
    cache_summary: Option<(PathBuf, CacheSummary)>,
}

impl LoadDialog {
    pub fn new(path: String, form: LoadForm) -> Self {
        Self {
            path,
            form,
            probe: None,
            probing: None,
            probed_path: String::new(),
            max_preview: false,
            sampling: None,
            preview: None,
            preview_error: None,
            cache_summary: None,
        }
    }

    /// Reads the cache folder's size again (after a clear).
    pub fn refresh_cache(&mut self) {
        self.cache_summary = None;
    }

    fn cache_summary(&mut self) -> Option<&(PathBuf, CacheSummary)> {
        let dir = self.form.cache_choice().ok()?.dir()?;
        if self.cache_summary.as_ref().is_none_or(|(d, _)| *d != dir) {
            let summary = Cache::new(&dir, None)
                .entries()
                .map(|e| (e.len(), e.iter().map(|e| e.bytes).sum()))
                .map_err(|e| e.to_string());
            self.cache_summary = Some((dir, summary));
        }
        self.cache_summary.as_ref()
    }

    fn start_probe(&mut self, ctx: &egui::Context) {
        let path = PathBuf::from(self.path.trim());
        self.probed_path = self.path.clone();
        self.probe = None;
        self.preview = None;
        self.preview_error = None;
        self.max_preview = false;
        if let Some(old) = self.probing.take() {
            old.cancel();
        }
        if self.path.trim().is_empty() {
            return;
        }
        self.probing = Some(Task::spawn("probing", ctx, move |job| {
            load::probe(&path, job).map_err(|e| e.to_string())
        }));
    }

    fn start_sample(&mut self, ctx: &egui::Context) {
        let path = PathBuf::from(self.path.trim());
        let found = match &self.probe {
            Some(Ok(p)) => p.frames_found,
            _ => return,
        };
        let options = LoadOptions {
            range: FrameRange::default(),
            step: (found / PREVIEW_SAMPLE).max(1),
            cache: CacheChoice::Off,
            ..LoadOptions::default()
        };
        self.sampling = Some(Task::spawn("sampling frames", ctx, move |job| {
            let loaded = load::load(&path, &options, job).map_err(|e| e.to_string())?;
            let max =
                reduce(loaded.stack.view(), ReduceOp::Max, None, job).map_err(|e| e.to_string())?;
            Ok(DisplayMapping::default().rgba_from_f32(max.view()))
        }));
    }

    fn set_preview(&mut self, ctx: &egui::Context, rgba: &[u8], w: usize, h: usize) {
        let image = egui::ColorImage::from_rgba_unmultiplied([w, h], rgba);
        let (image, _) = crate::gui::texture::fit(ctx, image);
        self.preview = Some(ctx.load_texture("load-preview", image, Default::default()));
    }

    fn poll(&mut self, ctx: &egui::Context) {
        if let Some(task) = &mut self.probing {
            match task.poll() {
                Poll::Running => {}
                Poll::Done(result) => {
                    if let Ok(p) = &result
                        && let Some(frame) = p.first.frame(0)
                    {
                        let rgba = DisplayMapping::default().rgba_from_u8(frame);
                        let (w, h) = (p.geometry.width, p.geometry.height);
                        self.set_preview(ctx, &rgba, w, h);
                    }
                    self.probe = Some(result);
                    self.probing = None;
                }
                Poll::Lost(e) => {
                    self.probe = Some(Err(e));
                    self.probing = None;
                }
            }
        }
        if let Some(task) = &mut self.sampling {
            match task.poll() {
                Poll::Running => {}
                Poll::Done(Ok(rgba)) => {
                    self.sampling = None;
                    if let Some(Ok(p)) = &self.probe {
                        let (w, h) = (p.geometry.width, p.geometry.height);
                        self.set_preview(ctx, &rgba, w, h);
                    }
                }
                Poll::Done(Err(e)) | Poll::Lost(e) => {
                    self.sampling = None;
                    self.preview_error = Some(e);
                }
            }
        }
    }

    /// The dialog; Load and Cancel become commands. Its probe and preview run on tasks of
    /// its own, cancelled when the dialog goes (they only ever serve this dialog).
    pub fn ui(&mut self, ctx: &egui::Context, last_dir: Option<&PathBuf>, out: &mut Vec<Command>) {
        self.poll(ctx);
        if self.probed_path != self.path && self.probing.is_none() {
            self.start_probe(ctx);
        }
        let mut open = true;
        egui::Window::new("Open stack")
            .open(&mut open)
            .collapsible(false)
            .default_width(520.0)
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    ui.label("Path");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.path)
                            .desired_width(300.0)
                            .id_salt("load-path"),
                    );
                    if ui.button("Folder…").clicked()
                        && let Some(p) = dialog(last_dir).pick_folder()
                    {
                        self.path = p.display().to_string();
                    }
                    if ui.button("File…").clicked()
                        && let Some(p) = dialog(last_dir).pick_file()
                    {
                        self.path = p.display().to_string();
                    }
                });
                ui.separator();
                self.options_ui(ui, out);
                ui.separator();
                let options = self.form.options();
                self.estimate_ui(ui, &options);
                ui.separator();
                ui.horizontal(|ui| {
                    let ready = matches!(self.probe, Some(Ok(_))) && options.is_ok();
                    if ui.add_enabled(ready, egui::Button::new("Load")).clicked()
                        && let Ok(options) = options
                    {
                        out.push(Command::Open {
                            path: PathBuf::from(self.path.trim()),
                            options,
                            form: Some(self.form.clone()),
                        });
                    }
                    if ui.button("Cancel").clicked() {
                        out.push(Command::CloseLoadDialog);
                    }
                });
            });
        if !open {
            out.push(Command::CloseLoadDialog);
        }
    }

    fn options_ui(&mut self, ui: &mut egui::Ui, out: &mut Vec<Command>) {
        let f = &mut self.form;
        egui::Grid::new("load-options")
            .num_columns(2)
            .show(ui, |ui| {
                ui.label("Frames");
                ui.horizontal(|ui| {
                    crate::gui::task::range_fields(ui, &mut f.start, &mut f.end, "end");
                    ui.label("step");
                    ui.add(egui::DragValue::new(&mut f.step).range(1..=10_000));
                });
                ui.end_row();
                ui.label("Subset");
                ui.add(egui::Slider::new(&mut f.subset, 0.01..=1.0).text("ratio of frames"));
                ui.end_row();
                ui.label("Resize");
                ui.add(
                    egui::TextEdit::singleline(&mut f.resize)
                        .desired_width(120.0)
                        .hint_text("0.5 or 640x480"),
                );
                ui.end_row();
                ui.label("Crop");
                ui.add(
                    egui::TextEdit::singleline(&mut f.crop)
                        .desired_width(120.0)
                        .hint_text("X,Y,W,H"),
                );
                ui.end_row();
                ui.label("Grayscale");
                ui.checkbox(&mut f.grayscale, "convert to one channel");
                ui.end_row();
                ui.label("RAM limit");
                ui.add(
                    egui::TextEdit::singleline(&mut f.max_ram)
                        .desired_width(120.0)
                        .hint_text("60% of available"),
                );
                ui.end_row();
                ui.label("Frame cache")
                    .on_hover_text("Where frames over the RAM limit go: decoded once to a file and read from disk, or (off) thinned to fit");
                ui.horizontal(|ui| {
                    ui.radio_value(&mut f.cache, "auto".to_string(), "auto");
                    ui.radio_value(&mut f.cache, "off".to_string(), "off");
                    ui.radio_value(&mut f.cache, "folder".to_string(), "folder");
                    if f.cache == "folder" {
                        ui.add(
                            egui::TextEdit::singleline(&mut f.cache_dir)
                                .desired_width(160.0)
                                .hint_text("cache folder"),
                        );
                    }
                });
                ui.end_row();
            });
        self.cache_ui(ui, out);
    }

    /// The cache folder's size, with a button that empties it.
    fn cache_ui(&mut self, ui: &mut egui::Ui, out: &mut Vec<Command>) {
        let Some((dir, summary)) = self.cache_summary() else {
            return;
        };
        let dir = dir.clone();
        match summary {
            Ok((entries, bytes)) => {
                let (entries, bytes) = (*entries, *bytes);
                ui.horizontal(|ui| {
                    let noun = if entries == 1 { "entry" } else { "entries" };
                    if ui
                        .add_enabled(entries > 0, egui::Button::new("Clear"))
                        .on_hover_text("Remove every entry; stacks open now stay open")
                        .clicked()
                    {
                        out.push(Command::ClearCache(dir.clone()));
                    }
                    // Truncated (the whole line on hover) so a long folder does not widen
                    // the dialog.
                    ui.add(
                        egui::Label::new(format!(
                            "frame cache: {entries} {noun}, {} in {}",
                            human_bytes(bytes),
                            dir.display()
                        ))
                        .truncate(),
                    );
                });
            }
            Err(e) => {
                ui.colored_label(ui.visuals().warn_fg_color, e.clone());
            }
        }
    }

    fn estimate_ui(&mut self, ui: &mut egui::Ui, options: &Result<LoadOptions, String>) {
        if self.probing.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("reading the first frame…");
            });
            return;
        }
        let probe = match &self.probe {
            None => {
                ui.label("Type or choose a folder, video, .npy or TIFF.");
                return;
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                return;
            }
            Some(Ok(p)) => p,
        };
        ui.label(format!(
            "{:?}: {} frames of {}×{}×{}",
            probe.kind,
            probe.frames_found,
            probe.geometry.width,
            probe.geometry.height,
            probe.geometry.channels
        ));
        match options
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|o| load::estimate(probe, o).map_err(|e| e.to_string()))
        {
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            Ok(e) => {
                ui.label(format!(
                    "loads {} frames of {}×{}×{}: {} (limit {})",
                    e.frames_loaded,
                    e.geometry.width,
                    e.geometry.height,
                    e.geometry.channels,
                    human_bytes(e.loaded_bytes()),
                    human_bytes(e.limit_bytes),
                ));
                if probe.kind == crate::stack::SourceKind::Npy && !options_reshape(options) {
                    ui.label("the .npy file is memory-mapped: it stays on disk");
                } else if e.to_cache {
                    ui.label(format!(
                        "over the RAM limit: every frame is decoded once to the frame cache \
                         ({} on disk) and read from there",
                        human_bytes(e.wanted_bytes)
                    ));
                } else if e.extra_step > 1 {
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        format!(
                            "memory guard: {} selected frames need {}; one in {} will be loaded",
                            e.frames_selected,
                            human_bytes(e.wanted_bytes),
                            e.extra_step
                        ),
                    );
                }
            }
        }
        ui.horizontal(|ui| {
            let before = self.max_preview;
            ui.radio_value(&mut self.max_preview, false, "first frame");
            ui.radio_value(
                &mut self.max_preview,
                true,
                format!("max over {PREVIEW_SAMPLE} frames"),
            );
            if self.max_preview != before {
                if self.max_preview {
                    self.start_sample(ui.ctx());
                } else if let Some(Ok(p)) = &self.probe
                    && let Some(frame) = p.first.frame(0)
                {
                    let rgba = DisplayMapping::default().rgba_from_u8(frame);
                    let (w, h) = (p.geometry.width, p.geometry.height);
                    self.set_preview(ui.ctx(), &rgba, w, h);
                }
            }
            if self.sampling.is_some() {
                ui.spinner();
            }
        });
        if let Some(e) = &self.preview_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        if let Some(texture) = &self.preview {
            let size = texture.size_vec2();
            let scale = (480.0 / size.x).min(240.0 / size.y).min(4.0);
            ui.image((texture.id(), size * scale));
        }
    }
}

fn options_reshape(options: &Result<LoadOptions, String>) -> bool {
    options.as_ref().is_ok_and(|o| o.reshapes())
}

/// A native file dialog starting in the last folder used.
pub fn dialog(last_dir: Option<&PathBuf>) -> rfd::FileDialog {
    let d = rfd::FileDialog::new();
    match last_dir {
        Some(dir) if dir.is_dir() => d.set_directory(dir),
        _ => d,
    }
}
