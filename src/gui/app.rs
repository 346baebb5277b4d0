//! The frame loop: poll the jobs, collect input, draw the panels, apply the commands they
//! pushed, start the background work the document now needs.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use eframe::egui;

use super::clock::{FrameTimer, Playback};
use super::command::Command;
use super::document::Document;
use super::forms::Settings;
use super::jobs::Jobs;
use super::panels::{self, Panels, View};
use crate::analyze::AnalysisResult;
use crate::load::LoadOptions;

/// The last analysis results and the document they are drawn over (`None`: a file that is
/// not open; they are only listed).
#[derive(Default)]
pub struct Analysis {
    pub results: Vec<AnalysisResult>,
    pub doc: Option<u64>,
}

pub struct App {
    pub(super) settings: Settings,
    pub(super) doc: Option<Document>,
    /// Bumped per opened stack, so late results of a previous stack are dropped.
    pub(super) doc_id: u64,
    pub(super) panels: Panels,
    pub(super) jobs: Jobs,
    pub(super) analysis: Analysis,
    /// What the panels asked for in this frame, applied at its end.
    pub(super) commands: Vec<Command>,
    pub(super) playback: Playback,
    pub(super) timer: FrameTimer,
    /// The status line and whether it is an error.
    pub(super) status: Option<(String, bool)>,
    /// When the last load started, until its first frame is on screen.
    pub(super) first_frame_pending: Option<Instant>,
    /// Results a batch wrote for the clip being opened, drawn over it once it is.
    pub(super) pending_results: Option<Vec<AnalysisResult>>,
    /// The first error the window's GPU device reported (wgpu would panic on it otherwise).
    pub(super) gpu_error: Arc<Mutex<Option<String>>>,
    /// The renderer drawing the window, and why (for the status bar).
    pub(super) renderer: String,
    /// The export's blender, drawing the in-between frames of interpolated playback.
    pub(super) blend_view: Option<super::blend_view::BlendView>,
}

impl App {
    /// The app as eframe creates it; opens `path` at once when given.
    pub fn new(cc: &eframe::CreationContext<'_>, path: Option<PathBuf>, renderer: String) -> Self {
        let settings = cc
            .storage
            .and_then(|s| eframe::get_value::<Settings>(s, eframe::APP_KEY))
            .unwrap_or_default();
        let mut app = Self::with_settings(settings);
        app.renderer = renderer;
        // wgpu's default reaction to a validation or out-of-memory error is a panic; the
        // window keeps running and says what happened instead.
        if let Some(render_state) = &cc.wgpu_render_state {
            let slot = app.gpu_error.clone();
            render_state
                .device
                .on_uncaptured_error(Arc::new(move |e: eframe::wgpu::Error| {
                    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
                    slot.get_or_insert_with(|| e.to_string());
                }));
        }
        // A debug switch for scripts: the overlay on from the start, a summary on exit.
        app.panels.show_frame_time = std::env::var_os("STACKSCOPE_FRAME_TIME").is_some();
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
            panels: Panels::default(),
            jobs: Jobs::default(),
            analysis: Analysis::default(),
            commands: Vec::new(),
            playback: Playback::default(),
            timer: FrameTimer::default(),
            status: None,
            first_frame_pending: None,
            pending_results: None,
            gpu_error: Arc::default(),
            renderer: "wgpu".into(),
            blend_view: None,
        }
    }

    /// Starts loading `path` on a worker; the window stays live and shows progress.
    pub fn load(&mut self, ctx: &egui::Context, path: PathBuf, options: LoadOptions) {
        self.apply(
            ctx,
            Command::Open {
                path,
                options,
                form: None,
            },
        );
    }

    /// Queues a command as a panel would (tests and scripts drive the window this way).
    pub fn push(&mut self, command: Command) {
        self.commands.push(command);
    }

    pub(super) fn error(&mut self, message: impl Into<String>) {
        self.status = Some((message.into(), true));
    }

    pub(super) fn info(&mut self, message: impl Into<String>) {
        self.status = Some((message.into(), false));
    }

    /// Draws every panel; they push commands.
    fn draw(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let results: &[AnalysisResult] = if self.analysis.doc == Some(self.doc_id) {
            &self.analysis.results
        } else {
            &[]
        };
        let Settings {
            recent,
            last_dir,
            export,
            audio,
            analyze,
            batch,
            show_colorbar,
            playback,
            ..
        } = &mut self.settings;
        let view = View {
            doc: self.doc.as_ref(),
            doc_id: self.doc_id,
            jobs: &self.jobs,
            results,
            last_dir: last_dir.as_ref(),
            recent,
            playing: self.playback.playing(),
            show_colorbar: *show_colorbar,
            show_frame_time: self.panels.show_frame_time,
        };
        let out = &mut self.commands;
        let p = &mut self.panels;
        egui::Panel::top("menu").show(ui, |ui| panels::menu_bar::ui(ui, &view, &p.viewer, out));
        egui::Panel::bottom("status").show(ui, |ui| {
            let gpu_error = self
                .gpu_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let blend_device = self.blend_view.as_ref().map(|v| v.device());
            let line = panels::status_bar::Line {
                status: self.status.as_ref(),
                gpu_error: gpu_error.as_deref(),
                renderer: &self.renderer,
                blend_device: blend_device.as_deref(),
            };
            panels::status_bar::ui(ui, &view, &p.viewer, line);
        });
        if let Some(doc) = view.doc {
            egui::Panel::bottom("timeline-plots")
                .resizable(true)
                .default_size(260.0)
                .min_size(200.0)
                .show(ui, |ui| {
                    panels::timeline::ui(ui, &view, doc, playback, out);
                    panels::tracks::timeline_ui(ui, &view, doc, out);
                    ui.separator();
                    p.plots.ui(ui, &view, doc, out);
                });
            egui::Panel::left("ops")
                .resizable(true)
                .default_size(270.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| {
                        p.ops.ui(ui, doc, show_colorbar, out);
                    });
                });
        }
        egui::CentralPanel::default().show(ui, |ui| match view.doc {
            Some(doc) => {
                let overlay =
                    (p.show_frame_time && !self.timer.is_empty()).then(|| self.timer.summary());
                panels::display::ui(
                    ui,
                    &view,
                    doc,
                    &mut p.viewer,
                    view.show_colorbar,
                    overlay,
                    out,
                );
            }
            None => panels::welcome::ui(ui, &view, out),
        });
        if let Some(dialog) = &mut p.load {
            dialog.ui(&ctx, view.last_dir, out);
        }
        p.export.ui(&ctx, &view, export, out);
        p.audio.ui(&ctx, &view, audio, out);
        p.analyzers.ui(&ctx, &view, &self.analysis, analyze, out);
        p.batch.ui(&ctx, &view, batch, analyze, out);
        panels::load_report::ui(&ctx, &view, &mut p.show_report);
        panels::shortcuts::window(&ctx, &mut p.show_shortcuts);
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let started = Instant::now();
        self.timer.begin(started);
        let ctx = ui.ctx().clone();
        for finished in self.jobs.poll() {
            self.finish(&ctx, finished);
        }
        panels::shortcuts::collect(&ctx, &mut self.commands);
        self.advance_playback(&ctx);
        if let Some(doc) = &mut self.doc {
            if let (Some(key), Some(view)) = (doc.blend_wanted(), &mut self.blend_view) {
                // A failure leaves the view to blend with the same formula on the CPU.
                if let Ok((rgba, _, _)) = view.rgba(doc, true, key.0, key.1) {
                    doc.set_blended(key, rgba);
                }
            }
            // Render before the panels, so plots and readouts see this frame's values.
            doc.texture(&ctx);
            if let Some(started) = self.first_frame_pending.take() {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                let opened = self.status.take().map_or(String::new(), |(s, _)| s);
                self.info(format!("{opened}; first frame on screen after {ms:.0} ms"));
            }
        }
        self.draw(ui);
        for command in std::mem::take(&mut self.commands) {
            self.apply(&ctx, command);
        }
        self.schedule_background(&ctx);
        if self.jobs.busy() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
        self.timer.end(started, Instant::now());
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if std::env::var_os("STACKSCOPE_FRAME_TIME").is_some() {
            eprintln!("{}", self.timer.summary());
        }
        // An export must get the chance to remove its partial file before the process ends.
        self.jobs.shut_down(Duration::from_secs(10));
    }
}
