//! The load report window: what was loaded, how, what was skipped and why.

use eframe::egui;

use super::View;

pub fn ui(ctx: &egui::Context, view: &View, open: &mut bool) {
    let Some(doc) = view.doc.filter(|_| *open) else {
        return;
    };
    let report = doc.report.to_string();
    let guard = doc.report.guard_message();
    // A fixed default size rather than one that follows the text: the report names the
    // source's path, and a window that grew with it would jump about between folders.
    egui::Window::new("Load report")
        .open(open)
        .default_size([460.0, 200.0])
        .show(ctx, |ui| {
            if let Some(g) = guard {
                ui.colored_label(ui.visuals().warn_fg_color, g);
            }
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    ui.add(egui::Label::new(egui::RichText::new(report).monospace()).wrap());
                });
        });
}
