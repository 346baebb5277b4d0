//! ROI geometry in image coordinates, for the viewer's drawing tools: moving a shape, its
//! resize handles, hit tests, and shapes from a dragged box.

use eframe::egui::{Pos2, Rect, Vec2, pos2, vec2};

use crate::ops::Shape;

pub fn move_shape(shape: &Shape, d: Vec2) -> Shape {
    match shape {
        Shape::Rect {
            x,
            y,
            width,
            height,
        } => Shape::Rect {
            x: x + d.x,
            y: y + d.y,
            width: *width,
            height: *height,
        },
        Shape::Ellipse { cx, cy, rx, ry } => Shape::Ellipse {
            cx: cx + d.x,
            cy: cy + d.y,
            rx: *rx,
            ry: *ry,
        },
        Shape::Polygon { points } => Shape::Polygon {
            points: points.iter().map(|&(x, y)| (x + d.x, y + d.y)).collect(),
        },
        Shape::Probe { x, y } => Shape::Probe {
            x: (*x as f32 + d.x).round().max(0.0) as usize,
            y: (*y as f32 + d.y).round().max(0.0) as usize,
        },
    }
}

pub fn bbox(shape: &Shape) -> Option<Rect> {
    match shape {
        Shape::Rect {
            x,
            y,
            width,
            height,
        } => Some(Rect::from_min_size(pos2(*x, *y), vec2(*width, *height))),
        Shape::Ellipse { cx, cy, rx, ry } => Some(Rect::from_center_size(
            pos2(*cx, *cy),
            vec2(2.0 * rx, 2.0 * ry),
        )),
        _ => None,
    }
}

pub fn from_box(kind: &Shape, r: Rect) -> Shape {
    match kind {
        Shape::Ellipse { .. } => Shape::Ellipse {
            cx: r.center().x,
            cy: r.center().y,
            rx: r.width() / 2.0,
            ry: r.height() / 2.0,
        },
        _ => Shape::Rect {
            x: r.min.x,
            y: r.min.y,
            width: r.width(),
            height: r.height(),
        },
    }
}

/// Handle positions (image coordinates) of a shape: box corners or polygon vertices.
pub fn handles(shape: &Shape) -> Vec<Pos2> {
    match shape {
        Shape::Polygon { points } => points.iter().map(|&(x, y)| pos2(x, y)).collect(),
        _ => bbox(shape)
            .map(|r| {
                vec![
                    r.left_top(),
                    r.right_top(),
                    r.right_bottom(),
                    r.left_bottom(),
                ]
            })
            .unwrap_or_default(),
    }
}

pub fn set_handle(shape: &Shape, handle: usize, p: Pos2) -> Shape {
    if let Shape::Polygon { points } = shape {
        let mut points = points.clone();
        if let Some(v) = points.get_mut(handle) {
            *v = (p.x, p.y);
        }
        return Shape::Polygon { points };
    }
    let Some(r) = bbox(shape) else {
        return shape.clone();
    };
    let corners = [
        r.left_top(),
        r.right_top(),
        r.right_bottom(),
        r.left_bottom(),
    ];
    let opposite = corners[(handle + 2) % 4];
    from_box(shape, Rect::from_two_pos(opposite, p))
}

pub fn contains(shape: &Shape, p: Pos2) -> bool {
    match shape {
        Shape::Probe { x, y } => {
            (p.x - (*x as f32 + 0.5)).abs() <= 1.5 && (p.y - (*y as f32 + 0.5)).abs() <= 1.5
        }
        _ => shape.contains(p.x, p.y),
    }
}
