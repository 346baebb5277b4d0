//! Speech rate: voice activity first, then whisper only on the speech.
//!
//! whisper.cpp encodes a full 30 s window whatever the audio's length, so transcribing
//! each VAD segment on its own would pay for 30 s per segment. Segments are instead packed,
//! in order and separated by a short silence, into windows of at most 30 s; word times are
//! mapped back through the packing. On audio that is half silence this halves the windows.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::vad::{self, Segment, VadSettings};
use super::whisper::{self, DetectedLanguage, Transcriber, Word};
use super::{
    AnalysisResult, AnalyzeError, Analyzer, Environment, Event, Inputs, ModelUsed, Series, Source,
    detect_speech, join_loader, load_speech_audio, open_vad, round3, spawn_loader,
};
use crate::job::Job;

const RATE: f64 = vad::SAMPLE_RATE as f64;
/// A packed window's longest length. whisper's window is 30 s, but whisper.cpp starts a
/// second pass (a second full encode) when its last timestamp is more than 1 s before the
/// audio's end, which a window of exactly 30 s nearly always triggers; 29 s does not.
const WINDOW_SECS: f64 = 29.0;
/// Silence put between packed segments so whisper hears them as separate utterances.
const GAP_SECS: f64 = 0.3;
/// `language` meaning "detect it".
pub const AUTO_LANGUAGE: &str = "auto";
/// The model speech_rate uses unless told otherwise, and its file.
pub const DEFAULT_WHISPER: (&str, &str) = ("whisper-base", "ggml-base.bin");
/// The installed whisper models `--whisper-model` takes by name, and their files.
pub const WHISPER_MODELS: &[(&str, &str)] =
    &[DEFAULT_WHISPER, ("whisper-tiny.en", "ggml-tiny.en.bin")];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpeechRateSettings {
    pub vad: VadSettings,
    /// Transcribe only what the VAD calls speech (packed into 30 s windows). Off: whisper
    /// runs over the whole audio, window after window.
    pub use_vad: bool,
    /// A whisper.cpp ggml model: a file, or the name of an installed one
    /// (`whisper-base`, `whisper-tiny.en`); `None`: the installed `whisper-base`.
    pub whisper_model: Option<PathBuf>,
    /// The spoken language, as an ISO 639-1 code (`de`, `en`, …), or `auto`: whisper
    /// detects it once per clip, on the first speech window.
    pub language: String,
    /// whisper.cpp threads; 0: all cores up to 4.
    pub whisper_threads: usize,
    /// Width of the sliding words-per-minute window, seconds.
    pub window_s: f64,
    /// Step of the sliding window, seconds.
    pub step_s: f64,
    /// Silences between words at least this long are reported as pauses.
    pub min_pause_ms: u32,
}

impl Default for SpeechRateSettings {
    fn default() -> Self {
        Self {
            vad: VadSettings {
                // Long segments are split so that each fits a whisper window.
                max_speech_s: 28.0,
                ..VadSettings::default()
            },
            use_vad: true,
            whisper_model: None,
            language: AUTO_LANGUAGE.into(),
            whisper_threads: 0,
            window_s: 10.0,
            step_s: 1.0,
            min_pause_ms: 250,
        }
    }
}

impl SpeechRateSettings {
    pub fn validate(&self) -> Result<(), AnalyzeError> {
        self.vad.validate()?;
        if self.language != AUTO_LANGUAGE && !whisper::is_language(&self.language) {
            return Err(AnalyzeError::Settings(format!(
                "speech_rate: --language {} is not a language whisper knows; give `auto` or \
                 an ISO 639-1 code such as de, en, fr, es, it, tr, pl",
                self.language
            )));
        }
        if f64::from(self.vad.max_speech_s) > WINDOW_SECS - 0.5 {
            return Err(AnalyzeError::Settings(
                "speech_rate: --max-speech must be at most 28.5 s so a segment fits one \
                 whisper window"
                    .into(),
            ));
        }
        if !(self.window_s >= 1.0 && self.step_s > 0.0 && self.step_s <= self.window_s) {
            return Err(AnalyzeError::Settings(
                "speech_rate: --rate-window must be ≥ 1 s and --rate-step in (0, window]".into(),
            ));
        }
        Ok(())
    }
}

/// A piece of the original audio placed in a window: `len` samples from `source` at `at`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Piece {
    at: usize,
    source: usize,
    len: usize,
}

#[derive(Debug, Clone, PartialEq)]
struct Window {
    pieces: Vec<Piece>,
    len: usize,
}

/// Packs segments, in order, into windows of at most 30 s with a gap between pieces.
fn pack(segments: &[Segment]) -> Vec<Window> {
    let cap = (WINDOW_SECS * RATE) as usize;
    let gap = (GAP_SECS * RATE) as usize;
    let mut windows: Vec<Window> = Vec::new();
    for s in segments {
        // Segments longer than a window are cut (the VAD's max_speech keeps them shorter).
        let mut source = s.start;
        while source < s.end {
            let len = (s.end - source).min(cap);
            let fits = windows.last().is_some_and(|w| w.len + gap + len <= cap);
            if !fits {
                windows.push(Window {
                    pieces: Vec::new(),
                    len: 0,
                });
            }
            let Some(w) = windows.last_mut() else { break };
            let at = if w.pieces.is_empty() { 0 } else { w.len + gap };
            w.pieces.push(Piece { at, source, len });
            w.len = at + len;
            source += len;
        }
    }
    windows
}

impl Window {
    /// The window's samples; a window that is one stretch of the audio (no VAD) is lent, not
    /// copied, since it may be the whole clip.
    fn audio<'a>(&self, audio: &'a [f32]) -> std::borrow::Cow<'a, [f32]> {
        if let [p] = self.pieces[..]
            && p.at == 0
            && p.len == self.len
        {
            return audio[p.source..p.source + p.len].into();
        }
        let mut out = vec![0.0; self.len];
        for p in &self.pieces {
            out[p.at..p.at + p.len].copy_from_slice(&audio[p.source..p.source + p.len]);
        }
        out.into()
    }

    /// The piece holding window time `t`, or the nearest one for times in a gap.
    fn piece_at(&self, t: f64) -> Option<&Piece> {
        let at = (t * RATE).max(0.0) as usize;
        self.pieces.iter().min_by_key(|p| {
            if at < p.at {
                p.at - at
            } else if at >= p.at + p.len {
                at + 1 - (p.at + p.len)
            } else {
                0
            }
        })
    }

    /// Original time of window time `t`, clamped into `piece`.
    fn to_source_in(piece: &Piece, t: f64) -> f64 {
        let at = ((t * RATE).max(0.0) as usize).clamp(piece.at, piece.at + piece.len);
        (piece.source + (at - piece.at)) as f64 / RATE
    }

    /// A word's original span. Both ends map through the piece its start is in: whisper's
    /// token times are loose, and a last word's end often runs into the gap or beyond.
    fn word_to_source(&self, start: f64, end: f64) -> Option<(f64, f64)> {
        let piece = self.piece_at(start)?;
        let a = Self::to_source_in(piece, start);
        Some((a, Self::to_source_in(piece, end).max(a)))
    }
}

pub struct SpeechRate {
    settings: SpeechRateSettings,
    env: Environment,
    /// The models, loaded on the first clip and kept for the next (a batch): whisper's
    /// context (a state is made per transcription) and the VAD (its state starts afresh per
    /// clip).
    transcriber: Option<Transcriber>,
    vad: Option<(super::vad::SileroVad, ModelUsed)>,
}

impl SpeechRate {
    pub fn new(settings: SpeechRateSettings, env: Environment) -> Self {
        Self {
            settings,
            env,
            transcriber: None,
            vad: None,
        }
    }

    /// The whisper model's path (checked now, so a missing one fails before any work) and
    /// its thread count.
    fn whisper_model(&self) -> Result<(PathBuf, usize), AnalyzeError> {
        let installed = |name: &str| {
            WHISPER_MODELS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|&(n, file)| self.env.store.require(n, file))
        };
        let path = match &self.settings.whisper_model {
            Some(p) => match p.to_str().and_then(installed) {
                Some(found) => found?,
                None => p.clone(),
            },
            None => self
                .env
                .store
                .require(DEFAULT_WHISPER.0, DEFAULT_WHISPER.1)?,
        };
        if !path.is_file() {
            return Err(AnalyzeError::Model {
                path,
                reason: "no such file".into(),
            });
        }
        let threads = match self.settings.whisper_threads {
            0 => super::whisper::default_threads(),
            n => n,
        };
        Ok((path, threads))
    }
}

/// A model kept from an earlier clip, or being loaded beside the audio's decoding.
enum Loader<'scope, T> {
    Kept(T),
    Loading(std::io::Result<std::thread::ScopedJoinHandle<'scope, Result<T, AnalyzeError>>>),
}

impl<T> Loader<'_, T> {
    fn join(self, what: &str) -> Result<T, AnalyzeError> {
        match self {
            Self::Kept(model) => Ok(model),
            Self::Loading(handle) => join_loader(handle, what),
        }
    }
}

impl Analyzer for SpeechRate {
    fn name(&self) -> &'static str {
        "speech_rate"
    }

    fn inputs(&self) -> Inputs {
        Inputs::Audio
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::to_value(&self.settings).unwrap_or_default()
    }

    fn run(&mut self, source: &Source, job: &Job) -> Result<AnalysisResult, AnalyzeError> {
        let started = std::time::Instant::now();
        let (model, threads) = self.whisper_model()?;
        // whisper.cpp loads its model (a few hundred ms) and ONNX Runtime the VAD while the
        // audio decodes; the VAD then runs on this thread.
        let (kept_transcriber, kept_vad) = (self.transcriber.take(), self.vad.take());
        let (transcriber, found) = std::thread::scope(|scope| {
            let loading = match kept_transcriber {
                Some(kept) => Loader::Kept(kept),
                None => Loader::Loading(spawn_loader(scope, "whisper model", || {
                    Transcriber::open(&model, threads)
                })),
            };
            let opening = match kept_vad {
                Some(kept) if self.settings.use_vad => Some(Loader::Kept(kept)),
                _ if self.settings.use_vad => {
                    Some(Loader::Loading(spawn_loader(scope, "VAD model", || {
                        open_vad(&self.env)
                    })))
                }
                _ => None,
            };
            let found = (|| {
                job.set_message("decoding audio");
                let audio = load_speech_audio(&source.path, job);
                let opened = opening.map(|o| o.join("loading the VAD model")).transpose();
                let audio = audio?;
                let Some((mut vad, used)) = opened? else {
                    let all = Segment {
                        start: 0,
                        end: audio.len(),
                    };
                    return Ok((audio, vec![all], None));
                };
                let (segments, _) = detect_speech(&mut vad, &self.settings.vad, &audio, job)?;
                Ok::<_, AnalyzeError>((audio, segments, Some((vad, used))))
            })();
            (loading.join("loading the whisper model"), found)
        });
        let transcriber = self.transcriber.insert(transcriber?);
        let (audio, segments, vad) = found?;
        let vad_model = vad.map(|(model, used)| {
            self.vad = Some((model, used.clone()));
            used
        });
        let duration = audio.len() as f64 / RATE;
        let mut models: Vec<ModelUsed> = vad_model.into_iter().collect();
        models.push(ModelUsed {
            name: "whisper".into(),
            file: transcriber.model().to_path_buf(),
            runtime: transcriber.label(),
        });

        let windows = if self.settings.use_vad {
            pack(&segments)
        } else {
            // The whole audio in one call: whisper.cpp's own long-form loop, which starts each
            // 30 s window at the last timestamp of the one before, as whisper is meant to run.
            vec![Window {
                pieces: vec![Piece {
                    at: 0,
                    source: 0,
                    len: audio.len(),
                }],
                len: audio.len(),
            }]
        };
        let language =
            choose_language(&self.settings.language, transcriber, &windows, &audio, job)?;
        job.set_message("transcribing");
        job.set_total(windows.len() as u64);
        let mut words: Vec<Word> = Vec::new();
        let code = language.as_ref().map_or("en", |l| l.code.as_str());
        for w in &windows {
            job.check()?;
            let heard =
                transcriber.transcribe(&w.audio(&audio), self.settings.use_vad, code, job)?;
            for mut word in heard {
                if let Some((a, b)) = w.word_to_source(word.start, word.end) {
                    (word.start, word.end) = (a, b);
                    words.push(word);
                }
            }
            job.advance(1);
        }

        Ok(report(
            self,
            source,
            Heard {
                segments: &segments,
                words: &words,
                language: language.as_ref(),
            },
            duration,
            windows.len(),
            models,
            started,
        ))
    }
}

/// The language a clip is transcribed in, and how it was chosen.
#[derive(Debug, Clone, PartialEq)]
struct Language {
    code: String,
    /// whisper's probability, when it detected the language.
    probability: Option<f32>,
    source: &'static str,
}

/// The language to transcribe in: the one given; for `auto`, the one whisper detects in the
/// first window (`None` when there is no speech to detect it in), or English for an
/// English-only model.
fn choose_language(
    wanted: &str,
    transcriber: &Transcriber,
    windows: &[Window],
    audio: &[f32],
    job: &Job,
) -> Result<Option<Language>, AnalyzeError> {
    if !transcriber.is_multilingual() {
        if wanted != AUTO_LANGUAGE && wanted != "en" {
            return Err(AnalyzeError::Settings(format!(
                "speech_rate: {} knows only English; for --language {wanted} use a \
                 multilingual model (--whisper-model whisper-base)",
                transcriber.model().display()
            )));
        }
        return Ok(Some(Language {
            code: "en".into(),
            probability: None,
            source: "model",
        }));
    }
    if wanted != AUTO_LANGUAGE {
        return Ok(Some(Language {
            code: wanted.to_owned(),
            probability: None,
            source: "given",
        }));
    }
    let Some(first) = windows.first() else {
        return Ok(None);
    };
    job.set_message("detecting the language");
    let DetectedLanguage { code, probability } =
        transcriber.detect_language(&first.audio(audio), job)?;
    Ok(Some(Language {
        code,
        probability: Some(probability),
        source: "detected",
    }))
}

/// What whisper heard in a clip.
struct Heard<'a> {
    segments: &'a [Segment],
    words: &'a [Word],
    language: Option<&'a Language>,
}

#[allow(clippy::too_many_arguments)]
fn report(
    analyzer: &SpeechRate,
    source: &Source,
    heard: Heard<'_>,
    duration: f64,
    windows: usize,
    models: Vec<ModelUsed>,
    started: std::time::Instant,
) -> AnalysisResult {
    let s = &analyzer.settings;
    let Heard {
        segments,
        words,
        language,
    } = heard;
    let per_minute = |n: usize, secs: f64| {
        if secs > 0.0 {
            n as f64 * 60.0 / secs
        } else {
            0.0
        }
    };
    let mut events = Vec::new();

    let speech_secs: f64 = if s.use_vad {
        segments.iter().map(|g| g.len() as f64 / RATE).sum()
    } else {
        duration
    };
    if s.use_vad {
        // Each word belongs to the segment nearest its middle: whisper's token times are
        // loose, and a segment's last word often ends a little after the segment does.
        let mut members: Vec<Vec<&Word>> = vec![Vec::new(); segments.len()];
        for w in words {
            let m = (w.start + w.end) / 2.0;
            let nearest = segments
                .iter()
                .enumerate()
                .map(|(i, g)| (i, (g.start_secs() - m).max(m - g.end_secs()).max(0.0)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((i, _)) = nearest {
                members[i].push(w);
            }
        }
        for (g, inside) in segments.iter().zip(members) {
            let (a, b) = (g.start_secs(), g.end_secs());
            let text = join(inside.iter().copied());
            events.push(
                Event::new("speech", a, b, text)
                    .with_score(round3(per_minute(inside.len(), b - a)))
                    .with_payload(serde_json::json!({ "words": inside.len() })),
            );
        }
    }
    for w in words {
        events.push(
            Event::new("word", w.start, w.end, w.text.clone())
                .with_score(round3(f64::from(w.probability))),
        );
    }
    let min_pause = f64::from(s.min_pause_ms) / 1000.0;
    let mut pauses = Vec::new();
    for pair in words.windows(2) {
        let gap = pair[1].start - pair[0].end;
        if gap >= min_pause {
            pauses.push(gap);
            events.push(
                Event::new("pause", pair[0].end, pair[1].start, "pause").with_score(round3(gap)),
            );
        }
    }

    // Sliding words per minute, centred on each step, the window clipped to the clip.
    let mut times = Vec::new();
    let mut values = Vec::new();
    let mut t = 0.0;
    while t < duration {
        let centre = t + s.step_s / 2.0;
        let (a, b) = (
            (centre - s.window_s / 2.0).max(0.0),
            (centre + s.window_s / 2.0).min(duration),
        );
        let n = words
            .iter()
            .filter(|w| {
                let m = (w.start + w.end) / 2.0;
                m >= a && m < b
            })
            .count();
        times.push(round3(t));
        values.push(round3(per_minute(n, b - a)));
        t += s.step_s;
    }

    let mut summary = serde_json::Map::new();
    summary.insert("words".into(), words.len().into());
    summary.insert(
        "words_per_minute_speaking".into(),
        round3(per_minute(words.len(), speech_secs)).into(),
    );
    summary.insert(
        "words_per_minute_overall".into(),
        round3(per_minute(words.len(), duration)).into(),
    );
    summary.insert("speech_seconds".into(), round3(speech_secs).into());
    summary.insert("speech_segments".into(), segments.len().into());
    summary.insert("whisper_windows".into(), windows.into());
    summary.insert("pauses".into(), pauses.len().into());
    summary.insert(
        "mean_pause_seconds".into(),
        round3(if pauses.is_empty() {
            0.0
        } else {
            pauses.iter().sum::<f64>() / pauses.len() as f64
        })
        .into(),
    );
    summary.insert("transcript".into(), join(words.iter()).into());
    summary.insert("language".into(), language.map(|l| l.code.clone()).into());
    summary.insert(
        "language_probability".into(),
        language
            .and_then(|l| l.probability)
            .map(|p| round3(f64::from(p)))
            .into(),
    );
    summary.insert("language_source".into(), language.map(|l| l.source).into());

    AnalysisResult {
        analyzer: "speech_rate".into(),
        source: source.path.clone(),
        duration,
        models,
        settings: analyzer.settings(),
        summary,
        events,
        series: vec![Series {
            name: "words_per_minute".into(),
            unit: "words/min".into(),
            step: s.step_s,
            times,
            values,
        }],
        elapsed: started.elapsed().as_secs_f64(),
    }
}

fn join<'a>(words: impl Iterator<Item = &'a Word>) -> String {
    words.map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(a: f64, b: f64) -> Segment {
        Segment {
            start: (a * RATE) as usize,
            end: (b * RATE) as usize,
        }
    }

    #[test]
    fn segments_pack_into_30_second_windows_in_order() {
        let segments = [
            seg(0.0, 10.0),
            seg(20.0, 30.0),
            seg(40.0, 48.0),
            seg(60.0, 85.0),
        ];
        let windows = pack(&segments);
        // 10 + 0.3 + 10 + 0.3 + 8 = 28.6 s fits; the 25 s segment needs its own window.
        assert_eq!(windows.len(), 2);
        assert_eq!(windows[0].pieces.len(), 3);
        assert!(windows[0].len <= (WINDOW_SECS * RATE) as usize);
        let w = &windows[0];
        let close = |got: Option<(f64, f64)>, a: f64, b: f64| {
            let (x, y) = got.unwrap();
            assert!((x - a).abs() < 1e-3 && (y - b).abs() < 1e-3, "{x} {y}");
        };
        // 10.3 s into the window is the start of the second segment, at 20 s.
        close(w.word_to_source(10.3, 10.8), 20.0, 20.5);
        close(w.word_to_source(5.0, 5.5), 5.0, 5.5);
        // A start in the gap snaps to the nearest piece's edge.
        close(w.word_to_source(10.05, 10.1), 10.0, 10.0);
        // An end that runs past its piece stays in it.
        close(w.word_to_source(9.8, 10.5), 9.8, 10.0);
        close(windows[1].word_to_source(1.0, 2.0), 61.0, 62.0);
    }

    #[test]
    fn a_segment_longer_than_a_window_is_cut() {
        let windows = pack(&[seg(0.0, 70.0)]);
        assert_eq!(windows.len(), 3);
        assert_eq!(windows[2].pieces[0].source, (58.0 * RATE) as usize);
    }

    #[test]
    fn window_audio_places_pieces_and_silence() {
        let audio: Vec<f32> = (0..(3.0 * RATE) as usize).map(|i| i as f32).collect();
        let windows = pack(&[seg(0.0, 1.0), seg(2.0, 3.0)]);
        let a = windows[0].audio(&audio);
        assert_eq!(a.len(), (2.3 * RATE) as usize);
        assert_eq!(a[0], 0.0);
        assert_eq!(a[(1.1 * RATE) as usize], 0.0);
        assert_eq!(a[(1.3 * RATE) as usize], 2.0 * RATE as f32);
    }
}
