//! The status bar: stack shape and memory, zoom, the pixel under the cursor, the background
//! jobs with progress and Cancel, the renderer and the blend device, the last message.

use eframe::egui::{self, Color32};

use super::View;
use crate::gui::viewer::Viewer;

/// What the status bar says besides the document: the last message, a GPU error, and what
/// draws the window.
pub struct Line<'a> {
    pub status: Option<&'a (String, bool)>,
    pub gpu_error: Option<&'a str>,
    pub renderer: &'a str,
    /// The blender drawing interpolated playback, once open.
    pub blend_device: Option<&'a str>,
}

pub fn ui(ui: &mut egui::Ui, view: &View, viewer: &Viewer, line: Line) {
    if let Some(e) = line.gpu_error {
        ui.colored_label(
            Color32::LIGHT_RED,
            format!("GPU error (the view may be incomplete): {e}"),
        );
    }
    ui.horizontal(|ui| {
        if let Some(doc) = view.doc {
            let [n, h, w, c] = doc.stack.shape();
            ui.label(format!("{n}×{h}×{w}×{c}"));
            ui.separator();
            ui.label(doc.memory_text());
            ui.separator();
            let shrink = doc.texture_shrink();
            if shrink > 1 {
                // Larger than the GPU's texture limit: drawn from a smaller copy.
                ui.label(format!(
                    "zoom {:.0} % (shown downscaled 1/{shrink}: wider than the GPU's texture limit)",
                    viewer.shown_zoom * 100.0
                ));
            } else {
                ui.label(format!("zoom {:.0} %", viewer.shown_zoom * 100.0));
            }
            if let Some(frame) = doc.reading() {
                ui.separator();
                ui.spinner();
                ui.label(format!("reading frame {frame} from disk…"));
            }
            if doc.blend() > 0 {
                ui.separator();
                let device = line.blend_device.unwrap_or("cpu kernel");
                ui.label(format!("blend {}/256 on {device}", doc.blend()));
            }
            if let Some((x, y)) = viewer.hover
                && let Some((raw, shown)) = doc.pixel(x, y)
            {
                ui.separator();
                let raw: Vec<String> = raw.iter().map(u8::to_string).collect();
                let shown: Vec<String> = shown.iter().map(|v| format!("{v:.4}")).collect();
                let value = if doc.transformed() || doc.showing_layer() {
                    format!("raw {}, shown {}", raw.join(","), shown.join(","))
                } else {
                    raw.join(",")
                };
                ui.label(format!("x {x} y {y}: {value}"));
            }
            ui.separator();
        }
        for (kind, label, job) in view.jobs.all() {
            if !kind.shown_by_dialog() {
                crate::gui::task::progress_row(ui, label, job);
            }
        }
        if let Some((message, is_error)) = line.status {
            if *is_error {
                ui.colored_label(ui.visuals().error_fg_color, message);
            } else {
                ui.label(message);
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.weak(format!("renderer: {}", line.renderer));
        });
    });
}
