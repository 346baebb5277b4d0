//! The Storyboard tab of the bottom panel: the storyboard result's scenes as cards in time
//! order (thumbnail, span, summary line), the one under the playhead marked and scrolled
//! into view; a click on a card seeks to its scene, and "Save report…" writes the same HTML
//! page as `--html`.

use std::collections::HashMap;

use eframe::egui;

use super::View;
use crate::analyze::AnalysisResult;
use crate::analyze::report::clock;
use crate::analyze::storyboard::{self, SceneRecord};
use crate::gui::command::{Command, Window};
use crate::gui::saves::Saved;

/// Card width in points; thumbnails are drawn at this width.
const CARD_WIDTH: f32 = 200.0;

#[derive(Default)]
pub struct StoryboardTab {
    /// The storyboard shown: which one (`key`), its records (parsed once, not per frame)
    /// and the thumbnails uploaded so far, by scene.
    key: Option<(std::path::PathBuf, u64)>,
    records: Vec<SceneRecord>,
    textures: HashMap<usize, egui::TextureHandle>,
    /// The scene last scrolled into view, so the cards follow playback without fighting
    /// the user's scrolling in between.
    followed: Option<usize>,
}

/// What a storyboard result is told apart by: its clip and when it took how long.
fn identity(board: &AnalysisResult) -> (std::path::PathBuf, u64) {
    (board.source.clone(), board.elapsed.to_bits())
}

impl StoryboardTab {
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &View, now: f64, out: &mut Vec<Command>) {
        let Some(board) = view.results.iter().find(|r| r.analyzer == "storyboard") else {
            ui.horizontal(|ui| {
                ui.label("No storyboard yet: run the storyboard analyzer for one card per scene.");
                if ui.button("Analyzers…").clicked() {
                    out.push(Command::Show(Window::Analyzers, true));
                }
            });
            return;
        };
        if self.key.as_ref() != Some(&identity(board)) {
            self.textures.clear();
            self.records = storyboard::records(board);
            self.key = Some(identity(board));
            self.followed = None;
        }
        let Self {
            records,
            textures,
            followed,
            ..
        } = self;
        ui.horizontal(|ui| {
            ui.label(format!(
                "{} scenes; summaries in {}",
                records.len(),
                board
                    .summary
                    .get("summary_language")
                    .and_then(|l| l.as_str())
                    .unwrap_or("en")
            ));
            if ui
                .button("Save report…")
                .on_hover_text("one self-contained HTML page, as `analyze --html` writes")
                .clicked()
            {
                out.push(Command::Save(Saved::Report));
            }
        });
        let mut seek = None;
        egui::ScrollArea::horizontal()
            .id_salt("storyboard-cards")
            .show(ui, |ui| {
                ui.horizontal_top(|ui| {
                    for record in records.iter() {
                        let here = record.start <= now && now < record.end;
                        let card = card(ui, textures, record, here);
                        if card.clicked() {
                            seek = Some(record.start);
                        }
                        if here && *followed != Some(record.scene) {
                            card.scroll_to_me(Some(egui::Align::Center));
                            *followed = Some(record.scene);
                        }
                    }
                });
            });
        if let Some(t) = seek {
            out.push(Command::SeekTime(t));
        }
    }
}

/// One scene: thumbnail, span and summary in a frame that takes clicks.
fn card(
    ui: &mut egui::Ui,
    textures: &mut HashMap<usize, egui::TextureHandle>,
    record: &SceneRecord,
    here: bool,
) -> egui::Response {
    // Thumbnails are decoded and uploaded when their card first scrolls into view, so an
    // hour of scenes costs nothing until it is looked at.
    let area = egui::Rect::from_min_size(ui.cursor().min, egui::vec2(CARD_WIDTH, 1.0));
    let texture = if ui.is_rect_visible(area.expand2(egui::vec2(CARD_WIDTH, 0.0))) {
        texture(ui.ctx(), textures, record)
    } else {
        None
    };
    let stroke = if here {
        ui.visuals().selection.stroke
    } else {
        ui.visuals().widgets.noninteractive.bg_stroke
    };
    let frame = egui::Frame::group(ui.style())
        .stroke(stroke)
        .show(ui, |ui| {
            ui.set_width(CARD_WIDTH);
            ui.vertical(|ui| {
                match texture {
                    Some(texture) => {
                        let [w, h] = texture.size();
                        let height = CARD_WIDTH * h as f32 / w.max(1) as f32;
                        ui.add(
                            egui::Image::new((texture.id(), egui::vec2(CARD_WIDTH, height)))
                                .sense(egui::Sense::hover()),
                        );
                    }
                    // Not yet in view: the space a 16:9 thumbnail takes.
                    None if record.thumbnail.is_some() => {
                        ui.allocate_space(egui::vec2(CARD_WIDTH, CARD_WIDTH * 9.0 / 16.0));
                    }
                    None => {}
                }
                ui.strong(format!(
                    "Scene {}  {} – {}",
                    record.scene,
                    clock(record.start),
                    clock(record.end)
                ));
                ui.add(egui::Label::new(&record.summary).wrap());
            });
        });
    let response = ui
        .interact(
            frame.response.rect,
            ui.scope_id().with(("storyboard-card", record.scene)),
            egui::Sense::click(),
        )
        .on_hover_ui(|ui| details_ui(ui, record))
        .on_hover_cursor(egui::CursorIcon::PointingHand);
    // Named for screen readers (and the tests, which find a card by it).
    let label = format!("scene {}: {}", record.scene, record.summary);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
    response
}

/// A record's thumbnail as a texture, uploaded the first time it is asked for.
fn texture(
    ctx: &egui::Context,
    textures: &mut HashMap<usize, egui::TextureHandle>,
    record: &SceneRecord,
) -> Option<egui::TextureHandle> {
    if let Some(t) = textures.get(&record.scene) {
        return Some(t.clone());
    }
    let rgb = storyboard::decode_thumbnail(record.thumbnail.as_deref()?)?;
    let size = [rgb.width() as usize, rgb.height() as usize];
    let image = egui::ColorImage::from_rgb(size, rgb.as_raw());
    let texture = ctx.load_texture(
        format!("storyboard-{}", record.scene),
        image,
        egui::TextureOptions::LINEAR,
    );
    textures.insert(record.scene, texture.clone());
    Some(texture)
}

/// What a card's tooltip lists: the scene's objects, lines and words, as the report's card.
fn details_ui(ui: &mut egui::Ui, record: &SceneRecord) {
    ui.set_max_width(360.0);
    for o in &record.objects {
        ui.label(format!(
            "{}: {} – {}, in {:.0}% of the sampled frames",
            o.label,
            clock(o.first),
            clock(o.last),
            o.coverage * 100.0
        ));
    }
    for t in &record.text {
        ui.label(format!(
            "“{}” {} – {}",
            t.text,
            clock(t.start),
            clock(t.end)
        ));
    }
    if let Some(speech) = record.speech.as_ref().filter(|s| s.words > 0) {
        ui.add(egui::Label::new(egui::RichText::new(&speech.transcript).italics()).wrap());
    }
    ui.weak("click: show this scene");
}
