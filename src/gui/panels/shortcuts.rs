//! Keyboard shortcuts: the keys (turned into commands here, and only here), the list the
//! Help window shows, and files dropped on the window.

use eframe::egui::{self, Key};

use crate::gui::command::{Command, Window};
use crate::gui::viewer::Tool;

pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Left / Right", "previous / next frame"),
    ("Shift + Left / Right", "10 frames back / forward"),
    ("Home / End", "first / last frame"),
    ("Space", "play / pause"),
    ("F", "fit the image to the view"),
    ("1", "zoom 1:1"),
    ("+ / −, wheel", "zoom in / out"),
    ("middle drag", "pan (or drag empty space with Select)"),
    (
        "S R O P X L",
        "tools: select, rectangle, ellipse, polygon, probe, line",
    ),
    ("Enter / Esc", "finish / cancel a polygon or line"),
    ("Delete", "remove the selected ROI"),
    ("Ctrl + E", "export MP4"),
    ("F1", "this list"),
];

/// The commands this frame's keys and dropped files ask for (none while a text field has
/// the keyboard).
pub fn collect(ctx: &egui::Context, out: &mut Vec<Command>) {
    let dropped = ctx.input(|i| {
        i.raw
            .dropped_files
            .first()
            .map(|f| f.path().to_path_buf())
            .filter(|p| !p.as_os_str().is_empty())
    });
    if let Some(path) = dropped {
        out.push(Command::OpenDialog(path.display().to_string()));
    }
    if ctx.egui_wants_keyboard_input() {
        return;
    }
    ctx.input(|i| {
        let big = if i.modifiers.shift { 10 } else { 1 };
        let pressed = |k| i.key_pressed(k);
        let keys = [
            (pressed(Key::ArrowRight), Command::StepFrames(big)),
            (pressed(Key::ArrowLeft), Command::StepFrames(-big)),
            (pressed(Key::Home), Command::Seek(0)),
            (pressed(Key::End), Command::SeekLast),
            (pressed(Key::Space), Command::TogglePlay),
            (pressed(Key::F), Command::Fit),
            (pressed(Key::Num1), Command::OneToOne),
            (
                pressed(Key::Plus) || pressed(Key::Equals),
                Command::Zoom(1.25),
            ),
            (pressed(Key::Minus), Command::Zoom(0.8)),
            (pressed(Key::F1), Command::Toggle(Window::Shortcuts)),
            (
                i.modifiers.command && pressed(Key::E),
                Command::Show(Window::Export, true),
            ),
        ];
        out.extend(keys.into_iter().filter(|(on, _)| *on).map(|(_, c)| c));
        let tool = [Key::S, Key::R, Key::O, Key::P, Key::X, Key::L]
            .iter()
            .position(|k| pressed(*k) && !i.modifiers.command);
        if let Some(t) = tool {
            out.push(Command::SetTool(Tool::ALL[t]));
        }
    });
}

/// The Help window listing the shortcuts.
pub fn window(ctx: &egui::Context, open: &mut bool) {
    egui::Window::new("Keyboard shortcuts")
        .open(open)
        .show(ctx, |ui| {
            egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                for (keys, what) in SHORTCUTS {
                    ui.monospace(*keys);
                    ui.label(*what);
                    ui.end_row();
                }
            });
        });
}
