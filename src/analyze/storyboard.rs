//! The storyboard: one record per scene that fuses what the other analyzers found in it —
//! the object tracks present, the distinct on-screen lines, the words spoken and their
//! rate — with the scene's sharpest frame as a thumbnail and a one-line summary built by a
//! fixed template from those facts. It reads the results of `scenes` and whichever of
//! `objects`, `text_overlay` and `speech_rate` ran before it ([`super::run_all`] orders
//! them), so it adds only one partial pass over the frames it picks from.
//!
//! The records are events of track `scene` whose payload is a [`SceneRecord`], so JSON, CSV
//! and the timeline take them like any other result; [`write_report`] turns them into one
//! self-contained HTML page.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use base64::Engine;
use ndarray::ArrayView3;
use serde::{Deserialize, Serialize};

use super::frames::{self, ClipFrames};
use super::options::AnalyzerName;
use super::story_words;
pub use super::story_words::TEMPLATE_LANGUAGES;
use super::{
    AUTO_LANGUAGE, AnalysisResult, AnalyzeError, Analyzer, AnalyzerOptions, Environment, Event,
    Inputs, Source, round3,
};
use crate::job::Job;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoryboardSettings {
    /// Frames looked at per scene for the representative one, spread evenly over it.
    pub candidates: usize,
    /// Longest side of a thumbnail, pixels.
    pub thumbnail_side: u32,
    /// The JPEG quality of a thumbnail is lowered until it takes at most this many bytes.
    pub thumbnail_bytes: usize,
    /// The summary line's language: `auto` (the spoken language where the template has it,
    /// else English), `en` or `de`.
    pub language: String,
}

impl Default for StoryboardSettings {
    fn default() -> Self {
        Self {
            candidates: 5,
            thumbnail_side: 320,
            thumbnail_bytes: 40_000,
            language: AUTO_LANGUAGE.into(),
        }
    }
}

impl StoryboardSettings {
    pub fn validate(&self) -> Result<(), AnalyzeError> {
        let bad = |m: String| Err(AnalyzeError::Settings(m));
        if !(1..=50).contains(&self.candidates) {
            return bad("the storyboard looks at 1 to 50 frames per scene".into());
        }
        if !(16..=1920).contains(&self.thumbnail_side) {
            return bad("thumbnails are 16 to 1920 pixels on their longest side".into());
        }
        if self.thumbnail_bytes < 2_000 {
            return bad("thumbnails need at least 2000 bytes".into());
        }
        if self.language != AUTO_LANGUAGE && !TEMPLATE_LANGUAGES.contains(&self.language.as_str()) {
            return bad(format!(
                "the storyboard's summary has the languages {AUTO_LANGUAGE}, {}; not `{}`",
                TEMPLATE_LANGUAGES.join(", "),
                self.language
            ));
        }
        Ok(())
    }
}

/// The frame that stands for a scene: the sharpest of those looked at. Sharpness is the
/// variance of the 4-neighbour Laplacian of the thumbnail's luma (BT.601), so frames of any
/// size compare on one scale and motion blur or a fade scores low.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Representative {
    pub index: usize,
    pub time: f64,
    pub sharpness: f64,
}

/// An object track seen in a scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectInScene {
    /// "person #2": the objects result's track.
    pub label: String,
    pub class: String,
    pub track: u64,
    /// First and last seconds it is seen in the scene (the last sampled frame's end).
    pub first: f64,
    pub last: f64,
    /// The fraction of the scene's sampled frames it is detected in.
    pub coverage: f64,
}

/// A distinct on-screen line and when it shows within the scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextInScene {
    pub text: String,
    pub start: f64,
    pub end: f64,
    /// Sampled frames of the scene it is read in.
    pub frames: usize,
    /// The best of its spans' mean recognition confidences.
    pub confidence: Option<f64>,
}

impl TextInScene {
    /// Whether the summary quotes it: two characters or more, read with confidence in more
    /// than one sampled frame, so that a misread blob (a face read as a glyph) stays in the
    /// list but out of the line.
    fn quotable(&self) -> bool {
        self.frames >= QUOTE_FRAMES
            && self.confidence.is_some_and(|c| c >= QUOTE_CONFIDENCE)
            && self.text.chars().filter(|c| c.is_alphanumeric()).count() >= 2
    }
}

/// What a line needs for the summary to quote it ([`TextInScene::quotable`]).
const QUOTE_FRAMES: usize = 2;
const QUOTE_CONFIDENCE: f64 = 0.8;

/// What is said in a scene: the words whose middle falls in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechInScene {
    pub transcript: String,
    pub words: usize,
    /// Words per minute from the first word's start to the last word's end (pauses inside
    /// included); `None` below two words.
    pub words_per_minute: Option<f64>,
    pub pauses: usize,
    pub pause_seconds: f64,
    /// The clip's spoken language as speech_rate found or was told it.
    pub language: Option<String>,
}

/// One scene of the storyboard, the payload of its event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SceneRecord {
    /// 1-based, as the scenes analyzer counts.
    pub scene: usize,
    pub start: f64,
    pub end: f64,
    pub duration: f64,
    pub first_frame: usize,
    pub last_frame: usize,
    pub frame: Option<Representative>,
    /// The representative frame as a JPEG data URI (`data:image/jpeg;base64,…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
    pub objects: Vec<ObjectInScene>,
    /// Tracks per class seen in at least two sampled frames of the scene (one in a scene
    /// sampled once), so a one-frame false detection is listed but not counted.
    pub object_counts: BTreeMap<String, usize>,
    pub text: Vec<TextInScene>,
    /// `None` when speech_rate did not run.
    pub speech: Option<SpeechInScene>,
    /// The one-line summary.
    pub summary: String,
}

impl SceneRecord {
    /// The record an event of a storyboard result holds.
    pub fn of(event: &Event) -> Option<Self> {
        if event.track != "scene" {
            return None;
        }
        serde_json::from_value(event.payload.clone()).ok()
    }
}

/// The records of a storyboard result, in time order.
pub fn records(result: &AnalysisResult) -> Vec<SceneRecord> {
    let mut found: Vec<SceneRecord> = result.events.iter().filter_map(SceneRecord::of).collect();
    found.sort_by(|a, b| a.start.total_cmp(&b.start));
    found
}

/// The analyzers a storyboard fuses.
pub const FUSED: [AnalyzerName; 3] = [
    AnalyzerName::Objects,
    AnalyzerName::TextOverlay,
    AnalyzerName::SpeechRate,
];

/// What runs for a storyboard: `scenes` always, and the fused analyzers named beside it;
/// when none but the storyboard (and `vad`, which it does not read) is named, every fused
/// analyzer whose models are installed. `-a storyboard,scenes` is a storyboard of the
/// scenes alone.
pub fn companions(
    named: &[AnalyzerName],
    options: &AnalyzerOptions,
    env: &Environment,
) -> Vec<AnalyzerName> {
    let mut out = vec![AnalyzerName::Scenes];
    let alone = named
        .iter()
        .all(|a| matches!(a, AnalyzerName::Storyboard | AnalyzerName::Vad));
    if alone {
        out.extend(FUSED.into_iter().filter(|&a| installed(a, options, env)));
    }
    out
}

/// Whether an analyzer's models are there with these options.
fn installed(name: AnalyzerName, options: &AnalyzerOptions, env: &Environment) -> bool {
    let store = &env.store;
    let named_or_file = |chosen: &Option<std::path::PathBuf>, default: &str| match chosen {
        None => store.is_installed(default),
        Some(p) if p.is_file() => true,
        Some(p) => store.is_installed(&p.to_string_lossy()),
    };
    match name {
        AnalyzerName::Objects => named_or_file(&options.model, super::objects::DEFAULT_MODEL.0),
        AnalyzerName::TextOverlay => store.is_installed(&options.ocr_model),
        AnalyzerName::SpeechRate => {
            (!options.use_vad || store.is_installed("silero-vad"))
                && named_or_file(&options.whisper_model, super::DEFAULT_WHISPER.0)
        }
        _ => true,
    }
}

/// The `storyboard` analyzer.
pub struct Storyboard {
    settings: StoryboardSettings,
}

impl Storyboard {
    pub fn new(settings: StoryboardSettings) -> Self {
        Self { settings }
    }
}

impl Analyzer for Storyboard {
    fn name(&self) -> &'static str {
        "storyboard"
    }

    fn inputs(&self) -> Inputs {
        Inputs::Frames
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::to_value(&self.settings).unwrap_or_default()
    }

    fn run(&mut self, source: &Source, job: &Job) -> Result<AnalysisResult, AnalyzeError> {
        self.run_after(source, &[], job)
    }

    fn run_after(
        &mut self,
        source: &Source,
        earlier: &[AnalysisResult],
        job: &Job,
    ) -> Result<AnalysisResult, AnalyzeError> {
        let started = Instant::now();
        let scenes = earlier
            .iter()
            .find(|r| r.analyzer == "scenes")
            .ok_or_else(|| {
                AnalyzeError::Storyboard(
                    "it needs the scenes analyzer's result: run it with `-a storyboard`, which \
                     runs scenes first"
                        .into(),
                )
            })?;
        let language = match self.settings.language.as_str() {
            AUTO_LANGUAGE => story_words::template_language(spoken_language(earlier).as_deref()),
            other => story_words::template_language(Some(other)),
        };
        let mut records = fuse(scenes, earlier, language);
        job.set_message("picking each scene's sharpest frame");
        let (clip, read) = pick_frames(source, &mut records, &self.settings, job)?;
        let thumbnail_bytes: usize = records
            .iter()
            .filter_map(|r| r.thumbnail.as_ref().map(String::len))
            .sum();
        let events = records
            .iter()
            .map(|r| {
                Event::new("scene", r.start, r.end, r.summary.clone())
                    .with_payload(serde_json::to_value(r).unwrap_or_default())
            })
            .collect();
        let mut summary = serde_json::Map::new();
        summary.insert("scenes".into(), records.len().into());
        summary.insert(
            "fused".into(),
            earlier
                .iter()
                .map(|r| r.analyzer.clone())
                .collect::<Vec<_>>()
                .into(),
        );
        summary.insert("summary_language".into(), language.into());
        summary.insert("frames_read".into(), read.into());
        summary.insert("thumbnail_bytes".into(), thumbnail_bytes.into());
        summary.insert("width".into(), clip.width.into());
        summary.insert("height".into(), clip.height.into());
        summary.insert("fps".into(), round3(clip.fps).into());
        Ok(AnalysisResult {
            analyzer: self.name().into(),
            source: source.path.clone(),
            duration: scenes.duration.max(clip.duration),
            models: Vec::new(),
            settings: self.settings(),
            summary,
            events,
            series: Vec::new(),
            elapsed: started.elapsed().as_secs_f64(),
        })
    }
}

/// The clip's spoken language as speech_rate found or was told it.
pub(crate) fn spoken_language(results: &[AnalysisResult]) -> Option<String> {
    results
        .iter()
        .find(|r| r.analyzer == "speech_rate")
        .and_then(|r| r.summary.get("language"))
        .and_then(|l| l.as_str())
        .map(str::to_owned)
}

/// The scene records from the results, without their frames: what each scene holds, and its
/// summary line in `language` (a template language).
pub fn fuse(
    scenes: &AnalysisResult,
    earlier: &[AnalysisResult],
    language: &str,
) -> Vec<SceneRecord> {
    let of = |name: &str| earlier.iter().find(|r| r.analyzer == name);
    let (objects, text, speech) = (of("objects"), of("text_overlay"), of("speech_rate"));
    let spoken = spoken_language(earlier);
    scenes
        .events_on("scene")
        .enumerate()
        .map(|(k, scene)| {
            let (s, e) = (scene.start, scene.end);
            let frame_of = |key: &str| {
                scene.payload[key]
                    .as_u64()
                    .and_then(|v| usize::try_from(v).ok())
            };
            let first_frame = frame_of("first_frame").unwrap_or(0);
            let last_frame = frame_of("last_frame")
                .unwrap_or(first_frame)
                .max(first_frame);
            let (objects, object_counts) = objects.map(|r| objects_in(r, s, e)).unwrap_or_default();
            let text = text.map(|r| text_in(r, s, e)).unwrap_or_default();
            let speech = speech.map(|r| speech_in(r, s, e, spoken.clone()));
            let summary = summary_line(&object_counts, &text, speech.as_ref(), language);
            SceneRecord {
                scene: k + 1,
                start: s,
                end: e,
                duration: round3(e - s),
                first_frame,
                last_frame,
                frame: None,
                thumbnail: None,
                objects,
                object_counts,
                text,
                speech,
                summary,
            }
        })
        .collect()
}

fn objects_in(
    result: &AnalysisResult,
    s: f64,
    e: f64,
) -> (Vec<ObjectInScene>, BTreeMap<String, usize>) {
    let inside = |t: f64| s <= t && t < e;
    // The sampled frames' times and spacing, from the per-class count series (there is one
    // per class detected, all over the same frames).
    let series = result.series.iter().find(|x| x.name.starts_with("count "));
    let step = series.map_or(0.0, |x| x.step);
    let sampled = series.map_or(0, |x| x.times.iter().filter(|&&t| inside(t)).count());
    let mut seen: BTreeMap<(String, u64), Vec<f64>> = BTreeMap::new();
    for d in &result.events {
        // Detections carry their track's number; the tracks themselves carry `class`.
        let (Some(id), None) = (d.payload["track"].as_u64(), d.payload.get("class")) else {
            continue;
        };
        if inside(d.start) {
            seen.entry((d.track.clone(), id)).or_default().push(d.start);
        }
    }
    // Counted where the detections are still at hand, not recovered from the rounded
    // coverage.
    let needed = 2.min(sampled.max(1));
    let mut counts = BTreeMap::new();
    let mut objects: Vec<ObjectInScene> = seen
        .into_iter()
        .map(|((class, track), times)| {
            if times.len() >= needed {
                *counts.entry(class.clone()).or_insert(0) += 1;
            }
            let first = times.iter().copied().fold(f64::INFINITY, f64::min);
            let last = times.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            ObjectInScene {
                label: format!("{class} #{track}"),
                class,
                track,
                first: round3(first),
                last: round3((last + step).min(e)),
                coverage: round3(times.len() as f64 / sampled.max(times.len()) as f64),
            }
        })
        .collect();
    objects.sort_by(|a, b| a.first.total_cmp(&b.first).then(a.label.cmp(&b.label)));
    (objects, counts)
}

fn text_in(result: &AnalysisResult, s: f64, e: f64) -> Vec<TextInScene> {
    // A line's span ends at the first sampled frame without it, which may lie past a cut;
    // it belongs to a scene where it shows for longer than a sampling interval, or lies
    // wholly inside.
    let fps = result.settings["sampling"]["fps"].as_f64().unwrap_or(0.0);
    let interval = if fps > 0.0 { 1.0 / fps } else { 0.0 };
    let mut lines: Vec<TextInScene> = Vec::new();
    for t in result.events_on("text") {
        let (a, b) = (t.start.max(s), t.end.min(e));
        let whole = t.start >= s && t.end <= e;
        if b - a <= 1e-9 || !(whole || b - a > interval) {
            continue;
        }
        // Of a span that crosses a cut, the frames on this side.
        let seen = t.payload["frames"]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(1);
        let frames = if fps > 0.0 {
            seen.min(((b - a) * fps).ceil() as usize)
        } else {
            seen
        };
        match lines.iter_mut().find(|l| l.text == t.label) {
            Some(l) => {
                l.start = l.start.min(round3(a));
                l.end = l.end.max(round3(b));
                l.frames += frames;
                l.confidence = match (l.confidence, t.score) {
                    (Some(x), Some(y)) => Some(x.max(y)),
                    (x, y) => x.or(y),
                };
            }
            None => lines.push(TextInScene {
                text: t.label.clone(),
                start: round3(a),
                end: round3(b),
                frames,
                confidence: t.score,
            }),
        }
    }
    lines.sort_by(|a, b| a.start.total_cmp(&b.start));
    lines
}

fn speech_in(result: &AnalysisResult, s: f64, e: f64, language: Option<String>) -> SpeechInScene {
    let middle_inside = |ev: &&Event| {
        let m = (ev.start + ev.end) / 2.0;
        s <= m && m < e
    };
    let mut words: Vec<&Event> = result.events_on("word").filter(middle_inside).collect();
    words.sort_by(|a, b| a.start.total_cmp(&b.start));
    // A pause counts where it lies whole: the silence before a scene's first words belongs
    // to no scene's speech.
    let pauses: Vec<&Event> = result
        .events_on("pause")
        .filter(|p| s <= p.start && p.end <= e)
        .collect();
    let span = match (words.first(), words.last()) {
        (Some(a), Some(b)) => b.end - a.start,
        _ => 0.0,
    };
    SpeechInScene {
        transcript: words
            .iter()
            .map(|w| w.label.trim())
            .collect::<Vec<_>>()
            .join(" "),
        words: words.len(),
        words_per_minute: (words.len() >= 2 && span > 0.0)
            .then(|| round3(words.len() as f64 * 60.0 / span)),
        pauses: pauses.len(),
        // An empty float sum is −0.0; start from +0.0.
        pause_seconds: round3(pauses.iter().map(|p| p.duration()).fold(0.0, |a, d| a + d)),
        language,
    }
}

/// "3 people, 1 bicycle; text 'Sale 50%'; 42 words at 168 wpm".
pub fn summary_line(
    counts: &BTreeMap<String, usize>,
    text: &[TextInScene],
    speech: Option<&SpeechInScene>,
    language: &str,
) -> String {
    let mut by_count: Vec<(&String, &usize)> = counts.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut parts = Vec::new();
    if !by_count.is_empty() {
        parts.push(
            by_count
                .iter()
                .map(|(class, n)| story_words::count_phrase(class, **n, language))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    // A line read whole and in part ("Chapter 2", "Chapter"), or with and without a space
    // ("Chapter2"), is quoted once: the reading seen in the most frames.
    let squeeze = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let mut quoted: Vec<(&TextInScene, String)> = text
        .iter()
        .filter(|t| t.quotable())
        .map(|t| (t, squeeze(&t.text)))
        .collect();
    let mut lines: Vec<&str> = Vec::new();
    while let Some((k, _)) = quoted.iter().enumerate().max_by(|a, b| {
        (a.1.0.frames, a.1.1.len())
            .cmp(&(b.1.0.frames, b.1.1.len()))
            .then(b.0.cmp(&a.0))
    }) {
        let (line, key) = quoted.remove(k);
        quoted.retain(|(_, other)| !key.contains(other.as_str()) && !other.contains(key.as_str()));
        lines.push(&line.text);
    }
    // In the order they appear.
    lines.sort_by(|a, b| {
        let at = |l: &str| text.iter().position(|t| t.text == l);
        at(a).cmp(&at(b))
    });
    parts.extend(story_words::text_phrase(&lines, language));
    if let Some(sp) = speech {
        parts.extend(story_words::speech_phrase(
            sp.words,
            sp.words_per_minute,
            language,
        ));
    }
    if parts.is_empty() {
        story_words::nothing(language).to_owned()
    } else {
        parts.join("; ")
    }
}

/// Reads `settings.candidates` frames spread over each scene and keeps the sharpest as the
/// scene's representative and thumbnail. Returns the clip's facts and how many frames were
/// read.
fn pick_frames(
    source: &Source,
    records: &mut [SceneRecord],
    settings: &StoryboardSettings,
    job: &Job,
) -> Result<(ClipFrames, usize), AnalyzeError> {
    let mut chosen = Vec::new();
    for r in records.iter() {
        let n = r.last_frame - r.first_frame + 1;
        let k = settings.candidates.min(n);
        chosen.extend((0..k).map(|j| r.first_frame + (2 * j + 1) * n / (2 * k)));
    }
    let mut best: Vec<Option<(Representative, image::RgbImage)>> = vec![None; records.len()];
    let mut read = 0usize;
    let clip = frames::for_each_chosen(source, &chosen, job, |frame| {
        read += 1;
        let found = records
            .iter()
            .position(|r| r.start <= frame.time && frame.time < r.end)
            .or_else(|| (!records.is_empty()).then(|| records.len() - 1));
        if let Some(k) = found {
            let thumb = thumbnail(frame.rgb, settings.thumbnail_side);
            let sharp = sharpness(&thumb);
            if best[k].as_ref().is_none_or(|(b, _)| sharp > b.sharpness) {
                let chosen = Representative {
                    index: frame.index,
                    time: round3(frame.time),
                    sharpness: round3(sharp),
                };
                best[k] = Some((chosen, thumb));
            }
        }
        Ok(true)
    })?;
    for (record, picked) in records.iter_mut().zip(best) {
        if let Some((chosen, thumb)) = picked {
            let jpeg = encode_jpeg(&thumb, settings.thumbnail_bytes)?;
            record.thumbnail = Some(format!(
                "data:image/jpeg;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(jpeg)
            ));
            record.frame = Some(chosen);
        }
    }
    Ok((clip, read))
}

/// The frame scaled (never up) so that its longer side is at most `side`.
pub fn thumbnail(rgb: ArrayView3<u8>, side: u32) -> image::RgbImage {
    let (h, w) = (rgb.shape()[0], rgb.shape()[1]);
    let pixels: Vec<u8> = rgb.iter().copied().collect();
    let (w32, h32) = (
        u32::try_from(w).unwrap_or(u32::MAX),
        u32::try_from(h).unwrap_or(u32::MAX),
    );
    let full = image::RgbImage::from_raw(w32, h32, pixels).unwrap_or_default();
    let longer = w32.max(h32);
    if longer <= side {
        return full;
    }
    let scale = f64::from(side) / f64::from(longer);
    let (tw, th) = (
        ((f64::from(w32) * scale).round() as u32).max(1),
        ((f64::from(h32) * scale).round() as u32).max(1),
    );
    image::imageops::thumbnail(&full, tw, th)
}

/// Variance of the 4-neighbour Laplacian of the BT.601 luma; 0 for a flat image.
pub fn sharpness(img: &image::RgbImage) -> f64 {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let luma: Vec<f64> = img
        .pixels()
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .collect();
    let (mut sum, mut sum_sq, mut n) = (0.0, 0.0, 0.0);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let c = y * w + x;
            let l = luma[c - 1] + luma[c + 1] + luma[c - w] + luma[c + w] - 4.0 * luma[c];
            sum += l;
            sum_sq += l * l;
            n += 1.0;
        }
    }
    let mean = sum / n;
    (sum_sq / n - mean * mean).max(0.0)
}

/// JPEG at the highest of a few qualities that fits in `max_bytes` (the lowest when none
/// does).
fn encode_jpeg(img: &image::RgbImage, max_bytes: usize) -> Result<Vec<u8>, AnalyzeError> {
    let mut last = Vec::new();
    for quality in [85u8, 75, 65, 55, 45, 35, 25] {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(img)
            .map_err(|e| AnalyzeError::Storyboard(format!("encoding a thumbnail: {e}")))?;
        if out.len() <= max_bytes {
            return Ok(out);
        }
        last = out;
    }
    Ok(last)
}

/// A record's thumbnail as pixels (for the window), from its data URI.
pub fn decode_thumbnail(data_uri: &str) -> Option<image::RgbImage> {
    let b64 = data_uri.strip_prefix("data:image/jpeg;base64,")?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
        .ok()
        .map(|i| i.to_rgb8())
}

/// Writes the storyboard among `results` as one self-contained HTML page (see
/// [`super::report`]); the clip itself is refused as the target.
pub fn write_report(
    results: &[AnalysisResult],
    path: &Path,
    overwrite: bool,
) -> Result<(), AnalyzeError> {
    let page = super::report::html(results)?;
    let sources: Vec<&Path> = results.iter().map(|r| r.source.as_path()).collect();
    super::result::write_atomically(path, &sources, overwrite, |w| {
        std::io::Write::write_all(w, page.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn result(analyzer: &str, events: Vec<Event>) -> AnalysisResult {
        AnalysisResult {
            analyzer: analyzer.into(),
            source: "clip.mp4".into(),
            duration: 9.0,
            models: vec![],
            settings: serde_json::json!({"sampling": {"fps": 2.0}}),
            summary: serde_json::Map::new(),
            events,
            series: vec![],
            elapsed: 0.0,
        }
    }

    fn scenes() -> AnalysisResult {
        result(
            "scenes",
            vec![
                Event::new("scene", 0.0, 3.0, "scene 1")
                    .with_payload(serde_json::json!({"first_frame": 0, "last_frame": 74})),
                Event::new("scene", 3.0, 9.0, "scene 2")
                    .with_payload(serde_json::json!({"first_frame": 75, "last_frame": 224})),
            ],
        )
    }

    #[test]
    fn facts_go_to_the_scene_they_happen_in() {
        let mut objects = result("objects", vec![]);
        // A person in every sampled frame of scene 2, a cat in one frame of scene 1.
        let times: Vec<f64> = (0..18).map(|i| f64::from(i) * 0.5).collect();
        for &t in times.iter().filter(|&&t| t >= 3.0) {
            objects.events.push(
                Event::new("person", t, t + 0.5, "person #1")
                    .with_payload(serde_json::json!({"track": 1, "box": [0, 0, 1, 1]})),
            );
        }
        objects.events.push(
            Event::new("cat", 1.0, 1.5, "cat #1")
                .with_payload(serde_json::json!({"track": 1, "box": [0, 0, 1, 1]})),
        );
        objects.events.push(
            Event::new("person #1", 3.0, 9.0, "person #1")
                .with_payload(serde_json::json!({"class": "person", "track": 1, "frames": 12})),
        );
        objects.series.push(crate::analyze::Series {
            name: "count person".into(),
            unit: "objects".into(),
            step: 0.5,
            times: times.clone(),
            values: vec![0.0; times.len()],
        });
        let text = result(
            "text_overlay",
            vec![
                Event::new("text", 0.5, 3.5, "Sale 50%")
                    .with_score(0.95)
                    .with_payload(serde_json::json!({"frames": 6})),
                Event::new("text", 4.0, 6.0, "<script>x</script>")
                    .with_score(0.9)
                    .with_payload(serde_json::json!({"frames": 4})),
                // A glyph misread in one frame, and a line read in part.
                Event::new("text", 6.0, 6.5, "N")
                    .with_score(0.97)
                    .with_payload(serde_json::json!({"frames": 1})),
                Event::new("text", 6.5, 7.5, "<script>")
                    .with_score(0.99)
                    .with_payload(serde_json::json!({"frames": 2})),
            ],
        );
        let mut speech = result(
            "speech_rate",
            vec![
                Event::new("word", 4.0, 4.5, "hello"),
                Event::new("word", 4.5, 5.0, "world"),
                Event::new("pause", 5.0, 5.5, "pause"),
                Event::new("word", 5.5, 6.0, "again"),
                Event::new("word", 2.9, 3.3, "straddling"),
            ],
        );
        speech.summary.insert("language".into(), "en".into());
        let records = fuse(&scenes(), &[objects, text, speech], "en");
        assert_eq!(records.len(), 2);
        let (one, two) = (&records[0], &records[1]);
        assert_eq!(one.objects.len(), 1);
        assert!(
            one.object_counts.is_empty(),
            "one frame is listed, not counted"
        );
        assert_eq!(two.object_counts["person"], 1);
        assert_eq!(two.objects[0].coverage, 1.0);
        assert_eq!(two.objects[0].first, 3.0);
        // "Sale 50%" runs half a second into scene 2, no longer than one sampling interval.
        assert_eq!(one.text.len(), 1);
        // Seen at 0.5, 1.0, … 2.5 s on this side of the cut.
        assert_eq!(one.text[0].frames, 5);
        assert_eq!(two.text.len(), 3);
        assert_eq!(two.text[0].text, "<script>x</script>");
        let speech = two.speech.as_ref().unwrap();
        // "straddling" has its middle at 3.1 s.
        assert_eq!(speech.transcript, "straddling hello world again");
        assert_eq!(speech.words, 4);
        assert_eq!(speech.pauses, 1);
        assert_eq!(speech.words_per_minute, Some(round3(4.0 * 60.0 / 3.1)));
        assert_eq!(one.summary, "text 'Sale 50%'");
        assert_eq!(
            two.summary,
            "1 person; text '<script>x</script>'; 4 words at 77 wpm"
        );
    }

    #[test]
    fn the_summary_quotes_each_line_once_and_no_lone_glyph() {
        let line = |text: &str, frames: usize, confidence: f64| TextInScene {
            text: text.into(),
            start: 0.0,
            end: 1.0,
            frames,
            confidence: Some(confidence),
        };
        let text = [
            line("周", 5, 0.95),
            line("Chapter", 3, 0.99),
            line("Chapter 2", 14, 0.97),
            line("chapter2", 4, 0.96),
            line("Sale", 2, 0.5),
            line("Open daily", 2, 0.9),
        ];
        assert_eq!(
            summary_line(&BTreeMap::new(), &text, None, "en"),
            "text 'Chapter 2', 'Open daily'"
        );
    }

    #[test]
    fn a_scene_without_findings_says_so_in_its_language() {
        let records = fuse(&scenes(), &[], "de");
        assert_eq!(records[0].summary, "nichts erkannt");
        assert!(records[0].speech.is_none());
    }

    #[test]
    fn sharpness_prefers_edges_and_thumbnails_keep_the_aspect() {
        let flat = Array3::<u8>::from_elem((90, 160, 3), 128);
        let stripes =
            Array3::<u8>::from_shape_fn((90, 160, 3), |(_, x, _)| if x % 4 < 2 { 255 } else { 0 });
        let a = thumbnail(flat.view(), 320);
        assert_eq!((a.width(), a.height()), (160, 90));
        assert_eq!(sharpness(&a), 0.0);
        assert!(sharpness(&thumbnail(stripes.view(), 320)) > 1000.0);
        let big = Array3::<u8>::from_elem((720, 1280, 3), 7);
        let t = thumbnail(big.view(), 320);
        assert_eq!((t.width(), t.height()), (320, 180));
    }

    #[test]
    fn thumbnails_fit_their_byte_budget_and_decode() {
        // Noise compresses worst.
        let mut state = 12345u32;
        let noise = Array3::<u8>::from_shape_fn((180, 320, 3), |_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (state >> 16) as u8
        });
        let img = thumbnail(noise.view(), 320);
        let jpeg = encode_jpeg(&img, 40_000).unwrap();
        assert!(jpeg.len() <= 40_000, "{}", jpeg.len());
        let uri = format!(
            "data:image/jpeg;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&jpeg)
        );
        let back = decode_thumbnail(&uri).unwrap();
        assert_eq!((back.width(), back.height()), (320, 180));
    }

    #[test]
    fn settings_refuse_what_cannot_work() {
        assert!(StoryboardSettings::default().validate().is_ok());
        let bad = StoryboardSettings {
            language: "fr".into(),
            ..StoryboardSettings::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("fr"));
    }
}
