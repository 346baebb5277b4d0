//! Analysis results where the stack is: one track per analyzer track under the timeline
//! (events as bars, a click seeks) and detection boxes and text drawn over the frame.

use eframe::egui::{self, Color32, Rect, Stroke, pos2};

use super::View;
use crate::analyze::vision::BoxXywh;
use crate::analyze::{AnalysisResult, Event};
use crate::gui::command::Command;
use crate::gui::document::Document;

/// The tracks of the results over the open stack, under the timeline.
pub fn timeline_ui(ui: &mut egui::Ui, view: &View, doc: &Document, out: &mut Vec<Command>) {
    if view.results.is_empty() {
        return;
    }
    let meta = doc.stack.meta();
    let last = doc.len().saturating_sub(1);
    let step = if last > 0 {
        (meta.time_of(last) - meta.time_of(0)) / last as f64
    } else {
        1.0
    };
    let duration = view
        .results
        .iter()
        .map(|r| r.duration)
        .fold(meta.time_of(last) + step, f64::max);
    ui.separator();
    let seek = egui::ScrollArea::vertical()
        .id_salt("analysis-tracks")
        .max_height(110.0)
        .show(ui, |ui| {
            tracks_ui(ui, view.results, meta.time_of(doc.frame), duration)
        })
        .inner;
    if let Some(t) = seek {
        out.push(Command::SeekTime(t));
    }
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
