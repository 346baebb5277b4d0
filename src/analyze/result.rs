//! One result schema for every analyzer: time-stamped events (a span with a label, a score
//! and free-form payload) and sampled series, plus what produced them (the models, the
//! runtime, the settings). The window draws tracks from it; scripts read the JSON or CSV.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::AnalyzeError;

/// A span of the clip an analyzer found something in. Instants have `end == start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Which track of the timeline it belongs on: "speech", "word", "pause", …
    pub track: String,
    /// Seconds from the start of the clip.
    pub start: f64,
    pub end: f64,
    pub label: String,
    /// The model's confidence (0–1) or the measured value; `None` when there is none.
    pub score: Option<f64>,
    /// Analyzer-specific detail, kept as JSON (a box, a word list, …).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub payload: serde_json::Value,
}

impl Event {
    pub fn new(track: &str, start: f64, end: f64, label: impl Into<String>) -> Self {
        Self {
            track: track.to_owned(),
            start,
            end,
            label: label.into(),
            score: None,
            payload: serde_json::Value::Null,
        }
    }

    pub fn with_score(mut self, score: f64) -> Self {
        self.score = Some(score);
        self
    }

    pub fn with_payload(mut self, payload: serde_json::Value) -> Self {
        self.payload = payload;
        self
    }

    pub fn duration(&self) -> f64 {
        self.end - self.start
    }
}

/// A quantity sampled over time: `values[i]` holds over `times[i] .. times[i] + step`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub unit: String,
    pub step: f64,
    pub times: Vec<f64>,
    pub values: Vec<f64>,
}

/// A model an analyzer ran, as recorded in its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelUsed {
    pub name: String,
    pub file: PathBuf,
    /// "onnxruntime 1.31.1 (CPU)", "whisper.cpp 1.7.6 (CPU, 2 threads)".
    pub runtime: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisResult {
    pub analyzer: String,
    pub source: PathBuf,
    /// Length of the analysed media in seconds.
    pub duration: f64,
    pub models: Vec<ModelUsed>,
    /// The analyzer's settings, exactly as it ran with them.
    pub settings: serde_json::Value,
    /// Headline figures (words per minute, speech fraction, …).
    pub summary: serde_json::Map<String, serde_json::Value>,
    pub events: Vec<Event>,
    pub series: Vec<Series>,
    /// Wall-clock seconds the analysis took.
    pub elapsed: f64,
}

impl AnalysisResult {
    pub fn events_on<'a>(&'a self, track: &'a str) -> impl Iterator<Item = &'a Event> + 'a {
        self.events.iter().filter(move |e| e.track == track)
    }

    pub fn series(&self, name: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.name == name)
    }

    /// Writes the result as JSON; an existing file is replaced only with `overwrite`, and
    /// never when it is the analysed clip.
    pub fn write_json(&self, path: &Path, overwrite: bool) -> Result<(), AnalyzeError> {
        write_atomically(path, &[&self.source], overwrite, |w| {
            serde_json::to_writer_pretty(&mut *w, self).map_err(std::io::Error::other)?;
            w.write_all(b"\n")
        })
    }

    pub fn read_json(path: &Path) -> Result<Self, AnalyzeError> {
        let text = std::fs::read_to_string(path).map_err(|e| AnalyzeError::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| AnalyzeError::io(path, e))
    }

    /// One row per event, then one per series sample, with the same columns:
    /// `analyzer,track,start,end,label,score,payload`. A series sample is a row whose track
    /// is the series name, whose span is its step and whose score is its value.
    pub fn write_csv(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "{CSV_HEADER}")?;
        self.write_csv_rows(out)
    }

    fn write_csv_rows(&self, out: &mut impl Write) -> std::io::Result<()> {
        for e in &self.events {
            let score = e.score.map(|s| s.to_string()).unwrap_or_default();
            let payload = match &e.payload {
                serde_json::Value::Null => String::new(),
                // A storyboard's thumbnails stay in the JSON: a data URI in a cell helps
                // no spreadsheet.
                serde_json::Value::Object(map) if map.contains_key("thumbnail") => {
                    let mut map = map.clone();
                    map.remove("thumbnail");
                    serde_json::Value::Object(map).to_string()
                }
                other => other.to_string(),
            };
            writeln!(
                out,
                "{},{},{:.3},{:.3},{},{},{}",
                csv_field(&self.analyzer),
                csv_field(&e.track),
                e.start,
                e.end,
                csv_field(&e.label),
                score,
                csv_field(&payload)
            )?;
        }
        for s in &self.series {
            for (&t, &v) in s.times.iter().zip(&s.values) {
                writeln!(
                    out,
                    "{},{},{:.3},{:.3},,{},",
                    csv_field(&self.analyzer),
                    csv_field(&s.name),
                    t,
                    t + s.step,
                    v
                )?;
            }
        }
        Ok(())
    }

    pub fn write_csv_file(&self, path: &Path, overwrite: bool) -> Result<(), AnalyzeError> {
        write_atomically(path, &[&self.source], overwrite, |w| self.write_csv(w))
    }
}

const CSV_HEADER: &str = "analyzer,track,start,end,label,score,payload";

/// Several results in one JSON file: the result itself when there is one (the shape a
/// single analyzer writes), else an array of them.
pub fn write_results_json(
    results: &[AnalysisResult],
    path: &Path,
    overwrite: bool,
) -> Result<(), AnalyzeError> {
    match results {
        [one] => one.write_json(path, overwrite),
        many => write_atomically(path, &sources(many), overwrite, |w| {
            serde_json::to_writer_pretty(&mut *w, many).map_err(std::io::Error::other)?;
            w.write_all(b"\n")
        }),
    }
}

/// Reads what [`write_results_json`] writes: one result or an array of them.
pub fn read_results_json(path: &Path) -> Result<Vec<AnalysisResult>, AnalyzeError> {
    let text = std::fs::read_to_string(path).map_err(|e| AnalyzeError::io(path, e))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| AnalyzeError::io(path, e))?;
    let parsed = if value.is_array() {
        serde_json::from_value(value)
    } else {
        serde_json::from_value(value).map(|one| vec![one])
    };
    parsed.map_err(|e| AnalyzeError::io(path, format!("not a stackscope analysis result: {e}")))
}

/// Several results in one CSV file under one header; the `analyzer` column tells them apart.
pub fn write_results_csv(
    results: &[AnalysisResult],
    path: &Path,
    overwrite: bool,
) -> Result<(), AnalyzeError> {
    write_atomically(path, &sources(results), overwrite, |w| {
        writeln!(w, "{CSV_HEADER}")?;
        results.iter().try_for_each(|r| r.write_csv_rows(w))
    })
}

/// The clips results were computed from: outputs may not be any of them.
fn sources(results: &[AnalysisResult]) -> Vec<&Path> {
    results.iter().map(|r| r.source.as_path()).collect()
}

/// Refuses an output before an analysis runs rather than after: a folder, a missing parent,
/// one of the `inputs`, or an existing file without `overwrite`.
pub fn check_output(path: &Path, inputs: &[&Path], overwrite: bool) -> Result<(), AnalyzeError> {
    Ok(crate::output::check(path, inputs, overwrite)?)
}

/// RFC 4180 quoting, only where a field needs it.
pub(crate) fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

/// Writes beside the target and renames ([`crate::output::Output`]), so a failed write
/// never leaves half a file where a good one was.
pub(crate) fn write_atomically(
    path: &Path,
    inputs: &[&Path],
    overwrite: bool,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), AnalyzeError> {
    let out = crate::output::Output::begin(path, inputs, overwrite)?;
    let mut w = std::io::BufWriter::new(out.create()?);
    write(&mut w)
        .and_then(|()| w.into_inner().map(drop).map_err(|e| e.into_error()))
        .map_err(|e| out.io_error(e))?;
    out.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AnalysisResult {
        AnalysisResult {
            analyzer: "vad".into(),
            source: "clip.wav".into(),
            duration: 3.0,
            models: vec![],
            settings: serde_json::json!({"threshold": 0.5}),
            summary: serde_json::Map::new(),
            events: vec![
                Event::new("speech", 0.5, 1.25, "speech").with_score(0.9),
                Event::new("word", 0.5, 0.75, "hello, \"world\"")
                    .with_payload(serde_json::json!({"p": 1})),
            ],
            series: vec![Series {
                name: "wpm".into(),
                unit: "words/min".into(),
                step: 1.0,
                times: vec![0.0, 1.0],
                values: vec![120.0, 90.5],
            }],
            elapsed: 0.1,
        }
    }

    #[test]
    fn csv_quotes_fields_that_need_it_and_lists_series_samples() {
        let mut out = Vec::new();
        sample().write_csv(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "analyzer,track,start,end,label,score,payload");
        assert_eq!(lines[1], "vad,speech,0.500,1.250,speech,0.9,");
        assert_eq!(
            lines[2],
            r#"vad,word,0.500,0.750,"hello, ""world""",,"{""p"":1}""#
        );
        assert_eq!(lines[3], "vad,wpm,0.000,1.000,,120,");
        assert_eq!(lines[4], "vad,wpm,1.000,2.000,,90.5,");
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn json_round_trips_and_a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let r = sample();
        r.write_json(&path, false).unwrap();
        assert_eq!(AnalysisResult::read_json(&path).unwrap(), r);
        let bad = dir.path().join("missing").join("r.json");
        assert!(r.write_json(&bad, true).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
