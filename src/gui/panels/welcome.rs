//! What the window shows before a stack is open: how to open one, progress, recent files.

use eframe::egui;

use super::View;
use crate::gui::command::Command;
use crate::gui::jobs::JobKind;
use crate::gui::task::progress_row;

pub fn ui(ui: &mut egui::Ui, view: &View, out: &mut Vec<Command>) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() / 4.0);
        ui.heading("stackscope");
        ui.label("Open a folder of images, a video, a .npy file or a multi-page TIFF,");
        ui.label("or drop one onto this window.");
        ui.add_space(8.0);
        if ui.button("Open…").clicked() {
            out.push(Command::OpenDialog(String::new()));
        }
        if let Some(task) = view.jobs.task(JobKind::Load) {
            progress_row(ui, &task.label, task.job());
        }
        if !view.recent.is_empty() {
            ui.add_space(12.0);
            ui.label("Recent");
            for p in view.recent {
                if ui.link(p.display().to_string()).clicked() {
                    out.push(Command::OpenDialog(p.display().to_string()));
                }
            }
        }
    });
}
