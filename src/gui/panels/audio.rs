//! The "Audio → video" dialog: an audio file, a style and its options, a preview frame at a
//! chosen time (drawn by the same renderer the export uses), and the export on a worker with
//! progress and Cancel. It needs no loaded stack.
//!
//! The spectrum is computed in the background whenever the file or the analysis settings
//! change; drawing a preview from it takes a millisecond, so the time slider is live.

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

use super::View;
use crate::audio::{
    Renderer, Spectrum, SpectrumSettings, Style, VisualSettings, VisualizeSettings,
};
use crate::display::Colormap;
use crate::export::PRESETS;
use crate::gui::command::Command;
use crate::gui::forms::AudioForm;
use crate::gui::jobs::JobKind;
use crate::gui::task::{export_row, progress_row};

#[derive(Default)]
pub struct AudioPanel {
    pub open: bool,
    /// The spectrum asked for last (file and analysis settings), until it comes back.
    requested: Option<String>,
    spectrum: Option<(String, Arc<Spectrum>)>,
    /// Why the last analysis failed, for the same key.
    analysis_error: Option<(String, String)>,
    preview_secs: f64,
    preview: Option<egui::TextureHandle>,
    /// What the preview texture shows: the visual settings and the frame.
    preview_key: Option<(VisualSettings, usize)>,
    pub outcome: Option<Result<String, String>>,
}

/// What a spectrum is computed from: the file and the analysis settings.
fn key_of(form: &AudioForm, spectrum: &SpectrumSettings) -> String {
    format!(
        "{}\n{}",
        form.audio.trim(),
        serde_json::to_string(spectrum).unwrap_or_default()
    )
}

impl AudioPanel {
    /// The spectrum of the current file, once analysed.
    pub fn spectrum(&self) -> Option<&Spectrum> {
        self.spectrum.as_ref().map(|(_, s)| s.as_ref())
    }

    pub fn has_preview(&self) -> bool {
        self.preview.is_some()
    }

    pub fn set_spectrum(&mut self, key: String, spectrum: Spectrum) {
        self.spectrum = Some((key, Arc::new(spectrum)));
        self.analysis_error = None;
        self.preview_key = None;
        self.requested = None;
    }

    pub fn spectrum_failed(&mut self, key: String, error: String) {
        self.analysis_error = Some((key, error));
        self.requested = None;
    }

    /// Asks for the spectrum when the file or its settings changed.
    fn analyse_if_needed(
        &mut self,
        form: &AudioForm,
        settings: &Result<VisualizeSettings, String>,
        out: &mut Vec<Command>,
    ) {
        let Ok(settings) = settings else {
            return;
        };
        let spectrum_settings = settings.spectrum_for_style();
        let key = key_of(form, &spectrum_settings);
        let current = |k: Option<&String>| k == Some(&key);
        if form.audio.trim().is_empty()
            || current(self.spectrum.as_ref().map(|(k, _)| k))
            || current(self.requested.as_ref())
            || current(self.analysis_error.as_ref().map(|(k, _)| k))
        {
            return;
        }
        self.requested = Some(key.clone());
        out.push(Command::ComputeSpectrum {
            key,
            path: PathBuf::from(form.audio.trim()),
            settings: spectrum_settings,
        });
    }

    pub fn ui(
        &mut self,
        ctx: &egui::Context,
        view: &View,
        form: &mut AudioForm,
        out: &mut Vec<Command>,
    ) {
        if !self.open {
            return;
        }
        let mut open = self.open;
        egui::Window::new("Audio to video")
            .open(&mut open)
            .default_width(520.0)
            .show(ctx, |ui| {
                self.settings_ui(ui, form, view.last_dir);
                // Parsed once per frame, after this frame's edits.
                let settings = form.settings();
                self.analyse_if_needed(form, &settings, out);
                ui.separator();
                self.preview_ui(ui, view, &settings);
                ui.separator();
                let running = view.jobs.task(JobKind::AudioExport);
                if export_row(ui, running, self.outcome.as_ref()) {
                    out.push(Command::StartAudioExport(form.clone()));
                }
            });
        self.open = open;
    }

    fn settings_ui(&mut self, ui: &mut egui::Ui, form: &mut AudioForm, last_dir: Option<&PathBuf>) {
        egui::Grid::new("audio-settings")
            .num_columns(2)
            .show(ui, |ui| {
                let label = ui.label("Audio file");
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut form.audio)
                            .desired_width(300.0)
                            .hint_text("song.mp3, talk.wav, clip.mp4")
                            .id_salt("audio-input"),
                    )
                    .labelled_by(label.id);
                    if ui.button("…").clicked()
                        && let Some(p) = super::load::dialog(last_dir)
                            .add_filter(
                                "Audio",
                                &[
                                    "mp3", "wav", "flac", "ogg", "m4a", "aac", "opus", "mp4",
                                    "mkv", "mov", "webm",
                                ],
                            )
                            .pick_file()
                    {
                        form.audio = p.display().to_string();
                    }
                });
                ui.end_row();
                let label = ui.label("Output");
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut form.output)
                            .desired_width(300.0)
                            .hint_text("out.mp4")
                            .id_salt("audio-output"),
                    )
                    .labelled_by(label.id);
                    if ui.button("…").clicked()
                        && let Some(p) = super::load::dialog(last_dir)
                            .add_filter("MP4 video", &["mp4"])
                            .save_file()
                    {
                        form.output = p.display().to_string();
                    }
                });
                ui.end_row();
                let label = ui.label("Style");
                egui::ComboBox::new("audio-style", "")
                    .selected_text(form.style.name())
                    .show_ui(ui, |ui| {
                        for style in Style::ALL {
                            ui.selectable_value(&mut form.style, style, style.name());
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Size");
                ui.horizontal(|ui| {
                    ui.add(egui::DragValue::new(&mut form.width).range(16..=7680))
                        .labelled_by(label.id);
                    let by = ui.label("×");
                    ui.add(egui::DragValue::new(&mut form.height).range(16..=4320))
                        .labelled_by(by.id);
                    for (w, h) in [(1280, 720), (1920, 1080), (1080, 1080)] {
                        if ui.small_button(format!("{w}×{h}")).clicked() {
                            (form.width, form.height) = (w, h);
                        }
                    }
                });
                ui.end_row();
                let label = ui.label("Frame rate");
                ui.add(egui::DragValue::new(&mut form.fps).range(1.0..=120.0))
                    .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Bands");
                ui.add(
                    egui::TextEdit::singleline(&mut form.bands)
                        .desired_width(60.0)
                        .hint_text(form.style.default_bands().to_string())
                        .id_salt("audio-bands"),
                )
                .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Frequencies (Hz)");
                ui.horizontal(|ui| {
                    ui.add(egui::DragValue::new(&mut form.min_hz).range(1.0..=20_000.0))
                        .labelled_by(label.id);
                    let to = ui.label("to");
                    ui.add(egui::DragValue::new(&mut form.max_hz).range(2.0..=24_000.0))
                        .labelled_by(to.id);
                });
                ui.end_row();
                let label = ui.label("Colours");
                ui.horizontal(|ui| {
                    ui.checkbox(&mut form.solid, "one colour");
                    if form.solid {
                        ui.add(
                            egui::TextEdit::singleline(&mut form.color)
                                .desired_width(80.0)
                                .id_salt("audio-color"),
                        )
                        .labelled_by(label.id);
                    } else {
                        let current = form.colormap();
                        egui::ComboBox::new("audio-colormap", "")
                            .selected_text(current.name())
                            .show_ui(ui, |ui| {
                                for map in Colormap::ALL {
                                    if ui.selectable_label(current == map, map.name()).clicked() {
                                        form.colormap = map.name().into();
                                    }
                                }
                            })
                            .response
                            .labelled_by(label.id);
                    }
                });
                ui.end_row();
                let label = ui.label("Background");
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut form.background)
                            .desired_width(220.0)
                            .hint_text("#rrggbb or an image")
                            .id_salt("audio-background"),
                    )
                    .labelled_by(label.id);
                    if ui.button("image…").clicked()
                        && let Some(p) = super::load::dialog(last_dir)
                            .add_filter(
                                "Image",
                                &["png", "jpg", "jpeg", "bmp", "webp", "tif", "tiff"],
                            )
                            .pick_file()
                    {
                        form.background = p.display().to_string();
                    }
                });
                ui.end_row();
                if form.style == Style::Spectrogram {
                    let label = ui.label("History (s)");
                    ui.add(egui::DragValue::new(&mut form.history_secs).range(0.5..=600.0))
                        .labelled_by(label.id);
                    ui.end_row();
                }
                let label = ui.label("Quality (crf)");
                ui.add(egui::Slider::new(&mut form.crf, 0..=51))
                    .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Preset");
                egui::ComboBox::new("audio-preset", "")
                    .selected_text(form.preset.clone())
                    .show_ui(ui, |ui| {
                        for p in PRESETS {
                            ui.selectable_value(&mut form.preset, p.to_string(), p);
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.end_row();
                ui.label("");
                ui.checkbox(&mut form.overwrite, "overwrite an existing file");
                ui.end_row();
            });
    }

    fn preview_ui(
        &mut self,
        ui: &mut egui::Ui,
        view: &View,
        settings: &Result<VisualizeSettings, String>,
    ) {
        if let Some(task) = view.jobs.task(JobKind::Spectrum) {
            progress_row(ui, "analysing", task.job());
            return;
        }
        if let Some((_, e)) = &self.analysis_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
            return;
        }
        let settings = match settings {
            Ok(s) => s,
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                return;
            }
        };
        let Some((_, spectrum)) = &self.spectrum else {
            ui.label("Choose an audio file to see a preview.");
            return;
        };
        let spectrum = spectrum.clone();
        let duration = spectrum.duration_secs();
        ui.horizontal(|ui| {
            let label = ui.label("Preview at");
            ui.add(
                egui::Slider::new(&mut self.preview_secs, 0.0..=duration.max(0.01))
                    .suffix(" s")
                    .max_decimals(2),
            )
            .labelled_by(label.id);
        });
        let frame = spectrum.frame_at(self.preview_secs);
        let shown = self
            .preview_key
            .as_ref()
            .is_some_and(|(visual, f)| *visual == settings.visual && *f == frame);
        if !shown {
            // Drawing one frame takes about a millisecond at 720p: fine on the UI thread.
            match Renderer::new(&settings.visual) {
                Ok(renderer) => {
                    let rgba = renderer.render_rgba(&spectrum, frame);
                    let image = egui::ColorImage::from_rgba_unmultiplied(
                        [settings.visual.width, settings.visual.height],
                        &rgba,
                    );
                    let (image, _) = crate::gui::texture::fit(ui.ctx(), image);
                    match &mut self.preview {
                        Some(texture) => texture.set(image, egui::TextureOptions::LINEAR),
                        None => {
                            self.preview = Some(ui.ctx().load_texture(
                                "audio-preview",
                                image,
                                egui::TextureOptions::LINEAR,
                            ))
                        }
                    }
                    self.preview_key = Some((settings.visual.clone(), frame));
                }
                Err(e) => {
                    ui.colored_label(ui.visuals().error_fg_color, e.to_string());
                    return;
                }
            }
        }
        if let Some(texture) = &self.preview {
            let width = ui.available_width().min(360.0);
            let size = egui::vec2(
                width,
                width * settings.visual.height as f32 / settings.visual.width as f32,
            );
            ui.image((texture.id(), size));
        }
        ui.label(format!(
            "frame {frame} of {}; {:.2} s of audio at {} Hz; {} bands, {:.0} to {:.0} Hz",
            spectrum.frames,
            duration,
            spectrum.rate,
            spectrum.bands,
            spectrum.edges_hz.first().copied().unwrap_or(0.0),
            spectrum.edges_hz.last().copied().unwrap_or(0.0),
        ));
    }
}
