//! The central view: the frame (through the viewer's zoom, pan and drawing tools), analysis
//! boxes over it, the colorbar and the frame-time overlay.

use eframe::egui::{self, Color32};

use super::View;
use crate::gui::command::Command;
use crate::gui::document::Document;
use crate::gui::viewer::Viewer;

pub fn ui(
    ui: &mut egui::Ui,
    view: &View,
    doc: &Document,
    viewer: &mut Viewer,
    show_colorbar: bool,
    frame_time: Option<String>,
    out: &mut Vec<Command>,
) {
    let rect = ui.max_rect();
    viewer.show(ui, doc, out);
    if let Some(image) = viewer.image_rect
        && !view.results.is_empty()
    {
        super::tracks::paint_on_frame(
            &ui.painter_at(rect),
            view.results,
            doc.stack.meta().time_of(doc.frame),
            image,
            doc.size(),
        );
    }
    if show_colorbar {
        colorbar(ui, doc, rect);
    }
    if let Some(text) = frame_time {
        overlay(ui, rect, text);
    }
}

/// The colormap from min to max with the two values, for single-channel data.
fn colorbar(ui: &egui::Ui, doc: &Document, rect: egui::Rect) {
    let single = if doc.showing_layer() {
        doc.layer.as_ref().is_some_and(|l| l.image.shape()[2] == 1)
    } else {
        doc.stack.channels() == 1
    };
    if !single {
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

/// The frame-time summary in the top left corner.
fn overlay(ui: &egui::Ui, rect: egui::Rect, text: String) {
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
