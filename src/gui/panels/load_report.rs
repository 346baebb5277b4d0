//! The load report window: what was loaded, how, what was skipped and why.

use eframe::egui;

use super::View;

pub fn ui(ctx: &egui::Context, view: &View, open: &mut bool) {
    let Some(doc) = view.doc.filter(|_| *open) else {
        return;
    };
    let report = doc.report.to_string();
    let guard = doc.report.guard_message();
    egui::Window::new("Load report").open(open).show(ctx, |ui| {
        if let Some(g) = guard {
            ui.colored_label(ui.visuals().warn_fg_color, g);
        }
        egui::ScrollArea::vertical()
            .max_height(300.0)
            .show(ui, |ui| {
                ui.monospace(report);
            });
    });
}
