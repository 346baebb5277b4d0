//! The Analyzers window and what it puts elsewhere: choose analyzers and their main options
//! for the loaded stack (or a file), run them on a worker with progress and Cancel, list
//! their summaries and events (a click seeks), export JSON / CSV. The app draws the results
//! as timeline tracks ([`tracks_ui`]) and over the frame ([`paint_on_frame`]).
//!
//! The analyzers are the library's own ([`crate::analyze::by_name`]), with the settings the
//! CLI would give them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui::{self, Color32, Rect, Stroke, pos2};
use serde::{Deserialize, Serialize};

use super::load_dialog::dialog;
use super::task::{Task, outcome_ui, progress_row};
use crate::analyze::frames::{DuplicateSkip, Region, Sampling};
use crate::analyze::objects::ObjectsSettings;
use crate::analyze::ocr::TextOverlaySettings;
use crate::analyze::scenes::ScenesSettings;
use crate::analyze::vision::BoxXywh;
use crate::analyze::{
    self, ANALYZERS, AnalysisResult, Environment, Event, Source, SpeechRateSettings, VadSettings,
};
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
        }
    }
}

impl AnalyzeForm {
    fn is_chosen(&self, name: &str) -> bool {
        self.chosen.iter().any(|c| c == name)
    }

    fn set_chosen(&mut self, name: &str, on: bool) {
        self.chosen.retain(|c| c != name);
        if on {
            self.chosen.push(name.to_owned());
        }
    }

    /// The settings of analyzer `name` as JSON, as the CLI builds them.
    pub fn options(&self, name: &str) -> serde_json::Value {
        let sampling = Sampling {
            fps: self.fps,
            ..Sampling::default()
        };
        let duplicates = DuplicateSkip {
            enabled: self.skip_duplicates,
            region: self.subtitle_band.then_some(Region {
                x: 0.0,
                y: 0.75,
                w: 1.0,
                h: 0.25,
            }),
            ..DuplicateSkip::default()
        };
        let vad = VadSettings {
            threshold: self.vad_threshold,
            ..VadSettings::default()
        };
        let value = match name {
            "vad" => serde_json::to_value(vad),
            "speech_rate" => serde_json::to_value(SpeechRateSettings {
                vad: VadSettings {
                    max_speech_s: SpeechRateSettings::default().vad.max_speech_s,
                    ..vad
                },
                ..SpeechRateSettings::default()
            }),
            "text_overlay" => serde_json::to_value(TextOverlaySettings {
                sampling,
                duplicates,
                min_confidence: self.text_confidence,
                ..TextOverlaySettings::default()
            }),
            "objects" => serde_json::to_value(ObjectsSettings {
                sampling,
                duplicates: DuplicateSkip {
                    enabled: false,
                    ..duplicates
                },
                model: (!self.detector.trim().is_empty())
                    .then(|| PathBuf::from(self.detector.trim())),
                size: self.size,
                confidence: self.confidence,
                ..ObjectsSettings::default()
            }),
            "scenes" => serde_json::to_value(ScenesSettings {
                threshold: self.scene_threshold,
                ..ScenesSettings::default()
            }),
            _ => Ok(serde_json::Value::Null),
        };
        value.unwrap_or_default()
    }
}

type AnalysisTask = Task<Result<Vec<AnalysisResult>, String>>;

#[derive(Default)]
pub struct AnalyzersPanel {
    pub open: bool,
    /// The running analysis and the document its results belong to: the one it read, or the
    /// one opened from the file it read; `None` for another file.
    task: Option<(Option<u64>, AnalysisTask)>,
    /// Results and the document they are drawn over (none: they are only listed here).
    results: Vec<AnalysisResult>,
    results_doc: Option<u64>,
    pub outcome: Option<Result<String, String>>,
    /// The word or segment last scrolled to in the transcript, so it scrolls only on change.
    followed: Option<(usize, usize)>,
}

/// What the panel asks of the app.
pub enum PanelAction {
    None,
    /// Show the frame at this time.
    Seek(f64),
}

/// Builds `names` from the form and runs them on `source` (scenes first, see
/// [`analyze::run_all`]).
fn run_all(
    names: &[String],
    form: &AnalyzeForm,
    source: &Source,
    job: &crate::job::Job,
) -> Result<Vec<AnalysisResult>, String> {
    let analyzers = names
        .iter()
        .map(|name| analyze::by_name(name, form.options(name), Environment::default()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    analyze::run_all(analyzers, source, job).map_err(|e| e.to_string())
}

impl AnalyzersPanel {
    pub fn busy(&self) -> bool {
        self.task.is_some()
    }

    pub fn cancel(&self) {
        if let Some((_, t)) = &self.task {
            t.cancel();
        }
    }

    /// The results drawn over document `doc`.
    pub fn results_for(&self, doc: u64) -> &[AnalysisResult] {
        if self.results_doc == Some(doc) {
            &self.results
        } else {
            &[]
        }
    }

    pub fn poll(&mut self) {
        if let Some((doc, task)) = &mut self.task
            && let Some(outcome) = task.finished()
        {
            let doc = *doc;
            self.task = None;
            self.outcome = match outcome {
                Some(Ok(results)) => {
                    let line = results
                        .iter()
                        .map(|r| format!("{}: {} events", r.analyzer, r.events.len()))
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.results = results;
                    self.results_doc = doc;
                    self.followed = None;
                    Some(Ok(line))
                }
                Some(Err(e)) => Some(Err(e)),
                None => Some(Ok("cancelled".into())),
            };
        }
    }

    fn start(
        &mut self,
        ctx: &egui::Context,
        form: &AnalyzeForm,
        doc: (u64, Option<&Arc<FrameStack>>),
    ) {
        let same_file = |stack: &&Arc<FrameStack>| {
            let (a, b) = (Path::new(form.file.trim()), stack.source());
            a == b
                || a.canonicalize()
                    .ok()
                    .zip(b.canonicalize().ok())
                    .is_some_and(|(a, b)| a == b)
        };
        let belongs_to = if form.use_file {
            doc.1.filter(same_file).map(|_| doc.0)
        } else {
            Some(doc.0)
        };
        let source = if form.use_file {
            Source::new(form.file.trim())
        } else {
            match doc.1 {
                Some(stack) => Source::loaded(Arc::clone(stack)),
                None => {
                    self.outcome = Some(Err("open a stack first, or choose a file".into()));
                    return;
                }
            }
        };
        let names = form.chosen.clone();
        let form = form.clone();
        let label = format!("analysing with {}", names.join(", "));
        self.outcome = None;
        let task = Task::spawn(label, ctx, move |job| run_all(&names, &form, &source, job));
        self.task = Some((belongs_to, task));
    }

    /// The window. `doc` is the open document's id, stack and current time.
    pub fn ui(
        &mut self,
        ctx: &egui::Context,
        form: &mut AnalyzeForm,
        doc: (u64, Option<&Arc<FrameStack>>, f64),
        last_dir: Option<&PathBuf>,
    ) -> PanelAction {
        self.poll();
        let mut action = PanelAction::None;
        let mut open = self.open;
        egui::Window::new("Analyzers")
            .open(&mut open)
            .default_width(420.0)
            .show(ctx, |ui| {
                self.form_ui(ui, form, doc.1.is_some(), last_dir);
                ui.separator();
                if let Some((_, task)) = &self.task {
                    progress_row(ui, &task.label, task.job());
                    ctx.request_repaint_after(std::time::Duration::from_millis(100));
                } else {
                    let ready = !form.chosen.is_empty()
                        && (form.use_file && !form.file.trim().is_empty()
                            || !form.use_file && doc.1.is_some());
                    if ui
                        .add_enabled(ready, egui::Button::new("Run analyzers"))
                        .clicked()
                    {
                        self.start(ctx, form, (doc.0, doc.1));
                    }
                }
                outcome_ui(ui, self.outcome.as_ref());
                if !self.results.is_empty() {
                    ui.separator();
                    if let Some(t) = self.results_ui(ui, doc.2, last_dir) {
                        action = PanelAction::Seek(t);
                    }
                }
            });
        self.open = open;
        action
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
                    ui.label("text confidence");
                    ui.add(egui::Slider::new(&mut form.text_confidence, 0.0..=1.0));
                    ui.end_row();
                    ui.label("detector (.onnx)");
                    ui.add(
                        egui::TextEdit::singleline(&mut form.detector)
                            .hint_text("installed nudenet-320n")
                            .desired_width(180.0),
                    );
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
                });
        });
    }

    /// Summaries, export buttons, the transcript and the event list; returns a time to seek
    /// to when an event was clicked.
    fn results_ui(
        &mut self,
        ui: &mut egui::Ui,
        now: f64,
        last_dir: Option<&PathBuf>,
    ) -> Option<f64> {
        let mut seek = None;
        ui.horizontal(|ui| {
            if ui.button("Export JSON…").clicked()
                && let Some(p) = dialog(last_dir).set_file_name("analysis.json").save_file()
            {
                self.outcome = Some(
                    analyze::write_results_json(&self.results, &p, true)
                        .map(|()| format!("wrote {}", p.display()))
                        .map_err(|e| e.to_string()),
                );
            }
            if ui.button("Export CSV…").clicked()
                && let Some(p) = dialog(last_dir).set_file_name("analysis.csv").save_file()
            {
                self.outcome = Some(
                    analyze::write_results_csv(&self.results, &p, true)
                        .map(|()| format!("wrote {}", p.display()))
                        .map_err(|e| e.to_string()),
                );
            }
        });
        let followed = &mut self.followed;
        for (r, result) in self.results.iter().enumerate() {
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

/// One colour per track name, stable across runs.
fn track_color(name: &str) -> Color32 {
    let hash = name.bytes().fold(2166136261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    });
    let hue = (hash % 360) as f32 / 360.0;
    egui::ecolor::Hsva::new(hue, 0.65, 0.85, 1.0).into()
}

/// The result tracks under the timeline: one row per analyzer track (objects: one per
/// class), events as bars, the playhead as a line. A click seeks to the event under the
/// pointer (or to the time there). `duration` is the span the timeline covers.
pub fn tracks_ui(
    ui: &mut egui::Ui,
    results: &[AnalysisResult],
    now: f64,
    duration: f64,
) -> Option<f64> {
    // Grouped without formatting per event: an hour of detections is tens of thousands.
    let mut rows: Vec<(String, Vec<&Event>)> = Vec::new();
    for result in results {
        let first = rows.len();
        for e in &result.events {
            match rows[first..]
                .iter_mut()
                .find(|(_, es)| es[0].track == e.track)
            {
                Some((_, events)) => events.push(e),
                None => rows.push((format!("{}: {}", result.analyzer, e.track), vec![e])),
            }
        }
    }
    if rows.is_empty() || duration <= 0.0 {
        return None;
    }
    let mut seek = None;
    let label_width = 150.0;
    let row_height = 14.0;
    for (name, events) in &rows {
        ui.horizontal(|ui| {
            ui.add_sized(
                [label_width, row_height],
                egui::Label::new(egui::RichText::new(name).small()).truncate(),
            );
            let (rect, response) = ui.allocate_exact_size(
                egui::vec2(ui.available_width().max(50.0), row_height),
                egui::Sense::click(),
            );
            let painter = ui.painter_at(rect);
            painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
            let x_of = |t: f64| rect.left() + (t / duration).clamp(0.0, 1.0) as f32 * rect.width();
            let color = track_color(name);
            // Several detections in one frame land on the same pixels; draw those once.
            let mut last_drawn = (f32::NAN, f32::NAN);
            for e in events {
                let (x0, x1) = (x_of(e.start), x_of(e.end).max(x_of(e.start) + 2.0));
                if (x0.round(), x1.round()) == last_drawn {
                    continue;
                }
                last_drawn = (x0.round(), x1.round());
                let bar = Rect::from_x_y_ranges(x0..=x1, rect.top() + 2.0..=rect.bottom() - 2.0);
                painter.rect_filled(bar, 1.0, color.gamma_multiply(0.8));
                if bar.width() > 40.0 {
                    painter.text(
                        bar.left_center() + egui::vec2(2.0, 0.0),
                        egui::Align2::LEFT_CENTER,
                        &e.label,
                        egui::FontId::proportional(10.0),
                        Color32::BLACK,
                    );
                }
            }
            let x = x_of(now);
            painter.line_segment(
                [pos2(x, rect.top()), pos2(x, rect.bottom())],
                Stroke::new(1.5, ui.visuals().strong_text_color()),
            );
            if response.clicked()
                && let Some(p) = response.interact_pointer_pos()
            {
                let t = f64::from((p.x - rect.left()) / rect.width()) * duration;
                let hit = events
                    .iter()
                    .filter(|e| e.start <= t && t <= e.end.max(e.start + duration / 200.0))
                    .map(|e| e.start)
                    .next();
                seek = Some(hit.unwrap_or(t));
            }
            response.on_hover_text(format!("{} events; click to seek", events.len()));
        });
    }
    seek
}

/// Draws detection boxes (with class and score) and recognized text (with its box) of the
/// events under the playhead over the image, which is `image` on screen and
/// `width × height` pixels.
pub fn paint_on_frame(
    painter: &egui::Painter,
    results: &[AnalysisResult],
    now: f64,
    image: Rect,
    (width, height): (usize, usize),
) {
    let sx = image.width() / width.max(1) as f32;
    let sy = image.height() / height.max(1) as f32;
    let to_screen = |b: BoxXywh| {
        Rect::from_min_size(
            pos2(image.left() + b.x * sx, image.top() + b.y * sy),
            egui::vec2(b.w * sx, b.h * sy),
        )
    };
    for result in results {
        for e in &result.events {
            if !(e.start <= now && now < e.end) {
                continue;
            }
            let Some(b) = e.payload.get("box").and_then(BoxXywh::from_json) else {
                continue;
            };
            let rect = to_screen(b);
            let color = if e.track == "text" {
                Color32::from_rgb(255, 220, 60)
            } else {
                track_color(&format!("{}: {}", result.analyzer, e.track))
            };
            painter.rect_stroke(
                rect,
                0.0,
                Stroke::new(2.0, color),
                egui::StrokeKind::Outside,
            );
            let caption = match e.score {
                Some(s) if e.track != "text" => format!("{} {s:.2}", e.label),
                _ => e.label.clone(),
            };
            let galley =
                painter.layout_no_wrap(caption, egui::FontId::proportional(13.0), Color32::BLACK);
            let at = pos2(
                rect.left(),
                (rect.top() - galley.size().y - 2.0).max(image.top()),
            );
            painter.rect_filled(
                Rect::from_min_size(at, galley.size()).expand(2.0),
                2.0,
                color,
            );
            painter.galley(at, galley, Color32::BLACK);
        }
    }
}
