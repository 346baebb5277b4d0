//! The export dialog: interpolation, encoding and range settings, a live preview of the
//! blended frames made by the same blender and converter the export will use (the GPU when
//! there is one), and the export itself on a worker with output fps, ETA and Cancel.

use std::path::PathBuf;

use eframe::egui;

use super::View;
use crate::export::PRESETS;
use crate::gui::blend_view::BlendView;
use crate::gui::command::Command;
use crate::gui::document::Document;
use crate::gui::forms::ExportForm;
use crate::gui::jobs::JobKind;
use crate::gui::task::export_row;
use crate::interp::Choice;
use crate::source::{DisplaySource, FrameSource, StackSource};

pub struct ExportPanel {
    pub open: bool,
    /// Source frame (within the export range) whose blend with the next one is previewed.
    preview_pair: usize,
    preview_t: f32,
    blender: Option<BlendView>,
    /// The blender was asked for and is being opened.
    choosing: bool,
    preview: Option<egui::TextureHandle>,
    preview_key: Option<(usize, u16, String)>,
    /// The last export's outcome, shown until the next one.
    pub outcome: Option<Result<String, String>>,
}

impl Default for ExportPanel {
    fn default() -> Self {
        Self {
            open: false,
            preview_pair: 0,
            preview_t: 0.5,
            blender: None,
            choosing: false,
            preview: None,
            preview_key: None,
            outcome: None,
        }
    }
}

/// The frames an export of `doc` reads: as displayed (levels, colormap, normalization, mask;
/// the stack's own frames when the display changes nothing) or the raw bytes.
pub fn export_source(doc: &Document, as_displayed: bool) -> Box<dyn FrameSource> {
    if as_displayed {
        DisplaySource::new(
            doc.stack.clone(),
            doc.mask.clone(),
            doc.normalizer.clone(),
            doc.mapping,
        )
        .into_frame_source()
    } else {
        Box::new(StackSource::new(doc.stack.clone()))
    }
}

impl ExportPanel {
    /// Forgets what belonged to the previous stack (preview, pair) but keeps the last
    /// outcome; a running export goes on, reading its own handle on the old frames.
    pub fn new_stack(&mut self) {
        *self = Self {
            open: self.open,
            outcome: self.outcome.take(),
            blender: self.blender.take(),
            ..Self::default()
        };
    }

    /// The blender the preview asked for is open.
    pub fn set_blender(&mut self, choice: Choice) {
        self.blender = Some(BlendView::new(choice));
        self.choosing = false;
        self.preview_key = None;
    }

    pub fn ui(
        &mut self,
        ctx: &egui::Context,
        view: &View,
        form: &mut ExportForm,
        out: &mut Vec<Command>,
    ) {
        let Some(doc) = view.doc.filter(|_| self.open) else {
            return;
        };
        let mut open = self.open;
        egui::Window::new("Export MP4")
            .open(&mut open)
            .default_width(460.0)
            .show(ctx, |ui| {
                self.settings_ui(ui, doc, form, view.last_dir);
                ui.separator();
                self.preview_ui(ui, doc, form, out);
                ui.separator();
                let running = view.jobs.task(JobKind::Export);
                if export_row(ui, running, self.outcome.as_ref()) {
                    out.push(Command::StartExport(form.clone()));
                }
            });
        self.open = open;
    }

    fn settings_ui(
        &mut self,
        ui: &mut egui::Ui,
        doc: &Document,
        form: &mut ExportForm,
        last_dir: Option<&PathBuf>,
    ) {
        egui::Grid::new("export-settings")
            .num_columns(2)
            .show(ui, |ui| {
                ui.label("Output");
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut form.output)
                            .desired_width(260.0)
                            .hint_text("out.mp4")
                            .id_salt("export-output"),
                    );
                    if ui.button("…").clicked()
                        && let Some(p) = super::load::dialog(last_dir)
                            .add_filter("MP4 video", &["mp4"])
                            .save_file()
                    {
                        form.output = p.display().to_string();
                    }
                });
                ui.end_row();
                ui.label("In-between frames");
                ui.add(egui::DragValue::new(&mut form.steps).range(0..=crate::interp::MAX_STEPS));
                ui.end_row();
                ui.label("Intensity");
                ui.add(egui::Slider::new(&mut form.intensity, 0.0..=1.0));
                ui.end_row();
                ui.label("Frame rate");
                ui.add(
                    egui::TextEdit::singleline(&mut form.fps)
                        .desired_width(80.0)
                        .hint_text(
                            doc.stack
                                .meta()
                                .fps
                                .map_or("30".into(), |f| format!("{f:.3}")),
                        ),
                );
                ui.end_row();
                ui.label("Quality (crf)");
                ui.add(egui::Slider::new(&mut form.crf, 0..=51));
                ui.end_row();
                ui.label("Preset");
                egui::ComboBox::from_id_salt("export-preset")
                    .selected_text(form.preset.clone())
                    .show_ui(ui, |ui| {
                        for p in PRESETS.iter().copied() {
                            ui.selectable_value(&mut form.preset, p.to_string(), p);
                        }
                    });
                ui.end_row();
                ui.label("Frames");
                ui.horizontal(|ui| {
                    crate::gui::task::range_fields(
                        ui,
                        &mut form.start,
                        &mut form.end,
                        &doc.len().to_string(),
                    );
                });
                ui.end_row();
                ui.label("Blend on");
                ui.horizontal(|ui| {
                    for d in ["auto", "gpu", "cpu"] {
                        if ui.radio(form.device == d, d).clicked() && form.device != d {
                            form.device = d.into();
                            self.blender = None;
                            self.choosing = false;
                            self.preview_key = None;
                        }
                    }
                });
                ui.end_row();
                ui.label("");
                ui.checkbox(
                    &mut form.as_displayed,
                    "as displayed (levels, colormap, normalization, mask)",
                );
                ui.end_row();
                ui.label("");
                ui.checkbox(&mut form.overwrite, "replace an existing file");
                ui.end_row();
            });
        if let (Ok(range), Ok(settings)) = (form.range(doc.len()), form.settings()) {
            let n = range.len();
            let frames = if n == 0 {
                0
            } else {
                n + (n - 1) * settings.steps
            };
            let fps = settings.fps.or(doc.stack.meta().fps).unwrap_or(30.0);
            ui.label(format!(
                "{frames} output frames, {:.1} s at {fps:.3} fps",
                frames as f64 / fps
            ));
        }
    }

    fn preview_ui(
        &mut self,
        ui: &mut egui::Ui,
        doc: &Document,
        form: &ExportForm,
        out: &mut Vec<Command>,
    ) {
        ui.label("Preview of the blend between two frames");
        let Ok(range) = form.range(doc.len()) else {
            return;
        };
        if range.len() < 2 {
            ui.label("the range needs two frames to blend");
            return;
        }
        ui.horizontal(|ui| {
            ui.label("pair");
            ui.add(egui::Slider::new(
                &mut self.preview_pair,
                range.start..=range.end - 2,
            ));
            ui.label("t");
            ui.add(egui::Slider::new(&mut self.preview_t, 0.0..=1.0));
        });
        let weight = (f64::from(self.preview_t) * form.intensity * 256.0).round() as u16;
        if self.blender.is_none() && !self.choosing {
            out.push(Command::OpenBlender(form.device()));
            self.choosing = true;
        }
        let Some(view) = &mut self.blender else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("opening the blender…");
            });
            return;
        };
        ui.label(format!("blender: {}", view.reason()));
        let key = (
            self.preview_pair,
            weight,
            format!(
                "{} {} {} {:?}",
                view.device(),
                form.as_displayed,
                doc.generation(),
                doc.mapping
            ),
        );
        if self.preview_key.as_ref() != Some(&key) {
            match view.rgba(doc, form.as_displayed, self.preview_pair, weight) {
                Ok((rgba, w, h)) => {
                    let image = egui::ColorImage::from_rgba_unmultiplied([w, h], &rgba);
                    let (image, _) = crate::gui::texture::fit(ui.ctx(), image);
                    let size = image.size;
                    match &mut self.preview {
                        Some(t) if t.size() == size => {
                            t.set_partial([0, 0], image, Default::default())
                        }
                        _ => {
                            self.preview = Some(ui.ctx().load_texture(
                                "export-preview",
                                image,
                                Default::default(),
                            ))
                        }
                    }
                    self.preview_key = Some(key);
                }
                Err(e) => {
                    ui.colored_label(ui.visuals().error_fg_color, e);
                }
            }
        }
        if let Some(texture) = &self.preview {
            let size = texture.size_vec2();
            let scale = (420.0 / size.x).min(240.0 / size.y).min(4.0);
            ui.image((texture.id(), size * scale));
            ui.label(format!(
                "weight {weight}/256 of frame {}",
                self.preview_pair + 1
            ));
        }
    }
}
