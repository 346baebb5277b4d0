//! The bottom panel: ROI time curves with the current frame marked (click to seek), and the
//! line profile of the current frame with its min/max envelope over frames and the
//! kymograph.

use eframe::egui::{self, Color32};
use egui_plot::{FilledArea, HLine, Legend, Line, Plot, PlotImage, PlotPoint, PlotPoints, VLine};

use super::View;
use crate::display::DisplayMapping;
use crate::gui::command::Command;
use crate::gui::document::Document;
use crate::gui::jobs::JobKind;
use crate::gui::saves::Saved;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlotTab {
    #[default]
    Curves,
    Profile,
    Kymograph,
    /// The storyboard analyzer's scenes as cards ([`super::storyboard`]).
    Storyboard,
}

#[derive(Default)]
pub struct Plots {
    pub tab: PlotTab,
    kymo_texture: Option<(usize, egui::TextureHandle)>,
    storyboard: super::storyboard::StoryboardTab,
}

const CHANNEL_NAMES: [&str; 3] = ["r", "g", "b"];

/// Red, green and blue curves of one ROI, tinted towards the ROI's colour so that ROIs stay
/// told apart.
fn channel_color(roi: Color32, c: usize, channels: usize) -> Color32 {
    if channels != 3 {
        return roi;
    }
    let pure = [
        Color32::from_rgb(235, 70, 70),
        Color32::from_rgb(80, 200, 80),
        Color32::from_rgb(90, 130, 255),
    ][c];
    pure.lerp_to_gamma(roi, 0.25)
}

fn channel_label(c: usize, channels: usize) -> String {
    if channels == 1 {
        String::new()
    } else {
        format!(" {}", CHANNEL_NAMES.get(c).copied().unwrap_or("?"))
    }
}

impl Plots {
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &View, doc: &Document, out: &mut Vec<Command>) {
        let busy = view.jobs.running(JobKind::Curves) || view.jobs.running(JobKind::Profile);
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.tab, PlotTab::Curves, "ROI curves");
            ui.selectable_value(&mut self.tab, PlotTab::Profile, "Line profile");
            ui.selectable_value(&mut self.tab, PlotTab::Kymograph, "Kymograph");
            ui.selectable_value(&mut self.tab, PlotTab::Storyboard, "Storyboard");
            if busy {
                ui.spinner();
            }
            if matches!(self.tab, PlotTab::Profile | PlotTab::Kymograph) && doc.line.is_some() {
                if ui.button("Profile CSV…").clicked() {
                    out.push(Command::Save(Saved::Profile));
                }
                if ui.button("Kymograph PNG…").clicked() {
                    out.push(Command::Save(Saved::Kymograph));
                }
            }
        });
        let seek = match self.tab {
            PlotTab::Curves => curves_ui(ui, doc),
            PlotTab::Profile => {
                profile_ui(ui, doc);
                None
            }
            PlotTab::Kymograph => self.kymograph_ui(ui, doc),
            PlotTab::Storyboard => {
                let now = doc.stack.meta().time_of(doc.frame);
                self.storyboard.ui(ui, view, now, out);
                None
            }
        };
        if let Some(frame) = seek {
            out.push(Command::Seek(frame));
        }
    }

    /// The size of the kymograph as drawn (shrunk past the texture limit), once drawn.
    pub fn kymograph_texture_size(&self) -> Option<[usize; 2]> {
        self.kymo_texture.as_ref().map(|(_, t)| t.size())
    }

    /// The kymograph on position and frame axes (frame 0 at the top), with the current
    /// frame marked; a click seeks to the frame clicked.
    fn kymograph_ui(&mut self, ui: &mut egui::Ui, doc: &Document) -> Option<usize> {
        let Some(kymo) = doc.line.as_ref().and_then(|l| l.kymograph.as_ref()) else {
            ui.label("Draw a line (Line tool) to see its kymograph: one row per frame.");
            return None;
        };
        let key = kymo.as_ptr() as usize;
        if self.kymo_texture.as_ref().is_none_or(|(k, _)| *k != key) {
            let (n, positions, _) = kymo.dim();
            let mapping = DisplayMapping::automatic(kymo.view());
            let rgba = mapping.rgba_from_f32(kymo.view());
            let image = egui::ColorImage::from_rgba_unmultiplied([positions, n], &rgba);
            // More frames than the texture limit: shown resampled, saved at full size.
            let (image, _) = crate::gui::texture::fit(ui.ctx(), image);
            let texture = ui
                .ctx()
                .load_texture("kymograph", image, egui::TextureOptions::NEAREST);
            self.kymo_texture = Some((key, texture));
        }
        let (_, texture) = self.kymo_texture.as_ref()?;
        let (n, positions, _) = kymo.dim();
        let (n, positions) = (n as f64, positions as f64);
        let mut seek = None;
        // Frames grow downwards: the plot's y is −frame, labelled as the frame.
        Plot::new("kymograph")
            .x_axis_label("position (samples along the line)")
            .y_axis_label("frame")
            .y_axis_formatter(|mark, _| format!("{:.0}", -mark.value))
            .allow_double_click_reset(true)
            .show(ui, |plot| {
                plot.image(PlotImage::new(
                    "kymograph",
                    texture.id(),
                    PlotPoint::new(positions / 2.0, -n / 2.0),
                    [positions as f32, n as f32],
                ));
                plot.hline(HLine::new("frame", -(doc.frame as f64) - 0.5).color(Color32::WHITE));
                if plot.response().clicked() {
                    seek = plot
                        .pointer_coordinate()
                        .map(|p| (-p.y).floor().clamp(0.0, n - 1.0) as usize);
                }
            });
        seek
    }
}

fn curves_ui(ui: &mut egui::Ui, doc: &Document) -> Option<usize> {
    let Some((_, curves)) = &doc.curves else {
        ui.label(
            "Draw a rectangle, ellipse, polygon or probe on the image to see its mean over time.",
        );
        return None;
    };
    let mut seek = None;
    let frame = doc.frame as f64;
    let response = Plot::new("roi-curves")
        .legend(Legend::default())
        .x_axis_label("frame")
        .allow_double_click_reset(true)
        .show(ui, |plot| {
            for (i, curve) in curves.iter().enumerate() {
                let color = doc.rois.get(i).map_or(Color32::GRAY, |r| r.color);
                let channels = curve.stats.first().map_or(0, Vec::len);
                for c in 0..channels {
                    let points: PlotPoints = curve
                        .stats
                        .iter()
                        .enumerate()
                        .map(|(t, s)| [t as f64, f64::from(s[c].mean)])
                        .collect();
                    let name = format!(
                        "{} {}{}",
                        i + 1,
                        curve.shape.kind(),
                        channel_label(c, channels)
                    );
                    plot.line(Line::new(name, points).color(channel_color(color, c, channels)));
                }
            }
            plot.vline(VLine::new("frame", frame).color(Color32::WHITE));
            if plot.response().clicked() {
                seek = plot
                    .pointer_coordinate()
                    .map(|p| p.x.round().max(0.0) as usize);
            }
        });
    drop(response);
    seek
}

fn profile_ui(ui: &mut egui::Ui, doc: &Document) {
    let Some(line) = &doc.line else {
        ui.label("Draw a line with the Line tool to see its profile.");
        return;
    };
    let samples = line.spec.samples();
    if samples.is_empty() {
        return;
    }
    let Some(current) = doc.current_profile(&line.spec, &samples) else {
        return;
    };
    let distances: Vec<f64> = samples.iter().map(|s| f64::from(s.distance)).collect();
    let channels = current.shape()[1];
    Plot::new("line-profile")
        .legend(Legend::default())
        .x_axis_label("distance (px)")
        .show(ui, |plot| {
            for c in 0..channels {
                if let Some(env) = &line.envelope {
                    let lo: Vec<f64> = env.min.column(c).iter().map(|&v| f64::from(v)).collect();
                    let hi: Vec<f64> = env.max.column(c).iter().map(|&v| f64::from(v)).collect();
                    plot.add(
                        FilledArea::new(
                            format!("min–max{}", channel_label(c, channels)),
                            &distances,
                            &lo,
                            &hi,
                        )
                        .fill_color(Color32::from_rgba_unmultiplied(100, 160, 255, 50)),
                    );
                }
                let points: PlotPoints = distances
                    .iter()
                    .zip(current.column(c))
                    .map(|(&d, &v)| [d, f64::from(v)])
                    .collect();
                plot.line(
                    Line::new(
                        format!("frame {}{}", doc.frame, channel_label(c, channels)),
                        points,
                    )
                    .color(channel_color(Color32::WHITE, c, channels)),
                );
            }
        });
}
