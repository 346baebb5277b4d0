//! The batch window: a folder of clips through the analyzers with the same engine as
//! `stackscope batch analyze`, resumable, with progress; any finished clip opens with its
//! results.

use std::path::PathBuf;

use eframe::egui;

use super::View;
use super::analyzers::AnalyzeForm;
use crate::analyze::ANALYZERS;
use crate::gui::command::Command;
use crate::gui::forms::BatchForm;
use crate::gui::jobs::JobKind;
use crate::gui::task::{outcome_ui, progress_row};

/// A clip whose last batch run succeeded: its name, the clip, and its results file.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub name: PathBuf,
    pub clip: PathBuf,
    pub results: PathBuf,
}

#[derive(Default)]
pub struct BatchPanel {
    pub open: bool,
    pub outcome: Option<Result<String, String>>,
    /// The finished clips of the results folder, read when a batch ends or the folder
    /// changes.
    finished: Vec<Finished>,
    read_from: Option<PathBuf>,
}

impl BatchPanel {
    /// Reads the results folder's finished clips again.
    pub fn refresh(&mut self) {
        self.read_from = None;
    }

    pub fn finished(&self) -> &[Finished] {
        &self.finished
    }

    fn read(&mut self, out: &str) {
        let out = PathBuf::from(out.trim());
        if self.read_from.as_ref() == Some(&out) {
            return;
        }
        self.finished = crate::batch::read_state(&out)
            .map(|state| {
                state
                    .into_values()
                    .filter(|r| r.ok)
                    .filter_map(|r| {
                        let json = r
                            .outputs
                            .iter()
                            .find(|o| o.path.extension().is_some_and(|e| e == "json"))?;
                        Some(Finished {
                            name: r.input,
                            clip: r.path,
                            results: out.join(&json.path),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.read_from = Some(out);
    }

    pub fn ui(
        &mut self,
        ctx: &egui::Context,
        view: &View,
        form: &mut BatchForm,
        analyze: &mut AnalyzeForm,
        out: &mut Vec<Command>,
    ) {
        if !self.open {
            return;
        }
        self.read(&form.out);
        let mut open = self.open;
        egui::Window::new("Batch")
            .open(&mut open)
            .default_width(440.0)
            .show(ctx, |ui| {
                egui::Grid::new("batch-form").num_columns(2).show(ui, |ui| {
                    ui.label("Clips");
                    folder_field(ui, &mut form.folder, "a folder of clips", view.last_dir);
                    ui.end_row();
                    ui.label("Only");
                    ui.horizontal(|ui| {
                        ui.add(
                            egui::TextEdit::singleline(&mut form.glob)
                                .hint_text("every file, or *.mp4, **/*.mkv")
                                .desired_width(160.0),
                        );
                        ui.checkbox(&mut form.recursive, "subfolders");
                    });
                    ui.end_row();
                    ui.label("Results");
                    folder_field(ui, &mut form.out, "a folder for the results", view.last_dir);
                    ui.end_row();
                    ui.label("Clips at once");
                    ui.add(egui::DragValue::new(&mut form.jobs).range(1..=64));
                    ui.end_row();
                });
                ui.horizontal(|ui| {
                    ui.radio_value(&mut form.export, false, "analyze");
                    ui.radio_value(&mut form.export, true, "export MP4")
                        .on_hover_text(
                            "with the Export window's settings and the load dialog's options",
                        );
                });
                if !form.export {
                    ui.label("Analyzers (their options are the Analyzers window's):");
                    ui.horizontal_wrapped(|ui| {
                        for (name, about) in ANALYZERS {
                            let mut on = analyze.is_chosen(name);
                            if ui.checkbox(&mut on, *name).on_hover_text(*about).changed() {
                                analyze.set_chosen(name, on);
                            }
                        }
                    });
                }
                ui.separator();
                if let Some(task) = view.jobs.task(JobKind::Batch) {
                    progress_row(ui, &task.label, task.job());
                    ctx.request_repaint_after(std::time::Duration::from_millis(100));
                } else {
                    let ready = !form.folder.trim().is_empty()
                        && !form.out.trim().is_empty()
                        && (form.export || !analyze.chosen.is_empty());
                    if ui
                        .add_enabled(ready, egui::Button::new("Run batch"))
                        .on_hover_text("clips whose results are complete and current are skipped")
                        .clicked()
                    {
                        out.push(Command::RunBatch {
                            form: form.clone(),
                            analyze: analyze.clone(),
                        });
                    }
                }
                outcome_ui(ui, self.outcome.as_ref());
                if !self.finished.is_empty() {
                    ui.separator();
                    ui.label(format!("{} clips with results", self.finished.len()));
                    egui::ScrollArea::vertical()
                        .max_height(200.0)
                        .show(ui, |ui| {
                            for f in &self.finished {
                                ui.horizontal(|ui| {
                                    if ui
                                        .button("Open")
                                        .on_hover_text("open the clip with its results")
                                        .clicked()
                                    {
                                        out.push(Command::OpenBatchResult {
                                            clip: f.clip.clone(),
                                            results: f.results.clone(),
                                        });
                                    }
                                    ui.label(f.name.display().to_string());
                                });
                            }
                        });
                }
            });
        self.open = open;
    }
}

fn folder_field(ui: &mut egui::Ui, text: &mut String, hint: &str, last_dir: Option<&PathBuf>) {
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(text)
                .hint_text(hint)
                .desired_width(220.0),
        );
        if ui.button("Folder…").clicked()
            && let Some(p) = super::load::dialog(last_dir).pick_folder()
        {
            *text = p.display().to_string();
        }
    });
}
