//! Object detection with any YOLO-format ONNX detector (the YOLOv8 / YOLO11 layout: one
//! output of `batch × (4 + classes) × anchors`, boxes as centre and size in input pixels,
//! class names in the model's `names` metadata). Frames are letterboxed, run in batches and
//! the boxes mapped back to frame pixels after a class-wise non-maximum suppression.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use ndarray::{Array4, ArrayView3, ArrayView4, Axis, s};
use ort::session::Session;
use ort::value::TensorRef;
use serde::{Deserialize, Serialize};

use super::frames::{self, Deduplicator, DuplicateSkip, Sampling};
use super::tracking::{Observed, Tracker};
use super::vision::{BoxXywh, Normalize, nms, resample_into};
use super::{
    AnalysisResult, AnalyzeError, Analyzer, Environment, Event, Inputs, Series, Source, round3,
};
use crate::job::Job;

/// The detector installed for when the user names none.
pub const DEFAULT_MODEL: (&str, &str) = ("ssdlite-person", "ssdlite_person.onnx");
/// The installed detectors `--model` takes by name, and their files.
pub const MODELS: &[(&str, &str)] = &[DEFAULT_MODEL, ("nudenet-320n", "320n.onnx")];
/// Overlap with a track's last box that continues it, and sampled frames it may be missed.
const TRACK_IOU: f32 = 0.3;
const TRACK_GAP: usize = 2;
/// Grey that YOLO's letterbox pads with.
const PAD: f32 = 114.0 / 255.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObjectsSettings {
    pub sampling: Sampling,
    /// Off by default: a static camera with moving objects changes little of the picture.
    pub duplicates: DuplicateSkip,
    /// A YOLO-format `.onnx`, or an installed detector's name (`ssdlite-person`,
    /// `nudenet-320n`); `None`: the installed `ssdlite-person`.
    pub model: Option<PathBuf>,
    /// Input side in pixels (a multiple of 32); 0: the model's own (`imgsz`), else 640.
    pub size: usize,
    /// Detections below this class score are dropped.
    pub confidence: f64,
    /// Boxes of one class overlapping more than this are one detection.
    pub iou: f64,
    /// Frames per inference; 0 sizes it to the provider.
    pub batch: usize,
}

impl Default for ObjectsSettings {
    fn default() -> Self {
        Self {
            sampling: Sampling::default(),
            duplicates: DuplicateSkip {
                enabled: false,
                ..DuplicateSkip::default()
            },
            model: None,
            size: 0,
            confidence: 0.25,
            iou: 0.45,
            batch: 0,
        }
    }
}

impl ObjectsSettings {
    pub fn validate(&self) -> Result<(), AnalyzeError> {
        self.sampling.validate()?;
        self.duplicates.validate()?;
        let bad = |m: &str| Err(AnalyzeError::Settings(m.to_owned()));
        if self.size != 0 && (self.size < 32 || !self.size.is_multiple_of(32)) {
            return bad("the input size must be a multiple of 32 (320, 640, …)");
        }
        if !(0.0..=1.0).contains(&self.confidence) || !(0.0..=1.0).contains(&self.iou) {
            return bad("the confidence and IoU thresholds must lie in 0–1");
        }
        Ok(())
    }
}

/// One detected object in frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub class: usize,
    pub score: f32,
    pub bbox: BoxXywh,
}

/// Where a frame sits inside the input: letterboxed (one scale, padding) or stretched to
/// fill it (a scale per axis, no padding).
#[derive(Debug, Clone, Copy)]
struct Letterbox {
    scale_x: f32,
    scale_y: f32,
    left: f32,
    top: f32,
    width: usize,
    height: usize,
}

/// A loaded YOLO-format detector.
pub struct Detector {
    session: Session,
    pub names: Vec<String>,
    pub size: usize,
    pub batch: usize,
    /// Frames fill the input, aspect ratio ignored (the model's `resize: stretch` metadata:
    /// TensorFlow's SSDs were trained so), instead of being letterboxed.
    stretch: bool,
    confidence: f32,
    iou: f32,
}

impl Detector {
    pub fn new(
        session: Session,
        settings: &ObjectsSettings,
        gpu: bool,
    ) -> Result<Self, AnalyzeError> {
        let input = session
            .inputs()
            .first()
            .ok_or_else(|| AnalyzeError::Runtime("the model has no input".into()))?;
        let dims: Vec<i64> = input
            .dtype()
            .tensor_shape()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        if dims.len() != 4 || dims[1] != 3 {
            return Err(AnalyzeError::Runtime(format!(
                "not a YOLO detector: its input is {dims:?}, expected batch × 3 × height × width"
            )));
        }
        let (names, imgsz, resize) = {
            let metadata = session.metadata()?;
            (
                metadata.custom("names"),
                metadata.custom("imgsz"),
                metadata.custom("resize"),
            )
        };
        let names = names.map(|n| parse_names(&n)).unwrap_or_default();
        let model_size = imgsz
            .and_then(|s| {
                s.trim_matches(['[', ']'])
                    .split(',')
                    .next()?
                    .trim()
                    .parse()
                    .ok()
            })
            .or_else(|| (dims[2] > 0).then_some(dims[2] as usize));
        let fixed = (dims[2] > 0).then_some(dims[2] as usize);
        let size = match (settings.size, fixed) {
            (0, Some(f)) => f,
            (0, None) => model_size.unwrap_or(640),
            (s, Some(f)) if s != f => {
                return Err(AnalyzeError::Settings(format!(
                    "this model takes {f} × {f} inputs only; leave the size at 0 or give {f}"
                )));
            }
            (s, _) => s,
        };
        let batch = if dims[0] > 0 {
            dims[0] as usize
        } else {
            match settings.batch {
                0 if gpu => 16,
                0 => 4,
                n => n,
            }
        };
        Ok(Self {
            session,
            names,
            size,
            batch,
            stretch: resize.as_deref() == Some("stretch"),
            confidence: settings.confidence as f32,
            iou: settings.iou as f32,
        })
    }

    pub fn class_name(&self, class: usize) -> String {
        self.names
            .get(class)
            .cloned()
            .unwrap_or_else(|| format!("class {class}"))
    }

    /// Letterboxes `rgb` into slot `slot` of `input`.
    fn place(&self, rgb: ArrayView3<u8>, input: &mut Array4<f32>, slot: usize) -> Letterbox {
        let (h, w) = (rgb.shape()[0], rgb.shape()[1]);
        let norm = Normalize {
            bgr: false,
            mean: 0.0,
            std: 1.0,
        };
        let whole = BoxXywh::from_corners(0.0, 0.0, w as f32, h as f32);
        if self.stretch {
            let mut plane = input.index_axis_mut(Axis(0), slot);
            resample_into(rgb, whole, &mut plane, self.size, self.size, norm);
            return Letterbox {
                scale_x: self.size as f32 / w as f32,
                scale_y: self.size as f32 / h as f32,
                left: 0.0,
                top: 0.0,
                width: w,
                height: h,
            };
        }
        let scale = (self.size as f32 / w as f32).min(self.size as f32 / h as f32);
        let (nw, nh) = (
            ((w as f32 * scale).round() as usize).clamp(1, self.size),
            ((h as f32 * scale).round() as usize).clamp(1, self.size),
        );
        let (left, top) = ((self.size - nw) / 2, (self.size - nh) / 2);
        let mut plane = input.index_axis_mut(Axis(0), slot);
        plane.fill(PAD);
        let mut inner = plane.slice_mut(s![.., top.., left..]);
        resample_into(rgb, whole, &mut inner, nw, nh, norm);
        Letterbox {
            scale_x: nw as f32 / w as f32,
            scale_y: nw as f32 / w as f32,
            left: left as f32,
            top: top as f32,
            width: w,
            height: h,
        }
    }

    fn new_input(&self, frames: usize) -> Array4<f32> {
        Array4::zeros((frames, 3, self.size, self.size))
    }

    fn infer(
        &mut self,
        input: ArrayView4<f32>,
        boxes: &[Letterbox],
    ) -> Result<Vec<Vec<Detection>>, AnalyzeError> {
        let name = self.session.inputs()[0].name().to_owned();
        let outputs = self
            .session
            .run(ort::inputs![name => TensorRef::from_array_view(input)?])?;
        let (shape, data) = outputs[0].try_extract_tensor::<f32>()?;
        let (rows, anchors) = match shape[..] {
            [_, r, a] if r > 4 => (r as usize, a as usize),
            _ => {
                return Err(AnalyzeError::Runtime(format!(
                    "not a YOLOv8/YOLO11 output: shape {shape:?}, expected batch × (4 + classes) × anchors"
                )));
            }
        };
        Ok(boxes
            .iter()
            .enumerate()
            .map(|(b, letterbox)| {
                let out = &data[b * rows * anchors..(b + 1) * rows * anchors];
                decode(out, rows, anchors, letterbox, self.confidence, self.iou)
            })
            .collect())
    }

    /// Detections in each of `frames`, in batches.
    pub fn detect(
        &mut self,
        frames: &[ArrayView3<u8>],
    ) -> Result<Vec<Vec<Detection>>, AnalyzeError> {
        let mut out = Vec::with_capacity(frames.len());
        for group in frames.chunks(self.batch.max(1)) {
            let mut input = self.new_input(group.len());
            let boxes: Vec<Letterbox> = group
                .iter()
                .enumerate()
                .map(|(i, f)| self.place(*f, &mut input, i))
                .collect();
            out.extend(self.infer(input.view(), &boxes)?);
        }
        Ok(out)
    }

    /// One inference on a blank batch, so that timing starts with the runtime set up.
    pub fn warm_up(&mut self) -> Result<(), AnalyzeError> {
        let input = self.new_input(1);
        let letterbox = Letterbox {
            scale_x: 1.0,
            scale_y: 1.0,
            left: 0.0,
            top: 0.0,
            width: self.size,
            height: self.size,
        };
        self.infer(input.view(), &[letterbox]).map(drop)
    }
}

/// Candidates of one image's output (`rows × anchors`, row-major): the best class per anchor
/// above `confidence`, boxes mapped out of the letterbox, then NMS within each class.
fn decode(
    out: &[f32],
    rows: usize,
    anchors: usize,
    letterbox: &Letterbox,
    confidence: f32,
    iou: f32,
) -> Vec<Detection> {
    let mut candidates: Vec<Detection> = Vec::new();
    for a in 0..anchors {
        let (mut class, mut score) = (0, f32::MIN);
        for c in 4..rows {
            let v = out[c * anchors + a];
            if v > score {
                (class, score) = (c - 4, v);
            }
        }
        if score < confidence {
            continue;
        }
        let (cx, cy, w, h) = (
            out[a],
            out[anchors + a],
            out[2 * anchors + a],
            out[3 * anchors + a],
        );
        let map_x = |x: f32| (x - letterbox.left) / letterbox.scale_x;
        let map_y = |y: f32| (y - letterbox.top) / letterbox.scale_y;
        let bbox = BoxXywh::from_corners(
            map_x(cx - w / 2.0),
            map_y(cy - h / 2.0),
            map_x(cx + w / 2.0),
            map_y(cy + h / 2.0),
        )
        .clip(letterbox.width, letterbox.height);
        if bbox.area() > 0.0 {
            candidates.push(Detection { class, score, bbox });
        }
    }
    class_wise_nms(candidates, iou)
}

/// NMS run separately for each class, so that a person and a bag in one place both stay;
/// the result is ordered by score.
pub fn class_wise_nms(candidates: Vec<Detection>, iou: f32) -> Vec<Detection> {
    let mut by_class: BTreeMap<usize, Vec<Detection>> = BTreeMap::new();
    for d in candidates {
        by_class.entry(d.class).or_default().push(d);
    }
    let mut kept: Vec<Detection> = Vec::new();
    for (_, group) in by_class {
        let boxes: Vec<BoxXywh> = group.iter().map(|d| d.bbox).collect();
        let scores: Vec<f32> = group.iter().map(|d| d.score).collect();
        kept.extend(
            nms(&boxes, &scores, iou)
                .into_iter()
                .map(|i| group[i].clone()),
        );
    }
    kept.sort_by(|a, b| b.score.total_cmp(&a.score));
    kept
}

/// Class names from Ultralytics' `names` metadata, a Python dict literal:
/// `{0: 'person', 1: 'bicycle', …}`.
pub fn parse_names(text: &str) -> Vec<String> {
    let mut names: BTreeMap<usize, String> = BTreeMap::new();
    let mut rest = text.trim().trim_start_matches('{');
    while let Some(colon) = rest.find(':') {
        let key = rest[..colon].trim().trim_start_matches(',').trim();
        let after = rest[colon + 1..].trim_start();
        let Some(quote) = after.chars().next().filter(|c| *c == '\'' || *c == '"') else {
            break;
        };
        let Some(end) = after[1..].find(quote) else {
            break;
        };
        if let Ok(k) = key.parse::<usize>() {
            names.insert(k, after[1..1 + end].to_owned());
        }
        rest = &after[end + 2..];
    }
    let len = names.keys().next_back().map_or(0, |k| k + 1);
    (0..len)
        .map(|i| names.remove(&i).unwrap_or_else(|| format!("class {i}")))
        .collect()
}

/// The `objects` analyzer.
pub struct Objects {
    settings: ObjectsSettings,
    env: Environment,
    /// The detector, loaded and warmed up on the first clip and kept for the next (a batch).
    loaded: Option<(Detector, super::ModelUsed)>,
}

impl Objects {
    pub fn new(settings: ObjectsSettings, env: Environment) -> Self {
        Self {
            settings,
            env,
            loaded: None,
        }
    }
}

/// A sampled frame and which analysed frame's detections it shows.
struct Sampled {
    index: usize,
    time: f64,
    analysed: usize,
}

impl Analyzer for Objects {
    fn name(&self) -> &'static str {
        "objects"
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
                job.set_message("loading the detector");
                let installed = |p: &std::path::Path| {
                    MODELS
                        .iter()
                        .copied()
                        .find(|(name, _)| p.as_os_str() == *name)
                };
                let (session, used) = match &self.settings.model {
                    Some(path) => match installed(path) {
                        Some((name, file)) => self.env.vision_session(name, file)?,
                        None => self.env.vision_session_at(path)?,
                    },
                    None => self.env.vision_session(DEFAULT_MODEL.0, DEFAULT_MODEL.1)?,
                };
                let gpu = used.runtime.contains("CUDA");
                let mut detector =
                    Detector::new(session, &self.settings, gpu).map_err(|e| match e {
                        AnalyzeError::Runtime(reason) => AnalyzeError::Model {
                            path: used.file.clone(),
                            reason,
                        },
                        other => other,
                    })?;
                let warm = Instant::now();
                detector.warm_up()?;
                warm_up = warm.elapsed().as_secs_f64();
                (detector, used)
            }
        };
        let (detector, used) = self.loaded.insert(loaded);
        let used = used.clone();
        job.set_message("detecting objects");

        let mut dedup = Deduplicator::default();
        let mut sampled: Vec<Sampled> = Vec::new();
        let mut results: Vec<Vec<Detection>> = Vec::new();
        let mut input = detector.new_input(detector.batch);
        let mut pending: Vec<Letterbox> = Vec::new();
        let mut inference = 0.0f64;
        let mut flush = |detector: &mut Detector,
                         input: &Array4<f32>,
                         pending: &mut Vec<Letterbox>,
                         results: &mut Vec<Vec<Detection>>|
         -> Result<(), AnalyzeError> {
            if pending.is_empty() {
                return Ok(());
            }
            let t = Instant::now();
            // The filled slots of the batch, as a view: a partial last batch is not copied.
            let filled = input.slice(s![..pending.len(), .., .., ..]);
            results.extend(detector.infer(filled, pending)?);
            inference += t.elapsed().as_secs_f64();
            pending.clear();
            Ok(())
        };
        let clip = frames::for_each_sampled(source, &self.settings.sampling, job, |frame| {
            if dedup.needs_analysis(&self.settings.duplicates, frame.rgb) {
                let slot = pending.len();
                pending.push(detector.place(frame.rgb, &mut input, slot));
                if pending.len() == detector.batch {
                    flush(detector, &input, &mut pending, &mut results)?;
                }
            }
            sampled.push(Sampled {
                index: frame.index,
                time: frame.time,
                analysed: dedup.analysed.saturating_sub(1),
            });
            Ok(true)
        })?;
        flush(detector, &input, &mut pending, &mut results)?;

        let interval = self.settings.sampling.interval(clip.fps);
        let mut events = Vec::new();
        let mut counts: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
        let mut tracker = Tracker::new(TRACK_IOU, TRACK_GAP);
        for (k, frame) in sampled.iter().enumerate() {
            let detections = results.get(frame.analysed).map_or(&[][..], Vec::as_slice);
            let observed: Vec<Observed> = detections
                .iter()
                .map(|d| Observed {
                    class: d.class,
                    score: d.score,
                    bbox: d.bbox,
                })
                .collect();
            let ids = tracker.observe(k, frame.time, &observed);
            for (d, id) in detections.iter().zip(ids) {
                let name = detector.class_name(d.class);
                events.push(
                    Event::new(
                        &name,
                        frame.time,
                        frame.time + interval,
                        format!("{name} #{id}"),
                    )
                    .with_score(round3(f64::from(d.score)))
                    .with_payload(serde_json::json!({
                        "box": d.bbox.to_json(),
                        "frame": frame.index,
                        "track": id,
                    })),
                );
                counts
                    .entry(d.class)
                    .or_insert_with(|| vec![0.0; sampled.len()])[k] += 1.0;
            }
        }
        let detections = events.len();
        let tracks = tracker.finish();
        let mut tracks_per_class = serde_json::Map::new();
        for t in &tracks {
            let name = detector.class_name(t.class);
            // One bar per object: from the first sampled frame it is in to the end of the
            // last one.
            let label = format!("{name} #{}", t.id);
            events.push(
                Event::new(&label, t.first, t.last + interval, label.clone())
                    .with_score(round3(f64::from(t.mean_score)))
                    .with_payload(serde_json::json!({
                        "class": name,
                        "track": t.id,
                        "frames": t.frames,
                        "first_box": t.first_box.to_json(),
                        "last_box": t.last_box.to_json(),
                    })),
            );
            let n = tracks_per_class.entry(name).or_insert(0u64.into());
            *n = (n.as_u64().unwrap_or(0) + 1).into();
        }
        let times: Vec<f64> = sampled.iter().map(|f| f.time).collect();
        let mut per_class = serde_json::Map::new();
        let series = counts
            .into_iter()
            .map(|(class, values)| {
                let name = detector.class_name(class);
                per_class.insert(name.clone(), (values.iter().sum::<f64>() as u64).into());
                Series {
                    name: format!("count {name}"),
                    unit: "objects".into(),
                    step: interval,
                    times: times.clone(),
                    values,
                }
            })
            .collect();
        let mut summary = serde_json::Map::new();
        summary.insert("frames_sampled".into(), sampled.len().into());
        summary.insert("frames_analysed".into(), dedup.analysed.into());
        summary.insert("frames_skipped_as_duplicates".into(), dedup.skipped.into());
        summary.insert("detections".into(), detections.into());
        summary.insert("tracks".into(), tracks.len().into());
        summary.insert("tracks_per_class".into(), tracks_per_class.into());
        summary.insert("detections_per_class".into(), per_class.into());
        summary.insert("input_size".into(), detector.size.into());
        summary.insert("batch".into(), detector.batch.into());
        summary.insert("warm_up_seconds".into(), round3(warm_up).into());
        summary.insert("inference_seconds".into(), round3(inference).into());
        if inference > 0.0 {
            summary.insert(
                "inference_frames_per_second".into(),
                round3(dedup.analysed as f64 / inference).into(),
            );
        }
        Ok(AnalysisResult {
            analyzer: self.name().into(),
            source: source.path.clone(),
            duration: clip.duration,
            models: vec![used],
            settings: self.settings(),
            summary,
            events,
            series,
            elapsed: started.elapsed().as_secs_f64(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ultralytics_names_parse() {
        let names = parse_names("{0: 'person', 1: \"bi, cycle\", 3: 'car'}");
        assert_eq!(names, vec!["person", "bi, cycle", "class 2", "car"]);
        assert!(parse_names("").is_empty());
    }

    #[test]
    fn decode_maps_out_of_the_letterbox_and_suppresses_duplicates() {
        // Two anchors on the same object of class 1, one on class 0, in a 2-class model.
        let anchors = 3;
        let rows = 6;
        let mut out = vec![0.0f32; rows * anchors];
        let set = |out: &mut Vec<f32>, a: usize, v: [f32; 6]| {
            for (r, x) in v.iter().enumerate() {
                out[r * anchors + a] = *x;
            }
        };
        set(&mut out, 0, [100.0, 100.0, 40.0, 40.0, 0.0, 0.9]);
        set(&mut out, 1, [102.0, 101.0, 40.0, 42.0, 0.1, 0.8]);
        set(&mut out, 2, [100.0, 100.0, 40.0, 40.0, 0.7, 0.2]);
        // A 200 × 100 frame in a 320 input: scale 1.6, 80 pixels of padding above.
        let letterbox = Letterbox {
            scale_x: 1.6,
            scale_y: 1.6,
            left: 0.0,
            top: 80.0,
            width: 200,
            height: 100,
        };
        let found = decode(&out, rows, anchors, &letterbox, 0.25, 0.45);
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].class, found[1].class), (1, 0));
        let b = found[0].bbox;
        assert!((b.x - 50.0).abs() < 1e-3 && b.y.abs() < 1e-3 && (b.w - 25.0).abs() < 1e-3);
    }
}
