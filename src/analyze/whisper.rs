//! Speech recognition with whisper.cpp (whisper-rs): 16 kHz mono in, words with times out.

use std::path::{Path, PathBuf};

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

use super::error::AnalyzeError;
use crate::job::Job;

/// One recognized word; times in seconds from the start of the audio passed in.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub start: f64,
    pub end: f64,
    pub text: String,
    /// Mean token probability.
    pub probability: f32,
}

/// The language whisper found in the audio.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedLanguage {
    /// ISO 639-1 code, as whisper names it ("de", "en", …).
    pub code: String,
    /// Its probability among the languages whisper knows.
    pub probability: f32,
}

/// Whether whisper knows `code` (ISO 639-1, as `de` or `en`; whisper's own names such as
/// `german` too).
pub fn is_language(code: &str) -> bool {
    !code.is_empty() && !code.contains('\0') && whisper_rs::get_lang_id(code).is_some()
}

/// The languages whisper knows, as (code, English name), in whisper's order.
pub fn languages() -> Vec<(&'static str, &'static str)> {
    (0..=whisper_rs::get_lang_max_id())
        .filter_map(|id| {
            Some((
                whisper_rs::get_lang_str(id)?,
                whisper_rs::get_lang_str_full(id)?,
            ))
        })
        .collect()
}

pub struct Transcriber {
    ctx: WhisperContext,
    model: PathBuf,
    threads: usize,
}

/// whisper.cpp's threads: all cores up to 4 (its own default); it does not spin-wait.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
}

impl Transcriber {
    pub fn open(model: &Path, threads: usize) -> Result<Self, AnalyzeError> {
        whisper_rs::install_logging_hooks();
        if !model.is_file() {
            return Err(AnalyzeError::Model {
                path: model.to_path_buf(),
                reason: "no such file; `stackscope models install whisper-base` installs \
                         one, or give a whisper.cpp ggml model with --whisper-model"
                    .into(),
            });
        }
        let ctx = WhisperContext::new_with_params(model, WhisperContextParameters::default())
            .map_err(|e| AnalyzeError::Model {
                path: model.to_path_buf(),
                reason: format!("not a whisper.cpp ggml model ({e})"),
            })?;
        Ok(Self {
            ctx,
            model: model.to_path_buf(),
            threads: threads.max(1),
        })
    }

    pub fn model(&self) -> &Path {
        &self.model
    }

    /// An English-only model (tiny.en, base.en, …) cannot detect or transcribe another
    /// language.
    pub fn is_multilingual(&self) -> bool {
        self.ctx.is_multilingual()
    }

    /// Detects the spoken language from the first 30 s of `audio` (one encoder pass and
    /// one decoder step).
    pub fn detect_language(
        &self,
        audio: &[f32],
        job: &Job,
    ) -> Result<DetectedLanguage, AnalyzeError> {
        let werr = |e: whisper_rs::WhisperError| AnalyzeError::Whisper(e.to_string());
        job.check()?;
        let mut state = self.ctx.create_state().map_err(werr)?;
        let window = &audio[..audio.len().min(30 * 16_000)];
        state
            .pcm_to_mel(&pad_to_minimum(window), self.threads)
            .map_err(werr)?;
        let (id, probabilities) = state.lang_detect(0, self.threads).map_err(werr)?;
        let code = whisper_rs::get_lang_str(id)
            .ok_or_else(|| AnalyzeError::Whisper(format!("language id {id} has no name")))?;
        Ok(DetectedLanguage {
            code: code.to_owned(),
            probability: probabilities.get(id as usize).copied().unwrap_or(0.0),
        })
    }

    pub fn label(&self) -> String {
        format!(
            "whisper.cpp {} (CPU, {} thread{})",
            whisper_rs::WHISPER_CPP_VERSION,
            self.threads,
            if self.threads == 1 { "" } else { "s" }
        )
    }

    /// Transcribes speech in `language` (a code whisper knows, checked by the caller).
    /// Longer than 30 s, whisper.cpp decodes window by window,
    /// each window starting at the last timestamp of the one before and costing a full 30 s
    /// encode. `one_window` (for audio of at most 30 s) decodes the audio as one segment in
    /// one pass: otherwise whisper.cpp re-encodes from the last timestamp whenever that is
    /// more than a second before the end, which doubles the cost of a packed window.
    pub fn transcribe(
        &self,
        audio: &[f32],
        one_window: bool,
        language: &str,
        job: &Job,
    ) -> Result<Vec<Word>, AnalyzeError> {
        let werr = |e: whisper_rs::WhisperError| AnalyzeError::Whisper(e.to_string());
        let mut state = self.ctx.create_state().map_err(werr)?;
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(self.threads as i32);
        params.set_language(Some(language));
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_token_timestamps(true);
        params.set_no_context(true);
        params.set_suppress_blank(true);
        params.set_single_segment(one_window && audio.len() <= 30 * 16_000);
        // whisper-rs 0.16's `set_abort_callback_safe` hands whisper.cpp a pointer to a boxed
        // trait object but reads it back as the closure type, so the flag it returns is
        // garbage (whisper.cpp then fails with -6 at random). Pass the job directly.
        unsafe extern "C" fn aborted(user_data: *mut std::ffi::c_void) -> bool {
            // SAFETY: `user_data` is the `&Job` set below, alive until `full` returns.
            unsafe { (*(user_data as *const Job)).is_cancelled() }
        }
        // SAFETY: the callback only reads the job, which outlives the `full` call below
        // (`params` is consumed by it and not kept).
        unsafe {
            params.set_abort_callback(Some(aborted));
            params.set_abort_callback_user_data(job as *const Job as *mut std::ffi::c_void);
        }
        let input = pad_to_minimum(audio);
        let run = state.full(params, &input);
        job.check()?;
        run.map_err(werr)?;

        let eot = self.ctx.token_eot();
        let mut words: Vec<Word> = Vec::new();
        let mut probs: Vec<f32> = Vec::new();
        for segment in state.as_iter() {
            for t in 0..segment.n_tokens() {
                let Some(token) = segment.get_token(t) else {
                    continue;
                };
                if token.token_id() >= eot {
                    continue;
                }
                let text = token.to_str_lossy().map_err(werr)?.into_owned();
                let data = token.token_data();
                let (t0, t1) = (data.t0 as f64 / 100.0, data.t1 as f64 / 100.0);
                let starts_word = text.starts_with(' ') || words.is_empty();
                let is_punctuation = text.trim().chars().all(|c| !c.is_alphanumeric());
                if starts_word && (!is_punctuation || words.is_empty()) {
                    if let Some(last) = words.last_mut() {
                        last.probability = mean(&probs);
                    }
                    probs.clear();
                    words.push(Word {
                        start: t0,
                        end: t1.max(t0),
                        text: text.trim().to_owned(),
                        probability: 0.0,
                    });
                } else if let Some(last) = words.last_mut() {
                    last.text.push_str(text.trim_end());
                    last.end = last.end.max(t1);
                }
                probs.push(data.p);
            }
        }
        if let Some(last) = words.last_mut() {
            last.probability = mean(&probs);
        }
        // Lone punctuation or blanks are not words.
        words.retain(|w| w.text.chars().any(char::is_alphanumeric));
        let duration = audio.len() as f64 / 16_000.0;
        for w in &mut words {
            w.start = w.start.min(duration);
            w.end = w.end.clamp(w.start, duration);
        }
        Ok(words)
    }
}

/// whisper.cpp refuses input under 1 s; pads with silence.
fn pad_to_minimum(audio: &[f32]) -> std::borrow::Cow<'_, [f32]> {
    const MIN: usize = 16_000 + 1600;
    if audio.len() < MIN {
        let mut v = audio.to_vec();
        v.resize(MIN, 0.0);
        std::borrow::Cow::Owned(v)
    } else {
        std::borrow::Cow::Borrowed(audio)
    }
}

fn mean(v: &[f32]) -> f32 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f32>() / v.len() as f32
    }
}
