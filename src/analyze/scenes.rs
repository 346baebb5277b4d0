//! Shot boundaries without a model: a coarse colour histogram per frame, and a cut wherever
//! consecutive histograms differ by more than a threshold. Scenes then group the other
//! analyzers' events ([`assign_scenes`]).

use std::time::Instant;

use ndarray::ArrayView3;
use serde::{Deserialize, Serialize};

use super::frames::{self, Sampling};
use super::{AnalysisResult, AnalyzeError, Analyzer, Event, Inputs, Series, Source, round3};
use crate::job::Job;

/// Levels per channel of the joint RGB histogram (8 × 8 × 8 bins).
const LEVELS: usize = 8;
const BINS: usize = LEVELS * LEVELS * LEVELS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScenesSettings {
    /// Every frame by default: a cut between two sampled frames would be placed late.
    pub sampling: Sampling,
    /// Histogram difference (half the L1 distance, 0–1) above which frames belong to
    /// different shots.
    pub threshold: f64,
    /// Shortest scene in seconds; a cut closer than this to the previous one is ignored
    /// (flashes, fades).
    #[serde(rename = "min_scene_s", alias = "min_scene")]
    pub min_scene: f64,
}

impl Default for ScenesSettings {
    fn default() -> Self {
        Self {
            sampling: Sampling::every_frame(),
            threshold: 0.35,
            min_scene: 0.5,
        }
    }
}

impl ScenesSettings {
    pub fn validate(&self) -> Result<(), AnalyzeError> {
        self.sampling.validate()?;
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(AnalyzeError::Settings(
                "the scene threshold must lie in (0, 1]".into(),
            ));
        }
        if !(self.min_scene.is_finite() && self.min_scene >= 0.0) {
            return Err(AnalyzeError::Settings(
                "the shortest scene must be 0 or more seconds".into(),
            ));
        }
        Ok(())
    }
}

/// A normalized joint RGB histogram of every second pixel in each direction.
pub fn histogram(rgb: ArrayView3<u8>) -> Vec<f32> {
    let mut counts = vec![0u32; BINS];
    let (h, w) = (rgb.shape()[0], rgb.shape()[1]);
    let shift = 8 - LEVELS.trailing_zeros();
    for y in (0..h).step_by(2) {
        for x in (0..w).step_by(2) {
            let q = |c: usize| usize::from(rgb[[y, x, c]] >> shift);
            counts[(q(0) * LEVELS + q(1)) * LEVELS + q(2)] += 1;
        }
    }
    let total = counts.iter().sum::<u32>().max(1) as f32;
    counts.into_iter().map(|c| c as f32 / total).collect()
}

/// Half the L1 distance between two normalized histograms: 0 for equal, 1 for disjoint.
pub fn difference(a: &[f32], b: &[f32]) -> f64 {
    0.5 * a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from((x - y).abs()))
        .sum::<f64>()
}

/// The scene each event starts in (1-based, as the scene labels count), added to its
/// payload as `scene`.
pub fn assign_scenes(events: &mut [Event], scenes: &[Event]) {
    for event in events {
        let found = scenes
            .iter()
            .filter(|s| s.track == "scene")
            .position(|s| s.start <= event.start && event.start < s.end);
        if let Some(k) = found {
            if event.payload.is_null() {
                event.payload = serde_json::json!({});
            }
            if let Some(map) = event.payload.as_object_mut() {
                map.insert("scene".into(), (k + 1).into());
            }
        }
    }
}

/// The `scenes` analyzer.
pub struct Scenes {
    settings: ScenesSettings,
}

impl Scenes {
    pub fn new(settings: ScenesSettings) -> Self {
        Self { settings }
    }
}

impl Analyzer for Scenes {
    fn name(&self) -> &'static str {
        "scenes"
    }

    fn inputs(&self) -> Inputs {
        Inputs::Frames
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::to_value(&self.settings).unwrap_or_default()
    }

    fn run(&mut self, source: &Source, job: &Job) -> Result<AnalysisResult, AnalyzeError> {
        let started = Instant::now();
        job.set_message("comparing frames");
        let mut previous: Option<Vec<f32>> = None;
        let mut times = Vec::new();
        let mut diffs = Vec::new();
        // (time, frame, difference) of each accepted cut.
        let mut cuts: Vec<(f64, usize, f64)> = Vec::new();
        let mut first: Option<(f64, usize)> = None;
        let mut last = (0.0, 0usize);
        let (threshold, min_scene) = (self.settings.threshold, self.settings.min_scene);
        let clip = frames::for_each_sampled(source, &self.settings.sampling, job, |frame| {
            let hist = histogram(frame.rgb);
            let d = previous.as_ref().map_or(0.0, |p| difference(p, &hist));
            let scene_start = cuts
                .last()
                .map(|c| c.0)
                .or(first.map(|f| f.0))
                .unwrap_or(0.0);
            if previous.is_some() && d > threshold && frame.time - scene_start >= min_scene {
                cuts.push((frame.time, frame.index, d));
            }
            first.get_or_insert((frame.time, frame.index));
            last = (frame.time, frame.index);
            times.push(frame.time);
            diffs.push(round3(d));
            previous = Some(hist);
            Ok(true)
        })?;
        let interval = self.settings.sampling.interval(clip.fps);
        let end = (last.0 + interval).max(clip.duration);
        let (start, start_frame) = first.unwrap_or((0.0, 0));
        let mut events = Vec::new();
        let mut bounds: Vec<(f64, usize, Option<f64>)> = vec![(start, start_frame, None)];
        bounds.extend(cuts.iter().map(|&(t, i, d)| (t, i, Some(d))));
        for (k, &(t, frame, strength)) in bounds.iter().enumerate() {
            let (next_t, next_frame) = bounds
                .get(k + 1)
                .map_or((end, last.1 + 1), |&(t, f, _)| (t, f));
            let mut scene = Event::new("scene", t, next_t, format!("scene {}", k + 1))
                .with_payload(serde_json::json!({
                    "first_frame": frame,
                    "last_frame": next_frame.saturating_sub(1),
                }));
            if let Some(d) = strength {
                scene = scene.with_score(round3(d));
            }
            events.push(scene);
        }
        for &(t, frame, d) in &cuts {
            events.push(
                Event::new("cut", t, t, format!("cut at frame {frame}"))
                    .with_score(round3(d))
                    .with_payload(serde_json::json!({ "frame": frame })),
            );
        }
        let scenes = bounds.len();
        let mut summary = serde_json::Map::new();
        summary.insert("scenes".into(), scenes.into());
        summary.insert("cuts".into(), cuts.len().into());
        summary.insert(
            "cut_frames".into(),
            cuts.iter().map(|c| c.1).collect::<Vec<_>>().into(),
        );
        summary.insert(
            "mean_scene_seconds".into(),
            round3((end - start) / scenes as f64).into(),
        );
        summary.insert("frames_compared".into(), times.len().into());
        Ok(AnalysisResult {
            analyzer: self.name().into(),
            source: source.path.clone(),
            duration: clip.duration,
            models: Vec::new(),
            settings: self.settings(),
            summary,
            events,
            series: vec![Series {
                name: "histogram_difference".into(),
                unit: "fraction".into(),
                step: interval,
                times,
                values: diffs,
            }],
            elapsed: started.elapsed().as_secs_f64(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn histograms_tell_colours_apart() {
        let red = Array3::from_shape_fn((8, 8, 3), |(_, _, c)| if c == 0 { 200 } else { 10 });
        let blue = Array3::from_shape_fn((8, 8, 3), |(_, _, c)| if c == 2 { 200 } else { 10 });
        let (a, b) = (histogram(red.view()), histogram(blue.view()));
        assert!((a.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(difference(&a, &a), 0.0);
        assert!((difference(&a, &b) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn events_get_the_scene_they_start_in() {
        let scenes = vec![
            Event::new("scene", 0.0, 2.0, "scene 1"),
            Event::new("scene", 2.0, 5.0, "scene 2"),
        ];
        let mut events = vec![
            Event::new("text", 2.5, 3.0, "hi"),
            Event::new("text", 6.0, 7.0, "after"),
        ];
        assign_scenes(&mut events, &scenes);
        assert_eq!(events[0].payload["scene"], 2);
        assert!(events[1].payload.is_null());
    }
}
