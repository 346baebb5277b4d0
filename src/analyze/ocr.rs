//! On-screen text: PP-OCR (v6 by default, v4 for its Chinese/English alphabet) detection (a DB probability map) and recognition (CTC over the
//! character list stored in the model), run on sampled frames; frames that look like the last
//! analysed one reuse its lines; lines that stay on screen become one span.

use std::time::Instant;

use ndarray::{Array3, Array4, ArrayView3, Axis};
use ort::session::Session;
use ort::value::TensorRef;
use serde::{Deserialize, Serialize};

use super::frames::{self, Deduplicator, DuplicateSkip, Sampling};
use super::vision::{BoxXywh, Normalize, resample_into};
use super::{AnalysisResult, AnalyzeError, Analyzer, Environment, Event, Inputs, Source, round3};
use crate::job::Job;

/// The OCR models `--ocr-model` chooses from; the first is the default.
pub const MODELS: &[&str] = &["ppocr-v6", "ppocr-v4"];
const REC_HEIGHT: usize = 48;
/// Crops wider than this many heights are squeezed; a subtitle line rarely is.
const MAX_REC_RATIO: f32 = 40.0;
const NORM: Normalize = Normalize {
    bgr: true,
    mean: 0.5,
    std: 0.5,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TextOverlaySettings {
    /// The installed OCR models: `ppocr-v6` (Latin scripts with accents and ß, Greek,
    /// Chinese, Japanese) or `ppocr-v4` (Chinese and English, no ö or ß).
    pub model: String,
    pub sampling: Sampling,
    pub duplicates: DuplicateSkip,
    /// Frames are scaled down (never up) so that their longer side is at most this for
    /// detection; recognition reads the crops at full resolution.
    pub max_side: usize,
    /// Probability above which a pixel of the detection map counts as text.
    pub pixel_threshold: f64,
    /// Mean probability a text region needs.
    pub box_threshold: f64,
    /// How far regions grow around the detected core (DB's unclip ratio).
    pub unclip: f64,
    /// Recognized lines with a lower mean character confidence are dropped.
    pub min_confidence: f64,
    /// Text crops per recognition batch; 0 sizes it to the provider.
    pub batch: usize,
}

impl Default for TextOverlaySettings {
    fn default() -> Self {
        Self {
            model: MODELS[0].into(),
            sampling: Sampling::default(),
            duplicates: DuplicateSkip::default(),
            max_side: 960,
            pixel_threshold: 0.3,
            box_threshold: 0.5,
            unclip: 1.6,
            min_confidence: 0.5,
            batch: 0,
        }
    }
}

impl TextOverlaySettings {
    pub fn validate(&self) -> Result<(), AnalyzeError> {
        self.sampling.validate()?;
        self.duplicates.validate()?;
        let bad = |m: &str| Err(AnalyzeError::Settings(m.to_owned()));
        if !MODELS.contains(&self.model.as_str()) {
            return bad(&format!(
                "text_overlay: --ocr-model {} is not one of {}",
                self.model,
                MODELS.join(", ")
            ));
        }
        if self.max_side < 64 {
            return bad("--max-side must be at least 64 pixels");
        }
        for (name, v) in [
            ("pixel threshold", self.pixel_threshold),
            ("box threshold", self.box_threshold),
            ("minimum confidence", self.min_confidence),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(&format!("the {name} must lie in 0–1"));
            }
        }
        if !(self.unclip.is_finite() && self.unclip >= 0.0) {
            return bad("the unclip ratio must be 0 or more");
        }
        Ok(())
    }
}

/// A recognized line of text in one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    pub text: String,
    pub bbox: BoxXywh,
    pub confidence: f32,
}

/// The two PP-OCR models and the character list.
pub struct Ocr {
    det: Session,
    rec: Session,
    chars: Vec<String>,
    settings: TextOverlaySettings,
    batch: usize,
}

impl Ocr {
    pub fn new(
        det: Session,
        rec: Session,
        settings: TextOverlaySettings,
        gpu: bool,
    ) -> Result<Self, AnalyzeError> {
        let listed = rec.metadata()?.custom("character").ok_or_else(|| {
            AnalyzeError::Runtime(
                "the recognition model has no `character` list in its metadata; it is not a \
                     PP-OCR model from rapidocr"
                    .into(),
            )
        })?;
        // Index 0 is CTC's blank and the last index a space, as PaddleOCR trains them.
        let mut chars = vec![String::new()];
        chars.extend(listed.lines().map(str::to_owned));
        chars.push(" ".into());
        let batch = match settings.batch {
            0 if gpu => 32,
            0 => 6,
            n => n,
        };
        Ok(Self {
            det,
            rec,
            chars,
            settings,
            batch,
        })
    }

    /// One pass through both models on a small input, so that the first real frame is not
    /// timed with the runtime's set-up.
    pub fn warm_up(&mut self) -> Result<(), AnalyzeError> {
        let blank = Array3::<u8>::from_elem((64, 256, 3), 255);
        self.read(blank.view())?;
        let crop = Array4::<f32>::zeros((1, 3, REC_HEIGHT, 320));
        self.rec
            .run(ort::inputs!["x" => TensorRef::from_array_view(&crop)?])?;
        Ok(())
    }

    /// The lines of text in an RGB frame, top to bottom, left to right.
    pub fn read(&mut self, rgb: ArrayView3<u8>) -> Result<Vec<TextLine>, AnalyzeError> {
        let boxes = self.detect(rgb)?;
        self.recognize(rgb, &boxes)
    }

    fn detect(&mut self, rgb: ArrayView3<u8>) -> Result<Vec<BoxXywh>, AnalyzeError> {
        let (h, w) = (rgb.shape()[0], rgb.shape()[1]);
        let scale = (self.settings.max_side as f32 / h.max(w) as f32).min(1.0);
        let round32 = |v: usize| ((v as f32 * scale / 32.0).round() as usize).max(1) * 32;
        let (dw, dh) = (round32(w), round32(h));
        let mut input = Array4::<f32>::zeros((1, 3, dh, dw));
        {
            let mut plane = input.index_axis_mut(Axis(0), 0);
            let whole = BoxXywh::from_corners(0.0, 0.0, w as f32, h as f32);
            resample_into(rgb, whole, &mut plane, dw, dh, NORM);
        }
        let outputs = self
            .det
            .run(ort::inputs!["x" => TensorRef::from_array_view(&input)?])?;
        let (shape, probs) = outputs[0].try_extract_tensor::<f32>()?;
        let (mh, mw) = match shape[..] {
            [_, _, mh, mw] => (mh as usize, mw as usize),
            _ => {
                return Err(AnalyzeError::Runtime(format!(
                    "unexpected detection output shape {shape:?}"
                )));
            }
        };
        let regions = text_regions(
            &probs[..mh * mw],
            mw,
            mh,
            self.settings.pixel_threshold as f32,
            self.settings.box_threshold as f32,
            self.settings.unclip as f32,
        );
        let (fx, fy) = (w as f32 / mw as f32, h as f32 / mh as f32);
        Ok(regions
            .into_iter()
            .map(|b| {
                BoxXywh {
                    x: b.x * fx,
                    y: b.y * fy,
                    w: b.w * fx,
                    h: b.h * fy,
                }
                .clip(w, h)
            })
            .filter(|b| b.w >= 4.0 && b.h >= 4.0)
            .collect())
    }

    fn recognize(
        &mut self,
        rgb: ArrayView3<u8>,
        boxes: &[BoxXywh],
    ) -> Result<Vec<TextLine>, AnalyzeError> {
        let ratio = |b: &BoxXywh| (b.w / b.h).min(MAX_REC_RATIO);
        // Crops of similar shape share a batch, so little of each batch is padding.
        let mut order: Vec<usize> = (0..boxes.len()).collect();
        order.sort_by(|&a, &b| ratio(&boxes[a]).total_cmp(&ratio(&boxes[b])));
        let mut lines: Vec<Option<TextLine>> = vec![None; boxes.len()];
        for group in order.chunks(self.batch) {
            let widest = group
                .iter()
                .map(|&i| ratio(&boxes[i]))
                .fold(320.0 / REC_HEIGHT as f32, f32::max);
            let width = (REC_HEIGHT as f32 * widest).ceil() as usize;
            let mut input = Array4::<f32>::zeros((group.len(), 3, REC_HEIGHT, width));
            for (slot, &i) in group.iter().enumerate() {
                let b = boxes[i];
                let crop_w = ((REC_HEIGHT as f32 * ratio(&b)).ceil() as usize).clamp(1, width);
                let mut plane = input.index_axis_mut(Axis(0), slot);
                resample_into(rgb, b, &mut plane, crop_w, REC_HEIGHT, NORM);
            }
            let outputs = self
                .rec
                .run(ort::inputs!["x" => TensorRef::from_array_view(&input)?])?;
            let (shape, probs) = outputs[0].try_extract_tensor::<f32>()?;
            let (steps, classes) = match shape[..] {
                [n, t, c] if n as usize == group.len() => (t as usize, c as usize),
                _ => {
                    return Err(AnalyzeError::Runtime(format!(
                        "unexpected recognition output shape {shape:?}"
                    )));
                }
            };
            for (slot, &i) in group.iter().enumerate() {
                let rows = &probs[slot * steps * classes..(slot + 1) * steps * classes];
                let (text, confidence) = ctc_decode(rows, classes, &self.chars);
                let text = text.trim().to_owned();
                // A line with no letter or digit in any script is a shape read as a symbol
                // (a filled box reads as "■"), not text.
                let readable = text.chars().any(char::is_alphanumeric);
                if readable && f64::from(confidence) >= self.settings.min_confidence {
                    lines[i] = Some(TextLine {
                        text,
                        bbox: boxes[i],
                        confidence,
                    });
                }
            }
        }
        let mut lines: Vec<TextLine> = lines.into_iter().flatten().collect();
        sort_reading_order(&mut lines);
        Ok(lines)
    }
}

/// Greedy CTC: the best class per step, repeats collapsed, blanks (0) dropped. The
/// confidence is the mean probability of the characters kept.
fn ctc_decode(rows: &[f32], classes: usize, chars: &[String]) -> (String, f32) {
    let mut text = String::new();
    let mut sum = 0.0f32;
    let mut kept = 0usize;
    let mut previous = 0usize;
    for row in rows.chunks_exact(classes) {
        let (best, p) =
            row.iter().enumerate().fold(
                (0, f32::MIN),
                |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc },
            );
        if best != 0
            && best != previous
            && let Some(c) = chars.get(best)
        {
            text.push_str(c);
            sum += p;
            kept += 1;
        }
        previous = best;
    }
    (text, if kept == 0 { 0.0 } else { sum / kept as f32 })
}

/// Rows first (boxes whose tops are within half a line of each other share a row), then
/// left to right.
fn sort_reading_order(lines: &mut [TextLine]) {
    lines.sort_by(|a, b| a.bbox.y.total_cmp(&b.bbox.y));
    let mut i = 0;
    while i < lines.len() {
        let tolerance = lines[i].bbox.h * 0.5;
        let top = lines[i].bbox.y;
        let mut j = i + 1;
        while j < lines.len() && lines[j].bbox.y - top <= tolerance {
            j += 1;
        }
        lines[i..j].sort_by(|a, b| a.bbox.x.total_cmp(&b.bbox.x));
        i = j;
    }
}

/// Text regions from DB's probability map: pixels above `pixel_threshold`, grown by one
/// pixel (as PaddleOCR dilates), joined into 8-connected components; each component's
/// bounding box is kept when the map's mean over it reaches `box_threshold`, and grown by
/// DB's unclip distance (area × ratio / perimeter). Boxes are in map pixels.
pub fn text_regions(
    probs: &[f32],
    width: usize,
    height: usize,
    pixel_threshold: f32,
    box_threshold: f32,
    unclip: f32,
) -> Vec<BoxXywh> {
    let mut mask = vec![false; width * height];
    for y in 0..height {
        for x in 0..width {
            // A 2 × 2 dilation: a pixel is set when it or its left, upper or upper-left
            // neighbour is above the threshold.
            let hot = |yy: usize, xx: usize| probs[yy * width + xx] > pixel_threshold;
            mask[y * width + x] = hot(y, x)
                || (x > 0 && hot(y, x - 1))
                || (y > 0 && hot(y - 1, x))
                || (x > 0 && y > 0 && hot(y - 1, x - 1));
        }
    }
    let mut seen = vec![false; width * height];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        while let Some(p) = stack.pop() {
            let (x, y) = (p % width, p / width);
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
            for dy in [-1i64, 0, 1] {
                for dx in [-1i64, 0, 1] {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= width as i64 || ny >= height as i64 {
                        continue;
                    }
                    let q = ny as usize * width + nx as usize;
                    if mask[q] && !seen[q] {
                        seen[q] = true;
                        stack.push(q);
                    }
                }
            }
        }
        let (bw, bh) = ((x1 - x0 + 1) as f32, (y1 - y0 + 1) as f32);
        if bw.min(bh) < 3.0 {
            continue;
        }
        let mut sum = 0.0f32;
        for y in y0..=y1 {
            sum += probs[y * width + x0..=y * width + x1].iter().sum::<f32>();
        }
        if sum / (bw * bh) < box_threshold {
            continue;
        }
        let d = bw * bh * unclip / (2.0 * (bw + bh));
        out.push(BoxXywh::from_corners(
            x0 as f32 - d,
            y0 as f32 - d,
            x1 as f32 + 1.0 + d,
            y1 as f32 + 1.0 + d,
        ));
    }
    out
}

/// A line of text on screen over consecutive sampled frames.
struct Span {
    key: String,
    best: TextLine,
    confidence_sum: f64,
    frames: usize,
    start: f64,
    first_frame: usize,
}

fn normalized(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Similarity of two strings in 0–1 from their edit distance, so that a line read with one
/// character wrong in one frame still continues its span.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    1.0 - row[b.len()] as f64 / longest as f64
}

/// Turns per-frame lines into spans. A line continues an open span when its text is at least
/// 80 % similar and its box overlaps the span's.
#[derive(Default)]
struct SpanTracker {
    open: Vec<Span>,
    done: Vec<Event>,
}

impl SpanTracker {
    fn observe(&mut self, time: f64, index: usize, lines: &[TextLine]) {
        let mut continued = vec![false; self.open.len()];
        let mut fresh = Vec::new();
        for line in lines {
            let key = normalized(&line.text);
            let found = self.open.iter().enumerate().position(|(i, span)| {
                !continued[i]
                    && span.best.bbox.iou(&line.bbox) > 0.2
                    && similarity(&span.key, &key) >= 0.8
            });
            match found {
                Some(i) => {
                    continued[i] = true;
                    let span = &mut self.open[i];
                    span.frames += 1;
                    span.confidence_sum += f64::from(line.confidence);
                    if line.confidence > span.best.confidence {
                        span.best = line.clone();
                        span.key = key;
                    }
                }
                None => fresh.push(Span {
                    key,
                    best: line.clone(),
                    confidence_sum: f64::from(line.confidence),
                    frames: 1,
                    start: time,
                    first_frame: index,
                }),
            }
        }
        let open = std::mem::take(&mut self.open);
        for (span, kept) in open.into_iter().zip(continued) {
            if kept {
                self.open.push(span);
            } else {
                self.done.push(span_event(span, time));
            }
        }
        self.open.extend(fresh);
    }

    fn finish(mut self, end: f64) -> Vec<Event> {
        for span in std::mem::take(&mut self.open) {
            self.done.push(span_event(span, end));
        }
        self.done
            .sort_by(|a, b| a.start.total_cmp(&b.start).then(a.label.cmp(&b.label)));
        self.done
    }
}

fn span_event(span: Span, end: f64) -> Event {
    Event::new("text", span.start, end, span.best.text.clone())
        .with_score(round3(span.confidence_sum / span.frames as f64))
        .with_payload(serde_json::json!({
            "box": span.best.bbox.to_json(),
            "frames": span.frames,
            "first_frame": span.first_frame,
        }))
}

/// The `text_overlay` analyzer.
pub struct TextOverlay {
    settings: TextOverlaySettings,
    env: Environment,
    /// The models, loaded and warmed up on the first clip and kept for the next (a batch).
    loaded: Option<(Ocr, super::ModelUsed, super::ModelUsed)>,
}

impl TextOverlay {
    pub fn new(settings: TextOverlaySettings, env: Environment) -> Self {
        Self {
            settings,
            env,
            loaded: None,
        }
    }
}

impl Analyzer for TextOverlay {
    fn name(&self) -> &'static str {
        "text_overlay"
    }

    fn inputs(&self) -> Inputs {
        Inputs::Frames
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::to_value(&self.settings).unwrap_or_default()
    }

    fn run(&mut self, source: &Source, job: &Job) -> Result<AnalysisResult, AnalyzeError> {
        let started = Instant::now();
        let mut warm_up = 0.0;
        let loaded = match self.loaded.take() {
            Some(loaded) => loaded,
            None => {
                job.set_message("loading the OCR models");
                let model = self.settings.model.as_str();
                let (det, det_used) = self.env.vision_session(model, "det.onnx")?;
                let (rec, rec_used) = self.env.vision_session(model, "rec.onnx")?;
                let gpu = det_used.runtime.contains("CUDA");
                let mut ocr = Ocr::new(det, rec, self.settings.clone(), gpu)?;
                let warm = Instant::now();
                ocr.warm_up()?;
                warm_up = warm.elapsed().as_secs_f64();
                (ocr, det_used, rec_used)
            }
        };
        let (ocr, det_used, rec_used) = self.loaded.insert(loaded);
        let (det_used, rec_used) = (det_used.clone(), rec_used.clone());
        job.set_message("reading on-screen text");

        let mut dedup = Deduplicator::default();
        let mut tracker = SpanTracker::default();
        let mut current: Vec<TextLine> = Vec::new();
        let mut last_time = 0.0;
        let mut sampled = 0usize;
        let ocr_started = Instant::now();
        let clip = frames::for_each_sampled(source, &self.settings.sampling, job, |frame| {
            if dedup.needs_analysis(&self.settings.duplicates, frame.rgb) {
                current = ocr.read(frame.rgb)?;
            }
            tracker.observe(frame.time, frame.index, &current);
            last_time = frame.time;
            sampled += 1;
            Ok(true)
        })?;
        let ocr_seconds = ocr_started.elapsed().as_secs_f64();
        let interval = self.settings.sampling.interval(clip.fps);
        let end = (last_time + interval).min(clip.duration.max(last_time));
        let events = tracker.finish(end);

        let mut distinct: Vec<String> = events.iter().map(|e| normalized(&e.label)).collect();
        distinct.sort();
        distinct.dedup();
        let mut summary = serde_json::Map::new();
        summary.insert("frames_sampled".into(), sampled.into());
        summary.insert("frames_analysed".into(), dedup.analysed.into());
        summary.insert("frames_skipped_as_duplicates".into(), dedup.skipped.into());
        summary.insert("text_spans".into(), events.len().into());
        summary.insert("distinct_texts".into(), distinct.len().into());
        summary.insert("warm_up_seconds".into(), round3(warm_up).into());
        summary.insert("frames_seconds".into(), round3(ocr_seconds).into());
        Ok(AnalysisResult {
            analyzer: self.name().into(),
            source: source.path.clone(),
            duration: clip.duration,
            models: vec![det_used, rec_used],
            settings: self.settings(),
            summary,
            events,
            series: Vec::new(),
            elapsed: started.elapsed().as_secs_f64(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctc_collapses_repeats_and_drops_blanks() {
        let chars: Vec<String> = ["", "a", "b", " "].iter().map(|s| s.to_string()).collect();
        let step = |i: usize| {
            let mut row = vec![0.0f32; 4];
            row[i] = 0.9;
            row
        };
        let rows: Vec<f32> = [1, 1, 0, 1, 2, 2, 0, 3, 2]
            .iter()
            .flat_map(|&i| step(i))
            .collect();
        let (text, conf) = ctc_decode(&rows, 4, &chars);
        assert_eq!(text, "aab b");
        assert!((conf - 0.9).abs() < 1e-6);
    }

    #[test]
    fn regions_come_from_components_and_grow() {
        let (w, h) = (40, 20);
        let mut probs = vec![0.0f32; w * h];
        for y in 5..10 {
            for x in 4..30 {
                probs[y * w + x] = 0.9;
            }
        }
        // A faint blob that passes the pixel threshold but not the box threshold.
        for y in 14..18 {
            for x in 34..38 {
                probs[y * w + x] = 0.35;
            }
        }
        let regions = text_regions(&probs, w, h, 0.3, 0.5, 1.6);
        assert_eq!(regions.len(), 1);
        let r = regions[0];
        assert!(r.x < 4.0 && r.y < 5.0 && r.x + r.w > 30.0 && r.y + r.h > 10.0);
    }

    #[test]
    fn spans_follow_text_across_frames() {
        let line = |t: &str| TextLine {
            text: t.into(),
            bbox: BoxXywh::from_corners(10.0, 80.0, 200.0, 100.0),
            confidence: 0.9,
        };
        let mut tracker = SpanTracker::default();
        tracker.observe(0.0, 0, &[line("Hello there")]);
        tracker.observe(0.5, 12, &[line("Hel1o there")]);
        tracker.observe(1.0, 25, &[line("Something else")]);
        tracker.observe(1.5, 37, &[]);
        let events = tracker.finish(2.0);
        assert_eq!(events.len(), 2);
        assert_eq!((events[0].start, events[0].end), (0.0, 1.0));
        assert_eq!(events[0].payload["frames"], 2);
        assert_eq!((events[1].start, events[1].end), (1.0, 1.5));
        assert!(similarity("kitten", "sitting") > 0.5);
    }
}
