//! The Analyzers window and what it puts elsewhere: choose analyzers and their main options
//! for the loaded stack (or a file), run them on a worker with progress and Cancel, list
//! their summaries and events (a click seeks), export JSON / CSV. The results are drawn as
//! timeline tracks and over the frame by [`super::tracks`].
//!
//! The analyzers are the library's own ([`crate::analyze::by_name`]), with the settings the
//! CLI would give them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui;
use serde::{Deserialize, Serialize};

use super::View;
use super::load::dialog;
use crate::analyze::frames::{Region, Sampling};
use crate::analyze::storyboard::TEMPLATE_LANGUAGES;
use crate::analyze::{
    ANALYZERS, AUTO_LANGUAGE, AnalysisResult, AnalyzerName, AnalyzerOptions, DEFAULT_WHISPER,
    Event, Source, WHISPER_MODELS, whisper,
};
use crate::analyze::{objects, ocr};
use crate::gui::app::Analysis;
use crate::gui::command::Command;
use crate::gui::jobs::JobKind;
use crate::gui::saves::Saved;
use crate::gui::task::{outcome_ui, progress_row};
use crate::stack::FrameStack;

/// The window's fields, remembered between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalyzeForm {
    /// Names of the analyzers ticked.
    pub chosen: Vec<String>,
    /// Analyse a file instead of the loaded stack.
    pub use_file: bool,
    pub file: String,
    /// Frames per second for the vision analyzers (0: every frame).
    pub fps: f64,
    pub skip_duplicates: bool,
    /// Hash only the bottom quarter (subtitles) for duplicate skipping.
    pub subtitle_band: bool,
    pub text_confidence: f64,
    /// Empty: the installed detector.
    pub detector: String,
    /// 0: the detector's own input size.
    pub size: usize,
    pub confidence: f64,
    pub scene_threshold: f64,
    pub vad_threshold: f32,
    /// The spoken language (ISO 639-1) or `auto`.
    pub language: String,
    /// An installed whisper model's name.
    pub whisper_model: String,
    /// text_overlay's installed OCR model.
    pub ocr_model: String,
    /// The storyboard's summary language: `auto`, `en` or `de`.
    pub summary_language: String,
}

impl Default for AnalyzeForm {
    fn default() -> Self {
        Self {
            chosen: vec!["scenes".into()],
            use_file: false,
            file: String::new(),
            fps: Sampling::default().fps,
            skip_duplicates: true,
            subtitle_band: false,
            text_confidence: 0.5,
            detector: String::new(),
            size: 0,
            confidence: 0.25,
            scene_threshold: 0.35,
            vad_threshold: 0.5,
            language: AUTO_LANGUAGE.into(),
            whisper_model: DEFAULT_WHISPER.0.into(),
            ocr_model: ocr::MODELS[0].into(),
            summary_language: AUTO_LANGUAGE.into(),
        }
    }
}

impl AnalyzeForm {
    pub(crate) fn is_chosen(&self, name: &str) -> bool {
        self.chosen.iter().any(|c| c == name)
    }

    pub(crate) fn set_chosen(&mut self, name: &str, on: bool) {
        self.chosen.retain(|c| c != name);
        if on {
            self.chosen.push(name.to_owned());
        }
    }

    /// The chosen analyzers, in the order ticked.
    pub fn names(&self) -> Vec<AnalyzerName> {
        self.chosen.iter().filter_map(|n| n.parse().ok()).collect()
    }

    /// The options as the command line would give them: the same struct, the same defaults.
    pub fn options(&self) -> AnalyzerOptions {
        AnalyzerOptions {
            vad_threshold: self.vad_threshold,
            sample_fps: self.fps,
            // Unticked: off for every analyzer (`--no-skip-duplicates`); ticked: each
            // analyzer's default (text_overlay skips, objects does not).
            skip_duplicates: (!self.skip_duplicates).then_some(false),
            hash_region: self.subtitle_band.then_some(Region {
                x: 0.0,
                y: 0.75,
                w: 1.0,
                h: 0.25,
            }),
            min_text_confidence: self.text_confidence,
            ocr_model: self.ocr_model.clone(),
            model: (!self.detector.trim().is_empty()).then(|| PathBuf::from(self.detector.trim())),
            input_size: self.size,
            confidence: self.confidence,
            scene_threshold: self.scene_threshold,
            language: self.language.clone(),
            // The default stays unnamed, as on the command line, so both record the same
            // settings.
            whisper_model: (self.whisper_model != DEFAULT_WHISPER.0)
                .then(|| PathBuf::from(&self.whisper_model)),
            summary_language: self.summary_language.clone(),
            ..AnalyzerOptions::default()
        }
    }

    /// What to analyse: the chosen file, or the open stack; and whether the results belong
    /// to the open stack (its own frames, or the file it was opened from).
    pub fn source(&self, stack: Option<&Arc<FrameStack>>) -> Result<(Source, bool), String> {
        if !self.use_file {
            let stack = stack.ok_or("open a stack first, or choose a file")?;
            return Ok((Source::loaded(Arc::clone(stack)), true));
        }
        let file = Path::new(self.file.trim());
        let same = stack.is_some_and(|s| {
            let b = s.source();
            file == b
                || file
                    .canonicalize()
                    .ok()
                    .zip(b.canonicalize().ok())
                    .is_some_and(|(a, b)| a == b)
        });
        Ok((Source::new(file), same))
    }
}

/// `auto` or one of the languages whisper knows, by code and name.
fn language_ui(ui: &mut egui::Ui, language: &mut String) {
    let names = whisper::languages();
    let shown = names.iter().find(|(code, _)| code == language).map_or_else(
        || language.clone(),
        |(code, name)| format!("{code} ({name})"),
    );
    egui::ComboBox::from_id_salt("spoken-language")
        .selected_text(shown)
        .height(300.0)
        .show_ui(ui, |ui| {
            ui.selectable_value(language, AUTO_LANGUAGE.into(), "auto (detect per clip)");
            for (code, name) in &names {
                ui.selectable_value(language, (*code).into(), format!("{code} ({name})"));
            }
        })
        .response
        .on_hover_text("auto: whisper detects the language on the first speech of each clip");
}

#[derive(Default)]
pub struct AnalyzersPanel {
    pub open: bool,
    pub outcome: Option<Result<String, String>>,
    /// The word or segment last scrolled to in the transcript, so it scrolls only on change.
    followed: Option<(usize, usize)>,
}

impl AnalyzersPanel {
    /// New results arrived: follow the transcript from the start.
    pub fn new_results(&mut self) {
        self.followed = None;
    }

    pub fn ui(
        &mut self,
        ctx: &egui::Context,
        view: &View,
        analysis: &Analysis,
        form: &mut AnalyzeForm,
        out: &mut Vec<Command>,
    ) {
        if !self.open {
            return;
        }
        let now = view.doc.map_or(0.0, |d| d.stack.meta().time_of(d.frame));
        let mut open = self.open;
        egui::Window::new("Analyzers")
            .open(&mut open)
            .default_width(420.0)
            .show(ctx, |ui| {
                self.form_ui(ui, form, view.doc.is_some(), view.last_dir);
                ui.separator();
                if let Some(task) = view.jobs.task(JobKind::Analyze) {
                    progress_row(ui, &task.label, task.job());
                    ctx.request_repaint_after(std::time::Duration::from_millis(100));
                } else {
                    let ready = !form.chosen.is_empty()
                        && (form.use_file && !form.file.trim().is_empty()
                            || !form.use_file && view.doc.is_some());
                    if ui
                        .add_enabled(ready, egui::Button::new("Run analyzers"))
                        .clicked()
                    {
                        out.push(Command::StartAnalysis(form.clone()));
                    }
                }
                outcome_ui(ui, self.outcome.as_ref());
                if !analysis.results.is_empty() {
                    ui.separator();
                    if let Some(t) = self.results_ui(ui, &analysis.results, now, out) {
                        out.push(Command::SeekTime(t));
                    }
                }
            });
        self.open = open;
    }

    fn form_ui(
        &mut self,
        ui: &mut egui::Ui,
        form: &mut AnalyzeForm,
        has_doc: bool,
        last_dir: Option<&PathBuf>,
    ) {
        ui.horizontal(|ui| {
            ui.radio_value(&mut form.use_file, false, "loaded stack")
                .on_hover_text("vision analyzers read the frames in memory; speech analyzers read the file the stack came from");
            ui.radio_value(&mut form.use_file, true, "file");
            if form.use_file {
                ui.add(egui::TextEdit::singleline(&mut form.file).desired_width(180.0));
                if ui.button("Browse…").clicked()
                    && let Some(p) = dialog(last_dir).pick_file()
                {
                    form.file = p.display().to_string();
                }
            } else if !has_doc {
                ui.weak("(none open)");
            }
        });
        for (name, about) in ANALYZERS {
            let mut on = form.is_chosen(name);
            if ui.checkbox(&mut on, *name).on_hover_text(*about).changed() {
                form.set_chosen(name, on);
            }
        }
        egui::CollapsingHeader::new("Options").show(ui, |ui| {
            egui::Grid::new("analyze-options")
                .num_columns(2)
                .show(ui, |ui| {
                    ui.label("frames per second");
                    ui.add(
                        egui::DragValue::new(&mut form.fps)
                            .range(0.0..=240.0)
                            .speed(0.1),
                    )
                    .on_hover_text("0 analyses every frame (scenes always does)");
                    ui.end_row();
                    ui.label("skip look-alike frames");
                    ui.horizontal(|ui| {
                        ui.checkbox(&mut form.skip_duplicates, "");
                        ui.checkbox(&mut form.subtitle_band, "hash the subtitle band only");
                    });
                    ui.end_row();
                    ui.label("text model");
                    egui::ComboBox::from_id_salt("ocr-model")
                        .selected_text(form.ocr_model.as_str())
                        .show_ui(ui, |ui| {
                            for name in ocr::MODELS {
                                ui.selectable_value(&mut form.ocr_model, (*name).into(), *name);
                            }
                        })
                        .response
                        .on_hover_text(
                            "ppocr-v6 reads Latin scripts with ä ö ü ß é ç ñ ł ş, Greek, Chinese \
                             and Japanese; ppocr-v4 Chinese and English (no ö or ß)",
                        );
                    ui.end_row();
                    ui.label("text confidence");
                    ui.add(egui::Slider::new(&mut form.text_confidence, 0.0..=1.0));
                    ui.end_row();
                    ui.label("detector");
                    ui.add(
                        egui::TextEdit::singleline(&mut form.detector)
                            .hint_text(objects::DEFAULT_MODEL.0)
                            .desired_width(180.0),
                    )
                    .on_hover_text(format!(
                        "an installed detector ({}) or a YOLOv8/YOLO11 .onnx file",
                        objects::MODELS
                            .iter()
                            .map(|(name, _)| *name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    ui.end_row();
                    ui.label("detector input size");
                    ui.add(
                        egui::DragValue::new(&mut form.size)
                            .range(0..=1920)
                            .speed(32),
                    )
                    .on_hover_text("0: the model's own; else a multiple of 32");
                    ui.end_row();
                    ui.label("detection confidence");
                    ui.add(egui::Slider::new(&mut form.confidence, 0.0..=1.0));
                    ui.end_row();
                    ui.label("scene threshold");
                    ui.add(egui::Slider::new(&mut form.scene_threshold, 0.01..=1.0));
                    ui.end_row();
                    ui.label("speech threshold");
                    ui.add(egui::Slider::new(&mut form.vad_threshold, 0.05..=0.95));
                    ui.end_row();
                    ui.label("speech model");
                    egui::ComboBox::from_id_salt("whisper-model")
                        .selected_text(form.whisper_model.as_str())
                        .show_ui(ui, |ui| {
                            for (name, _) in WHISPER_MODELS {
                                ui.selectable_value(&mut form.whisper_model, (*name).into(), *name);
                            }
                        })
                        .response
                        .on_hover_text(
                            "whisper-base knows 99 languages; whisper-tiny.en only English",
                        );
                    ui.end_row();
                    ui.label("spoken language");
                    language_ui(ui, &mut form.language);
                    ui.end_row();
                    ui.label("summary language");
                    let shown = |code: &str| {
                        if code == AUTO_LANGUAGE {
                            "auto (as spoken)".to_owned()
                        } else {
                            code.to_owned()
                        }
                    };
                    egui::ComboBox::from_id_salt("summary-language")
                        .selected_text(shown(&form.summary_language))
                        .show_ui(ui, |ui| {
                            for code in [AUTO_LANGUAGE].iter().chain(TEMPLATE_LANGUAGES) {
                                ui.selectable_value(
                                    &mut form.summary_language,
                                    (*code).into(),
                                    shown(code),
                                );
                            }
                        })
                        .response
                        .on_hover_text(
                            "the storyboard's summary lines; auto: the spoken language where \
                             the template has it (English, German), else English",
                        );
                    ui.end_row();
                });
        });
    }

    /// Summaries, export buttons, the transcript and the event list; returns a time to seek
    /// to when an event was clicked.
    fn results_ui(
        &mut self,
        ui: &mut egui::Ui,
        results: &[AnalysisResult],
        now: f64,
        out: &mut Vec<Command>,
    ) -> Option<f64> {
        let mut seek = None;
        ui.horizontal(|ui| {
            if ui.button("Export JSON…").clicked() {
                out.push(Command::Save(Saved::Analysis { csv: false }));
            }
            if ui.button("Export CSV…").clicked() {
                out.push(Command::Save(Saved::Analysis { csv: true }));
            }
        });
        let followed = &mut self.followed;
        for (r, result) in results.iter().enumerate() {
            let summary: Vec<String> = result
                .summary
                .iter()
                .filter(|(k, _)| k.as_str() != "transcript")
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            egui::CollapsingHeader::new(format!(
                "{} ({} events, {:.1} s)",
                result.analyzer,
                result.events.len(),
                result.elapsed
            ))
            .id_salt(("result", r))
            .default_open(true)
            .show(ui, |ui| {
                ui.label(summary.join(", "));
                if result.analyzer == "speech_rate" {
                    seek = seek.or(transcript_ui(ui, r, result, now, followed));
                }
                seek = seek.or(event_list(ui, r, result, now));
            });
        }
        seek
    }
}

/// The words of a speech_rate result as running text; the word being spoken is highlighted
/// and kept in view while the stack plays (`followed`: the word last scrolled to).
fn transcript_ui(
    ui: &mut egui::Ui,
    r: usize,
    result: &AnalysisResult,
    now: f64,
    followed: &mut Option<(usize, usize)>,
) -> Option<f64> {
    let mut seek = None;
    egui::ScrollArea::vertical()
        .id_salt(("transcript", r))
        .max_height(90.0)
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.spacing_mut().item_spacing.x = 3.0;
                for (k, word) in result.events_on("word").enumerate() {
                    let current = word.start <= now && now < word.end.max(word.start + 0.05);
                    let text = egui::RichText::new(&word.label);
                    let text = if current {
                        text.strong()
                            .background_color(ui.visuals().selection.bg_fill)
                    } else {
                        text
                    };
                    let response = ui.add(egui::Label::new(text).sense(egui::Sense::click()));
                    if response.clicked() {
                        seek = Some(word.start);
                    }
                    if current && *followed != Some((r, k)) {
                        response.scroll_to_me(Some(egui::Align::Center));
                        *followed = Some((r, k));
                    }
                }
            });
        });
    seek
}

/// A scrolling table of a result's events (not the words, which the transcript shows);
/// the row under the playhead is marked.
fn event_list(ui: &mut egui::Ui, r: usize, result: &AnalysisResult, now: f64) -> Option<f64> {
    let mut seek = None;
    let rows: Vec<&Event> = result.events.iter().filter(|e| e.track != "word").collect();
    egui::ScrollArea::vertical()
        .id_salt(("events", r))
        .max_height(140.0)
        .show_rows(ui, 18.0, rows.len(), |ui, range| {
            for e in &rows[range] {
                let here = e.start <= now && now < e.end.max(e.start + 1e-6);
                let score = e.score.map_or(String::new(), |s| format!(" ({s:.2})"));
                let what = if e.track == e.label {
                    e.label.clone()
                } else {
                    format!("{}: {}", e.track, e.label)
                };
                let text = format!("{:>8.2} s  {what}{score}", e.start);
                if ui.selectable_label(here, text).clicked() {
                    seek = Some(e.start);
                }
            }
        });
    seek
}
