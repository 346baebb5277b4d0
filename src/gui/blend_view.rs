//! Blends of two frames of the open stack made exactly as the export makes them: the frames
//! as the export reads them, converted to YUV 4:2:0 by the chosen device's converter and
//! blended by its blender (the GPU when there is one), then back to RGBA for the screen. The
//! export dialog's preview and interpolated playback both draw through it.

use std::sync::Arc;

use super::document::Document;
use super::panels::export::export_source;
use crate::interp::{Choice, Yuv420, even_size};

pub struct BlendView {
    choice: Choice,
    /// The converted pair and what it was converted from (frame, source, device, levels),
    /// kept while only the weight changes.
    pair: Option<String>,
}

impl BlendView {
    pub fn new(choice: Choice) -> Self {
        Self { choice, pair: None }
    }

    /// Why this device was chosen ("cpu: no GPU device on this machine …").
    pub fn reason(&self) -> &str {
        &self.choice.reason
    }

    /// The blender's name ("cpu (2 threads)", "gpu: …").
    pub fn device(&self) -> String {
        self.choice.blender.name()
    }

    /// Frames `a` and `a + 1` of `doc` (as displayed, or the raw bytes) blended at `weight`
    /// of 256, as RGBA of the export's (even) size.
    pub fn rgba(
        &mut self,
        doc: &Document,
        as_displayed: bool,
        a: usize,
        weight: u16,
    ) -> Result<(Vec<u8>, usize, usize), String> {
        let (w, h) = even_size(doc.stack.width(), doc.stack.height())
            .ok_or("the frames are too small to encode")?;
        let tag = format!(
            "{a} {as_displayed} {} {} {:?}",
            self.choice.blender.name(),
            doc.generation(),
            doc.mapping
        );
        if self.pair.as_ref() != Some(&tag) {
            let mut source = export_source(doc, as_displayed);
            let mut converted = Vec::with_capacity(2);
            let mut note = None;
            for index in [a, a + 1] {
                let mut yuv = None;
                source
                    .with_frame(index, &mut |frame| {
                        yuv = Some(self.choice.converter.convert(frame, w, h, &mut note));
                    })
                    .map_err(|e| e.to_string())?;
                converted.push(Arc::new(yuv.ok_or("no frame")?));
            }
            let second = converted.pop().ok_or("no frame")?;
            let first = converted.pop().ok_or("no frame")?;
            self.choice
                .blender
                .set_pair(first, second)
                .map_err(|e| e.to_string())?;
            self.pair = Some(tag);
        }
        let mut out = Yuv420::new(w, h);
        self.choice
            .blender
            .blend_into(weight, &mut out.as_planes_mut())
            .map_err(|e| e.to_string())?;
        Ok((out.to_rgba(), w, h))
    }
}
