//! The timeline: Play / Pause, the frame number and slider, playback rate, loop, and the
//! in-between frames shown while playing (the export's interpolation, previewed).

use eframe::egui;

use super::View;
use crate::gui::command::Command;
use crate::gui::document::Document;
use crate::gui::forms::PlaybackForm;

pub fn ui(
    ui: &mut egui::Ui,
    view: &View,
    doc: &Document,
    playback: &mut PlaybackForm,
    out: &mut Vec<Command>,
) {
    let n = doc.len();
    ui.horizontal(|ui| {
        let label = if view.playing { "Pause" } else { "Play" };
        if ui
            .button(label)
            .on_hover_text("play / pause (Space)")
            .clicked()
        {
            out.push(Command::TogglePlay);
        }
        let mut frame = doc.frame;
        let name = ui.label("Frame").id;
        ui.add(egui::DragValue::new(&mut frame).range(0..=n.saturating_sub(1)))
            .labelled_by(name);
        ui.label(format!("frame {} / {}", doc.frame, n));
        let width = (ui.available_width() - 400.0).max(100.0);
        ui.spacing_mut().slider_width = width;
        ui.add(egui::Slider::new(&mut frame, 0..=n.saturating_sub(1)).show_value(false))
            .labelled_by(name);
        if frame != doc.frame {
            out.push(Command::Seek(frame));
        }
        ui.add(
            egui::DragValue::new(&mut playback.fps)
                .range(0.1..=1000.0)
                .suffix(" fps"),
        );
        let steps = ui.label("in-between").id;
        ui.add(egui::DragValue::new(&mut playback.steps).range(0..=crate::interp::MAX_STEPS))
            .labelled_by(steps)
            .on_hover_text(
                "blended frames shown between source frames while playing, as an export with \
                 this many interpolation steps will have them",
            );
        ui.checkbox(&mut playback.looping, "loop");
        if let Some(t) = doc.stack.meta().frame_time_secs(doc.frame) {
            ui.label(format!("{t:.3} s"));
        }
    });
}
