//! The side panel: display mapping with histogram and auto-contrast, reduce, normalization,
//! crop and mask, and the ROI list.

use std::path::PathBuf;

use eframe::egui::{self, Color32, Sense, Stroke, pos2, vec2};

use crate::display::{Colormap, DisplayMapping, Histogram};
use crate::gui::command::Command;
use crate::gui::document::Document;
use crate::gui::forms::NormalizeForm;
use crate::gui::saves::Saved;
use crate::names::Named;
use crate::ops::{ReduceOp, Shape};

/// Fiji's "Auto" saturation.
pub const AUTO_SATURATION: f64 = 0.35;

pub struct OpsPanel {
    pub reduce_op: ReduceOp,
    pub reduce_start: String,
    pub reduce_end: String,
    pub normalize: NormalizeForm,
    pub mask_file: String,
}

impl Default for OpsPanel {
    fn default() -> Self {
        Self {
            reduce_op: ReduceOp::Mean,
            reduce_start: String::new(),
            reduce_end: String::new(),
            normalize: NormalizeForm::default(),
            mask_file: String::new(),
        }
    }
}

impl OpsPanel {
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        doc: &Document,
        colorbar: &mut bool,
        out: &mut Vec<Command>,
    ) {
        panel(ui, self, doc, colorbar, out);
    }
}

fn panel(
    ui: &mut egui::Ui,
    state: &mut OpsPanel,
    doc: &Document,
    colorbar: &mut bool,
    out: &mut Vec<Command>,
) {
    egui::CollapsingHeader::new("Display")
        .default_open(true)
        .show(ui, |ui| display_ui(ui, doc, colorbar, out));
    egui::CollapsingHeader::new("Reduce")
        .default_open(true)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                egui::ComboBox::new("reduce-op", "of")
                    .selected_text(state.reduce_op.name())
                    .show_ui(ui, |ui| {
                        for &op in ReduceOp::VALUES {
                            ui.selectable_value(&mut state.reduce_op, op, op.name());
                        }
                    });
                crate::gui::task::range_fields(
                    ui,
                    &mut state.reduce_start,
                    &mut state.reduce_end,
                    "end",
                );
                if ui.button("Run").clicked() {
                    out.push(Command::RunReduce {
                        op: state.reduce_op,
                        start: state.reduce_start.clone(),
                        end: state.reduce_end.clone(),
                    });
                }
            });
            if let Some(layer) = &doc.layer {
                let mut show = doc.show_layer;
                ui.horizontal(|ui| {
                    ui.radio_value(&mut show, false, "stack");
                    ui.radio_value(&mut show, true, layer.name.as_str());
                    if ui.button("Save…").clicked() {
                        out.push(Command::Save(Saved::Layer));
                    }
                });
                if show != doc.show_layer {
                    out.push(Command::ShowLayer(show));
                }
            }
        });
    egui::CollapsingHeader::new("Normalize")
        .default_open(false)
        .show(ui, |ui| {
            normalize_ui(ui, &mut state.normalize, doc.normalizer.is_some(), out);
        });
    egui::CollapsingHeader::new("Crop and mask")
        .default_open(false)
        .show(ui, |ui| {
            let rect_selected = doc
                .selected_roi
                .and_then(|i| doc.rois.get(i))
                .is_some_and(|r| !matches!(r.shape, Shape::Probe { .. }));
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(rect_selected, egui::Button::new("Crop to ROI"))
                    .on_hover_text("crop the stack to the selected ROI's bounding box")
                    .clicked()
                {
                    out.push(Command::CropToRoi);
                }
                if ui
                    .add_enabled(rect_selected, egui::Button::new("Mask from ROI"))
                    .on_hover_text("keep only the pixels inside the selected ROI")
                    .clicked()
                {
                    out.push(Command::MaskFromRoi);
                }
            });
            ui.horizontal(|ui| {
                ui.add(
                    egui::TextEdit::singleline(&mut state.mask_file)
                        .desired_width(140.0)
                        .hint_text("mask image"),
                );
                if ui.button("…").clicked()
                    && let Some(p) = rfd::FileDialog::new().pick_file()
                {
                    state.mask_file = p.display().to_string();
                }
                if ui.button("Apply").clicked() && !state.mask_file.trim().is_empty() {
                    out.push(Command::MaskFromFile(PathBuf::from(state.mask_file.trim())));
                }
            });
            if doc.mask.is_some() && ui.button("Clear mask").clicked() {
                out.push(Command::ClearMask);
            }
        });
    egui::CollapsingHeader::new(format!("ROIs ({})", doc.rois.len()))
        .default_open(true)
        .show(ui, |ui| {
            for (i, roi) in doc.rois.iter().enumerate() {
                ui.horizontal(|ui| {
                    let selected = doc.selected_roi == Some(i);
                    let text = egui::RichText::new(format!("{} {}", i + 1, roi.shape.kind()))
                        .color(roi.color);
                    if ui.selectable_label(selected, text).clicked() {
                        out.push(Command::SelectRoi(Some(i)));
                    }
                    if ui.small_button("x").on_hover_text("delete").clicked() {
                        out.push(Command::RemoveRoi(i));
                    }
                });
            }
            if !doc.rois.is_empty() && ui.button("Save curves as CSV…").clicked() {
                out.push(Command::Save(Saved::Curves));
            }
        });
}

fn display_ui(ui: &mut egui::Ui, doc: &Document, colorbar: &mut bool, out: &mut Vec<Command>) {
    let mut m = doc.active_mapping();
    let single = doc.showing_layer() && doc.layer.as_ref().is_some_and(|l| l.image.shape()[2] == 1)
        || !doc.showing_layer() && doc.stack.channels() == 1;
    ui.add_enabled_ui(single, |ui| {
        egui::ComboBox::from_label("colormap")
            .selected_text(m.colormap.name())
            .show_ui(ui, |ui| {
                for c in Colormap::ALL {
                    ui.selectable_value(&mut m.colormap, c, c.name());
                }
            });
    });
    let speed = ((m.max - m.min).abs() / 200.0).max(0.01);
    ui.horizontal(|ui| {
        let name = ui.label("min").id;
        ui.add(egui::DragValue::new(&mut m.min).speed(speed))
            .labelled_by(name);
        let name = ui.label("max").id;
        ui.add(egui::DragValue::new(&mut m.max).speed(speed))
            .labelled_by(name);
    });
    ui.add(
        egui::Slider::new(&mut m.gamma, 0.1..=5.0)
            .logarithmic(true)
            .text("gamma"),
    );
    ui.horizontal(|ui| {
        if ui
            .button("Auto")
            .on_hover_text("saturate 0.35 % of the pixels")
            .clicked()
            && let Some(h) = &doc.histogram
        {
            (m.min, m.max) = h.auto_contrast(AUTO_SATURATION);
        }
        if ui.button("Full range").clicked()
            && let Some(h) = &doc.histogram
        {
            (m.min, m.max) = (h.min, h.max);
        }
        if ui.button("Reset").clicked() {
            m = DisplayMapping::default();
            if (doc.transformed() || doc.showing_layer())
                && let Some(h) = &doc.histogram
            {
                (m.min, m.max) = (h.min, h.max);
            }
        }
        ui.checkbox(colorbar, "colorbar");
    });
    if let Some(h) = &doc.histogram {
        histogram_ui(ui, h, &m);
    }
    if m != doc.active_mapping() {
        out.push(Command::SetMapping(m));
    }
}

/// Log-scaled counts with the levels marked.
fn histogram_ui(ui: &mut egui::Ui, h: &Histogram, m: &DisplayMapping) {
    let (rect, _) = ui.allocate_exact_size(vec2(ui.available_width(), 70.0), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    let peak = h.counts.iter().copied().max().unwrap_or(1).max(1) as f32;
    let n = h.counts.len().max(1) as f32;
    let bar = rect.width() / n;
    for (i, &c) in h.counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let t = (c as f32).ln_1p() / peak.ln_1p();
        let x = rect.left() + i as f32 * bar;
        painter.rect_filled(
            egui::Rect::from_min_max(
                pos2(x, rect.bottom() - t * rect.height()),
                pos2(x + bar.max(1.0), rect.bottom()),
            ),
            0.0,
            Color32::from_gray(170),
        );
    }
    let span = (h.max - h.min).max(f32::EPSILON);
    for (v, color) in [(m.min, Color32::LIGHT_BLUE), (m.max, Color32::LIGHT_RED)] {
        let x = rect.left() + ((v - h.min) / span).clamp(0.0, 1.0) * rect.width();
        painter.line_segment(
            [pos2(x, rect.top()), pos2(x, rect.bottom())],
            Stroke::new(1.5, color),
        );
    }
    ui.label(format!("data {:.4} … {:.4}", h.min, h.max));
}

fn normalize_ui(ui: &mut egui::Ui, f: &mut NormalizeForm, active: bool, out: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.checkbox(&mut f.subtract, "subtract");
        ui.checkbox(&mut f.divide, "divide");
        if ui
            .button("dF/F")
            .on_hover_text("subtract and divide by the reference")
            .clicked()
        {
            f.subtract = true;
            f.divide = true;
        }
    });
    ui.horizontal(|ui| {
        ui.radio_value(&mut f.reference, 0, "range");
        ui.radio_value(&mut f.reference, 1, "sliding window");
        ui.radio_value(&mut f.reference, 2, "file");
    });
    match f.reference {
        1 => {
            ui.horizontal(|ui| {
                ui.label("window");
                ui.add(egui::DragValue::new(&mut f.window).range(1..=100_000));
                ui.label("lag");
                ui.add(egui::DragValue::new(&mut f.lag).range(0..=100_000));
            });
        }
        2 => {
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(&mut f.file).desired_width(150.0));
                if ui.button("…").clicked()
                    && let Some(p) = rfd::FileDialog::new().pick_file()
                {
                    f.file = p.display().to_string();
                }
            });
        }
        _ => {
            ui.horizontal(|ui| {
                egui::ComboBox::new("norm-op", "of")
                    .selected_text(f.op.name())
                    .show_ui(ui, |ui| {
                        for &op in ReduceOp::VALUES {
                            ui.selectable_value(&mut f.op, op, op.name());
                        }
                    });
                crate::gui::task::range_fields(ui, &mut f.start, &mut f.end, "end");
            });
        }
    }
    ui.add(egui::Slider::new(&mut f.amount_percent, 0.0..=100.0).text("amount %"));
    ui.add(egui::Slider::new(&mut f.blur, 0.0..=20.0).text("reference blur σ"));
    ui.horizontal(|ui| {
        if ui.button(if active { "Update" } else { "Apply" }).clicked() {
            out.push(Command::Normalize(f.clone()));
        }
        if active && ui.button("Off").clicked() {
            out.push(Command::NormalizeOff);
        }
    });
}
