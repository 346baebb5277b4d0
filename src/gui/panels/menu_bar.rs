//! The menu bar: File, View and Help menus, the drawing tools, and Export / Analyze.

use eframe::egui;

use super::View;
use super::load::dialog;
use crate::gui::command::{Command, Window};
use crate::gui::viewer::{Tool, Viewer};

pub fn ui(ui: &mut egui::Ui, view: &View, viewer: &Viewer, out: &mut Vec<Command>) {
    let open = |p: &std::path::Path| Command::OpenDialog(p.display().to_string());
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            if ui.button("Open…").clicked() {
                out.push(Command::OpenDialog(String::new()));
            }
            if ui.button("Open folder…").clicked()
                && let Some(p) = dialog(view.last_dir).pick_folder()
            {
                out.push(open(&p));
            }
            if ui.button("Open file…").clicked()
                && let Some(p) = dialog(view.last_dir).pick_file()
            {
                out.push(open(&p));
            }
            ui.menu_button("Recent", |ui| {
                if view.recent.is_empty() {
                    ui.label("nothing yet");
                }
                for p in view.recent {
                    if ui.button(p.display().to_string()).clicked() {
                        out.push(open(p));
                    }
                }
            });
            ui.separator();
            if ui
                .add_enabled(view.doc.is_some(), egui::Button::new("Export MP4…"))
                .clicked()
            {
                out.push(Command::Show(Window::Export, true));
            }
            if ui.button("Audio to video…").clicked() {
                out.push(Command::Show(Window::Audio, true));
            }
            if ui.button("Analyze…").clicked() {
                out.push(Command::Show(Window::Analyzers, true));
            }
            if ui
                .button("Batch…")
                .on_hover_text("the analyzers over a folder of clips")
                .clicked()
            {
                out.push(Command::Show(Window::Batch, true));
            }
            ui.separator();
            if ui.button("Quit").clicked() {
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        });
        ui.menu_button("View", |ui| {
            if ui.button("Fit (F)").clicked() {
                out.push(Command::Fit);
            }
            if ui.button("1:1 (1)").clicked() {
                out.push(Command::OneToOne);
            }
            let mut colorbar = view.show_colorbar;
            if ui.checkbox(&mut colorbar, "Colorbar").changed() {
                out.push(Command::SetColorbar(colorbar));
            }
            let mut frame_time = view.show_frame_time;
            if ui.checkbox(&mut frame_time, "Frame-time overlay").changed() {
                out.push(Command::Show(Window::FrameTime, frame_time));
            }
            if ui.button("Load report").clicked() {
                out.push(Command::Show(Window::LoadReport, true));
            }
        });
        ui.menu_button("Help", |ui| {
            if ui.button("Keyboard shortcuts (F1)").clicked() {
                out.push(Command::Show(Window::Shortcuts, true));
            }
        });
        ui.separator();
        for tool in Tool::ALL {
            if ui
                .selectable_label(viewer.tool == tool, tool.name())
                .on_hover_text(tool.hint())
                .clicked()
            {
                out.push(Command::SetTool(tool));
            }
        }
        if viewer.tool == Tool::Line {
            ui.label("width");
            let mut width = viewer.line_width;
            if ui
                .add(egui::DragValue::new(&mut width).range(1..=100))
                .changed()
            {
                out.push(Command::SetLineWidth(width));
            }
        }
        ui.separator();
        if ui
            .add_enabled(view.doc.is_some(), egui::Button::new("Export MP4…"))
            .clicked()
        {
            out.push(Command::Show(Window::Export, true));
        }
        if ui
            .button("Analyze…")
            .on_hover_text("text, objects, scenes, speech")
            .clicked()
        {
            out.push(Command::Show(Window::Analyzers, true));
        }
    });
}
