//! The image view: the current frame's texture with zoom and pan, the pixel under the
//! cursor, and the drawing tools for ROIs and the profile line (with move and resize
//! handles on the selected ROI).

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Stroke, StrokeKind, Vec2, pos2, vec2};

use super::command::Command;
use super::document::Document;
use super::shapes::{bbox, contains, from_box, handles, move_shape, set_handle};
use crate::ops::{LineSpec, Shape};

/// What a primary-button drag or click on the image does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tool {
    /// Select, move and resize ROIs; drag elsewhere pans.
    #[default]
    Select,
    Rect,
    Ellipse,
    Polygon,
    Probe,
    Line,
}

impl Tool {
    pub const ALL: [Tool; 6] = [
        Tool::Select,
        Tool::Rect,
        Tool::Ellipse,
        Tool::Polygon,
        Tool::Probe,
        Tool::Line,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Select => "Select",
            Tool::Rect => "Rectangle",
            Tool::Ellipse => "Ellipse",
            Tool::Polygon => "Polygon",
            Tool::Probe => "Probe",
            Tool::Line => "Line",
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            Tool::Select => "click a ROI to select it, drag it or its handles; Delete removes it",
            Tool::Rect | Tool::Ellipse => "drag to draw",
            Tool::Polygon => "click the corners, double-click or Enter to close, Esc to cancel",
            Tool::Probe => "click a pixel",
            Tool::Line => "drag, or click points and double-click / Enter to finish",
        }
    }
}

enum Edit {
    Move {
        roi: usize,
        from: Pos2,
        original: Shape,
    },
    Handle {
        roi: usize,
        handle: usize,
        original: Shape,
    },
    Pan,
}

pub struct Viewer {
    /// Screen points per image pixel; `None`: fit to the view.
    zoom: Option<f32>,
    pan: Vec2,
    pub tool: Tool,
    drag_from: Option<Pos2>,
    pending: Vec<Pos2>,
    edit: Option<Edit>,
    pub line_width: usize,
    /// Image pixel under the cursor.
    pub hover: Option<(usize, usize)>,
    /// Last computed fit zoom, for the 1:1 / zoom readout.
    pub shown_zoom: f32,
    /// Where the image was drawn last, in screen points.
    pub image_rect: Option<Rect>,
}

impl Default for Viewer {
    fn default() -> Self {
        Self {
            zoom: None,
            pan: Vec2::ZERO,
            tool: Tool::Select,
            drag_from: None,
            pending: Vec::new(),
            edit: None,
            line_width: 1,
            hover: None,
            shown_zoom: 1.0,
            image_rect: None,
        }
    }
}

const HANDLE_RADIUS: f32 = 5.0;

impl Viewer {
    pub fn fit(&mut self) {
        self.zoom = None;
        self.pan = Vec2::ZERO;
    }

    pub fn one_to_one(&mut self) {
        self.zoom = Some(1.0);
        self.pan = Vec2::ZERO;
    }

    pub fn zoom_by(&mut self, factor: f32) {
        self.zoom = Some((self.shown_zoom * factor).clamp(0.02, 64.0));
    }

    /// Drops a half-drawn shape (Esc).
    pub fn cancel_drawing(&mut self) {
        self.pending.clear();
        self.drag_from = None;
    }

    /// Draws the view into the rest of `ui`; the user's edits become commands.
    pub fn show(&mut self, ui: &mut egui::Ui, doc: &Document, out: &mut Vec<Command>) {
        let (w, h) = doc.size();
        let size = vec2(w as f32, h as f32);
        let (rect, response) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
        let fit = (rect.width() / size.x)
            .min(rect.height() / size.y)
            .max(0.01);
        let mut zoom = self.zoom.unwrap_or(fit);

        // Wheel zooms about the cursor.
        if response.hovered() {
            let scroll = ui.input(|i| i.smooth_scroll_delta.y);
            let pinch = ui.input(|i| i.zoom_delta());
            let factor = (scroll / 300.0).exp() * pinch;
            if (factor - 1.0).abs() > 1e-4
                && let Some(cursor) = response.hover_pos()
            {
                let new_zoom = (zoom * factor).clamp(0.02, 64.0);
                let origin = rect.center() + self.pan - size * zoom / 2.0;
                let image_point = (cursor - origin) / zoom;
                let new_origin = cursor - image_point * new_zoom;
                self.pan = new_origin - (rect.center() - size * new_zoom / 2.0);
                zoom = new_zoom;
                self.zoom = Some(zoom);
            }
        }
        self.shown_zoom = zoom;
        let origin = rect.center() + self.pan - size * zoom / 2.0;
        let to_image = |p: Pos2| pos2((p.x - origin.x) / zoom, (p.y - origin.y) / zoom);
        let to_screen = |p: Pos2| origin + p.to_vec2() * zoom;
        let image_rect = Rect::from_min_size(origin, size * zoom);
        self.image_rect = Some(image_rect);

        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, Color32::from_gray(24));
        if let Some(texture) = doc.texture_handle() {
            painter.image(
                texture.id(),
                image_rect,
                Rect::from_min_max(Pos2::ZERO, pos2(1.0, 1.0)),
                Color32::WHITE,
            );
        }

        self.hover = response.hover_pos().and_then(|p| {
            let q = to_image(p);
            (q.x >= 0.0 && q.y >= 0.0 && q.x < size.x && q.y < size.y)
                .then_some((q.x as usize, q.y as usize))
        });

        let pointer = response.interact_pointer_pos().map(to_image);
        let middle = ui.input(|i| i.pointer.middle_down());
        // Panning: middle drag always; primary drag in Select mode on empty space.
        if middle && response.dragged() {
            self.pan += response.drag_delta();
            self.zoom = Some(zoom);
        }
        if !middle {
            self.tool_input(&response, pointer, doc, zoom, out);
        }
        if let Some(Edit::Pan) = self.edit
            && response.dragged()
        {
            self.pan += response.drag_delta();
            self.zoom = Some(zoom);
        }

        self.keys(ui, doc, out);
        self.paint_overlay(&painter, doc, &to_screen, pointer, zoom);
        if response.hovered() {
            let cursor = match self.tool {
                Tool::Select => egui::CursorIcon::Default,
                _ => egui::CursorIcon::Crosshair,
            };
            ui.ctx().set_cursor_icon(cursor);
        }
    }

    fn tool_input(
        &mut self,
        response: &egui::Response,
        pointer: Option<Pos2>,
        doc: &Document,
        zoom: f32,
        out: &mut Vec<Command>,
    ) {
        match self.tool {
            Tool::Select => self.select_input(response, pointer, doc, zoom, out),
            Tool::Rect | Tool::Ellipse => {
                if response.drag_started() {
                    self.drag_from = pointer;
                }
                if response.drag_stopped()
                    && let (Some(a), Some(b)) = (self.drag_from.take(), pointer)
                {
                    let r = Rect::from_two_pos(a, b);
                    if r.width() >= 1.0 && r.height() >= 1.0 {
                        let kind = if self.tool == Tool::Rect {
                            Shape::Rect {
                                x: 0.0,
                                y: 0.0,
                                width: 0.0,
                                height: 0.0,
                            }
                        } else {
                            Shape::Ellipse {
                                cx: 0.0,
                                cy: 0.0,
                                rx: 0.0,
                                ry: 0.0,
                            }
                        };
                        out.push(Command::AddRoi(from_box(&kind, r)));
                    }
                }
            }
            Tool::Probe => {
                if response.clicked()
                    && let Some(p) = pointer
                {
                    let (w, h) = doc.size();
                    if p.x >= 0.0 && p.y >= 0.0 && (p.x as usize) < w && (p.y as usize) < h {
                        out.push(Command::AddRoi(Shape::Probe {
                            x: p.x as usize,
                            y: p.y as usize,
                        }));
                    }
                }
            }
            Tool::Polygon | Tool::Line => {
                if self.tool == Tool::Line && response.drag_started() {
                    self.drag_from = pointer;
                }
                if self.tool == Tool::Line
                    && response.drag_stopped()
                    && let (Some(a), Some(b)) = (self.drag_from.take(), pointer)
                    && a.distance(b) >= 1.0
                {
                    self.pending = vec![a, b];
                    self.finish_pending(out);
                    return;
                }
                if response.double_clicked() {
                    self.finish_pending(out);
                } else if response.clicked()
                    && let Some(p) = pointer
                {
                    self.pending.push(p);
                }
            }
        }
    }

    fn select_input(
        &mut self,
        response: &egui::Response,
        pointer: Option<Pos2>,
        doc: &Document,
        zoom: f32,
        out: &mut Vec<Command>,
    ) {
        let hit = |doc: &Document, p: Pos2| doc.rois.iter().rposition(|r| contains(&r.shape, p));
        if response.clicked()
            && let Some(p) = pointer
        {
            out.push(Command::SelectRoi(hit(doc, p)));
        }
        if response.drag_started()
            && let Some(p) = pointer
        {
            let on_handle = doc.selected_roi.and_then(|i| {
                let shape = &doc.rois.get(i)?.shape;
                let k = handles(shape)
                    .iter()
                    .position(|h| h.distance(p) * zoom <= HANDLE_RADIUS + 2.0)?;
                Some(Edit::Handle {
                    roi: i,
                    handle: k,
                    original: shape.clone(),
                })
            });
            self.edit = Some(on_handle.unwrap_or_else(|| match hit(doc, p) {
                Some(i) => {
                    out.push(Command::SelectRoi(Some(i)));
                    Edit::Move {
                        roi: i,
                        from: p,
                        original: doc.rois[i].shape.clone(),
                    }
                }
                None => Edit::Pan,
            }));
        }
        if response.dragged()
            && let Some(p) = pointer
        {
            match &self.edit {
                Some(Edit::Move {
                    roi,
                    from,
                    original,
                }) => {
                    out.push(Command::SetRoiShape {
                        index: *roi,
                        shape: move_shape(original, p - *from),
                    });
                }
                Some(Edit::Handle {
                    roi,
                    handle,
                    original,
                }) => {
                    out.push(Command::SetRoiShape {
                        index: *roi,
                        shape: set_handle(original, *handle, p),
                    });
                }
                _ => {}
            }
        }
        if response.drag_stopped() {
            self.edit = None;
        }
    }

    fn finish_pending(&mut self, out: &mut Vec<Command>) {
        let mut points = std::mem::take(&mut self.pending);
        // A double-click adds its position twice (two clicks) before it finishes.
        points.dedup_by(|a, b| a.distance(*b) < 0.5);
        let points: Vec<(f32, f32)> = points.iter().map(|p| (p.x, p.y)).collect();
        match self.tool {
            Tool::Polygon if points.len() >= 3 => {
                out.push(Command::AddRoi(Shape::Polygon { points }));
            }
            Tool::Line if points.len() >= 2 => {
                out.push(Command::SetLine(LineSpec {
                    points,
                    width: self.line_width.max(1),
                }));
            }
            _ => {}
        }
    }

    fn keys(&mut self, ui: &egui::Ui, doc: &Document, out: &mut Vec<Command>) {
        if ui.ctx().egui_wants_keyboard_input() {
            return;
        }
        let (enter, escape, delete) = ui.input(|i| {
            (
                i.key_pressed(egui::Key::Enter),
                i.key_pressed(egui::Key::Escape),
                i.key_pressed(egui::Key::Delete) || i.key_pressed(egui::Key::Backspace),
            )
        });
        if enter && !self.pending.is_empty() {
            self.finish_pending(out);
        }
        if escape {
            self.cancel_drawing();
        }
        if delete && let Some(i) = doc.selected_roi {
            out.push(Command::RemoveRoi(i));
        }
    }

    fn paint_overlay(
        &self,
        painter: &egui::Painter,
        doc: &Document,
        to_screen: &dyn Fn(Pos2) -> Pos2,
        pointer: Option<Pos2>,
        zoom: f32,
    ) {
        for (i, roi) in doc.rois.iter().enumerate() {
            let selected = doc.selected_roi == Some(i);
            let stroke = Stroke::new(if selected { 2.5 } else { 1.5 }, roi.color);
            paint_shape(painter, &roi.shape, to_screen, stroke, zoom);
            let label_at = handles(&roi.shape)
                .first()
                .copied()
                .or(match roi.shape {
                    Shape::Probe { x, y } => Some(pos2(x as f32 + 1.0, y as f32)),
                    _ => None,
                })
                .map(to_screen);
            if let Some(at) = label_at {
                painter.text(
                    at - vec2(0.0, 2.0),
                    egui::Align2::LEFT_BOTTOM,
                    format!("{}", i + 1),
                    egui::FontId::proportional(13.0),
                    roi.color,
                );
            }
            if selected {
                for h in handles(&roi.shape) {
                    painter.circle(
                        to_screen(h),
                        HANDLE_RADIUS,
                        Color32::from_black_alpha(160),
                        Stroke::new(1.5, roi.color),
                    );
                }
            }
        }
        if let Some(line) = &doc.line {
            let points: Vec<Pos2> = line
                .spec
                .points
                .iter()
                .map(|&(x, y)| to_screen(pos2(x, y)))
                .collect();
            let band = (line.spec.width as f32 * zoom).max(1.0);
            if line.spec.width > 1 {
                painter.add(egui::Shape::line(
                    points.clone(),
                    Stroke::new(band, Color32::from_rgba_unmultiplied(0, 255, 255, 50)),
                ));
            }
            painter.add(egui::Shape::line(
                points,
                Stroke::new(1.5, Color32::LIGHT_BLUE),
            ));
        }
        // Shapes being drawn.
        let preview = Stroke::new(1.0, Color32::WHITE);
        if let (Some(a), Some(b)) = (self.drag_from, pointer) {
            match self.tool {
                Tool::Rect => {
                    painter.rect_stroke(
                        Rect::from_two_pos(to_screen(a), to_screen(b)),
                        0.0,
                        preview,
                        StrokeKind::Middle,
                    );
                }
                Tool::Ellipse => {
                    let r = Rect::from_two_pos(to_screen(a), to_screen(b));
                    painter.add(egui::Shape::ellipse_stroke(
                        r.center(),
                        r.size() / 2.0,
                        preview,
                    ));
                }
                Tool::Line => {
                    painter.line_segment([to_screen(a), to_screen(b)], preview);
                }
                _ => {}
            }
        }
        if !self.pending.is_empty() {
            let points: Vec<Pos2> = self.pending.iter().map(|&p| to_screen(p)).collect();
            for p in &points {
                painter.circle_filled(*p, 3.0, Color32::WHITE);
            }
            painter.add(egui::Shape::line(points, preview));
        }
    }
}

fn paint_shape(
    painter: &egui::Painter,
    shape: &Shape,
    to_screen: &dyn Fn(Pos2) -> Pos2,
    stroke: Stroke,
    zoom: f32,
) {
    match shape {
        Shape::Rect { .. } | Shape::Ellipse { .. } => {
            let Some(b) = bbox(shape) else { return };
            let r = Rect::from_two_pos(to_screen(b.min), to_screen(b.max));
            if matches!(shape, Shape::Rect { .. }) {
                painter.rect_stroke(r, 0.0, stroke, StrokeKind::Middle);
            } else {
                painter.add(egui::Shape::ellipse_stroke(
                    r.center(),
                    r.size() / 2.0,
                    stroke,
                ));
            }
        }
        Shape::Polygon { points } => {
            let points = points.iter().map(|&(x, y)| to_screen(pos2(x, y))).collect();
            painter.add(egui::Shape::closed_line(points, stroke));
        }
        Shape::Probe { x, y } => {
            let r = Rect::from_min_size(
                to_screen(pos2(*x as f32, *y as f32)),
                Vec2::splat(zoom.max(3.0)),
            );
            painter.rect_stroke(r.expand(1.0), 0.0, stroke, StrokeKind::Outside);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dragging_a_corner_keeps_the_opposite_one() {
        let r = Shape::Rect {
            x: 10.0,
            y: 10.0,
            width: 20.0,
            height: 10.0,
        };
        let moved = set_handle(&r, 2, pos2(40.0, 30.0));
        assert_eq!(
            moved,
            Shape::Rect {
                x: 10.0,
                y: 10.0,
                width: 30.0,
                height: 20.0
            }
        );
        // Past the opposite corner the box flips instead of getting a negative size.
        let flipped = set_handle(&r, 2, pos2(5.0, 5.0));
        assert_eq!(bbox(&flipped).map(|b| b.min), Some(pos2(5.0, 5.0)));
    }

    #[test]
    fn moving_shifts_every_kind() {
        let d = vec2(2.0, -1.0);
        let e = move_shape(
            &Shape::Ellipse {
                cx: 5.0,
                cy: 5.0,
                rx: 2.0,
                ry: 3.0,
            },
            d,
        );
        assert_eq!(bbox(&e).map(|b| b.center()), Some(pos2(7.0, 4.0)));
        let p = move_shape(&Shape::Probe { x: 0, y: 0 }, vec2(-3.0, 1.0));
        assert_eq!(p, Shape::Probe { x: 0, y: 1 });
    }
}
