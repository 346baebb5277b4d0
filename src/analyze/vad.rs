//! Voice activity with Silero VAD: 16 kHz mono in 512-sample chunks, each fed with the 64
//! samples before it and the recurrent state the previous chunk returned, as the model was
//! trained. Both of Silero's ONNX exports are read: the streaming one (a chunk per call) and
//! the sequence one (a block of chunks per call), which agree bit for bit. Probabilities
//! become speech segments with hysteresis (start above `threshold`, end below
//! `threshold − 0.15`), a minimum silence that ends a segment, a minimum speech duration, a
//! maximum one (split at the longest pause inside) and padding.

use std::path::Path;

use ndarray::{Array0, Array2, Array3};
use ort::session::Session;
use ort::value::TensorRef;
use serde::{Deserialize, Serialize};

use super::error::AnalyzeError;
use crate::job::Job;

pub const SAMPLE_RATE: u32 = 16_000;
pub const CHUNK: usize = 512;
const CONTEXT: usize = 64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VadSettings {
    /// Probability at which speech starts.
    pub threshold: f32,
    /// Probability below which speech may end; `None`: threshold − 0.15.
    pub neg_threshold: Option<f32>,
    /// Shorter segments are dropped.
    pub min_speech_ms: u32,
    /// A pause must last this long to end a segment.
    pub min_silence_ms: u32,
    /// Added before and after each segment (halved between close segments).
    pub pad_ms: u32,
    /// Longer segments are split, at the longest pause inside when there is one.
    pub max_speech_s: f32,
}

impl Default for VadSettings {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            neg_threshold: None,
            min_speech_ms: 250,
            min_silence_ms: 100,
            pad_ms: 30,
            max_speech_s: f32::INFINITY,
        }
    }
}

impl VadSettings {
    pub fn validate(&self) -> Result<(), AnalyzeError> {
        let bad = |m: &str| Err(AnalyzeError::Settings(m.to_owned()));
        if !(0.0..=1.0).contains(&self.threshold) {
            return bad("--threshold must be between 0 and 1");
        }
        if let Some(n) = self.neg_threshold
            && !(0.0..=self.threshold).contains(&n)
        {
            return bad("--neg-threshold must be between 0 and --threshold");
        }
        if self.max_speech_s.is_nan() || self.max_speech_s < 1.0 {
            return bad("--max-speech must be at least 1 second");
        }
        Ok(())
    }
}

/// A stretch of speech, in samples at 16 kHz.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub start: usize,
    pub end: usize,
}

impl Segment {
    pub fn start_secs(&self) -> f64 {
        self.start as f64 / f64::from(SAMPLE_RATE)
    }
    pub fn end_secs(&self) -> f64 {
        self.end as f64 / f64::from(SAMPLE_RATE)
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// How a Silero VAD file wants to be fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadLayout {
    /// The stock streaming export (`silero_vad.onnx`): one chunk per call, the recurrent
    /// state and the sample rate as inputs.
    Streaming,
    /// The 16 kHz sequence export (`silero_vad_16k_sequence.onnx`): many chunks per call,
    /// convolutions batched over them and the LSTM stepping through them inside one
    /// ONNX Runtime call. Gives the streaming export's probabilities bit for bit, about
    /// 2.5× faster, because per-call overhead and one-row convolutions were most of its cost.
    Sequence,
}

/// Chunks per call of the sequence export: about 16 s of audio, so that the input stays near
/// 1 MB and cancellation is checked every block.
const SEQUENCE_BLOCK: usize = 512;
const HIDDEN: usize = 128;

/// A loaded Silero VAD model.
pub struct SileroVad {
    session: Session,
    layout: VadLayout,
}

impl SileroVad {
    pub fn new(session: Session) -> Result<Self, AnalyzeError> {
        let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        let layout = match names.as_slice() {
            ["input", "state", "sr"] => VadLayout::Streaming,
            ["input", "h", "c"] => VadLayout::Sequence,
            _ => {
                return Err(AnalyzeError::Runtime(format!(
                    "not a Silero VAD v5/v6 model (inputs {names:?}, expected input, state, \
                     sr or input, h, c)"
                )));
            }
        };
        Ok(Self { session, layout })
    }

    pub fn open(path: &Path, session: Session) -> Result<Self, AnalyzeError> {
        Self::new(session).map_err(|e| AnalyzeError::Model {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    pub fn layout(&self) -> VadLayout {
        self.layout
    }

    /// Speech probability of each 512-sample chunk of `audio` (16 kHz mono); the last
    /// chunk is zero-padded. Advances `job` by one per chunk.
    pub fn probabilities(&mut self, audio: &[f32], job: &Job) -> Result<Vec<f32>, AnalyzeError> {
        match self.layout {
            VadLayout::Streaming => self.streaming(audio, job),
            VadLayout::Sequence => self.sequence(audio, job),
        }
    }

    fn streaming(&mut self, audio: &[f32], job: &Job) -> Result<Vec<f32>, AnalyzeError> {
        let chunks = audio.len().div_ceil(CHUNK);
        let mut probs = Vec::with_capacity(chunks);
        let mut state = Array3::<f32>::zeros((2, 1, HIDDEN));
        let mut input = Array2::<f32>::zeros((1, CONTEXT + CHUNK));
        let sr = Array0::<i64>::from_elem((), i64::from(SAMPLE_RATE));
        for (i, chunk) in audio.chunks(CHUNK).enumerate() {
            if i % 64 == 0 {
                job.check()?;
                job.advance(64.min(chunks - i) as u64);
            }
            {
                let row = contiguous(&mut input)?;
                // The context is the tail of the previous chunk's input.
                row.copy_within(CHUNK.., 0);
                row[CONTEXT..CONTEXT + chunk.len()].copy_from_slice(chunk);
                row[CONTEXT + chunk.len()..].fill(0.0);
            }
            let outputs = self.session.run(ort::inputs![
                "input" => TensorRef::from_array_view(&input)?,
                "state" => TensorRef::from_array_view(&state)?,
                "sr" => TensorRef::from_array_view(&sr)?,
            ])?;
            let (_, p) = outputs["output"].try_extract_tensor::<f32>()?;
            probs.push(p.first().copied().unwrap_or(0.0));
            let (_, next) = outputs["stateN"].try_extract_tensor::<f32>()?;
            copy_state(contiguous(&mut state)?, next)?;
        }
        Ok(probs)
    }

    fn sequence(&mut self, audio: &[f32], job: &Job) -> Result<Vec<f32>, AnalyzeError> {
        let chunks = audio.len().div_ceil(CHUNK);
        let mut probs = Vec::with_capacity(chunks);
        let mut h = Array3::<f32>::zeros((1, 1, HIDDEN));
        let mut c = Array3::<f32>::zeros((1, 1, HIDDEN));
        // Each row is one chunk after the 64 samples before it, exactly what the streaming
        // export is fed one call at a time; the first chunk's context is silence.
        let mut context = [0.0f32; CONTEXT];
        for (b, block) in audio.chunks(SEQUENCE_BLOCK * CHUNK).enumerate() {
            job.check()?;
            let rows = block.len().div_ceil(CHUNK);
            let mut input = Array2::<f32>::zeros((rows, CONTEXT + CHUNK));
            let rows_data = contiguous(&mut input)?.chunks_exact_mut(CONTEXT + CHUNK);
            for (row, chunk) in rows_data.zip(block.chunks(CHUNK)) {
                row[..CONTEXT].copy_from_slice(&context);
                row[CONTEXT..CONTEXT + chunk.len()].copy_from_slice(chunk);
                context.copy_from_slice(&row[CHUNK..]);
            }
            let outputs = self.session.run(ort::inputs![
                "input" => TensorRef::from_array_view(&input)?,
                "h" => TensorRef::from_array_view(&h)?,
                "c" => TensorRef::from_array_view(&c)?,
            ])?;
            let (_, p) = outputs["speech_probs"].try_extract_tensor::<f32>()?;
            if p.len() != rows {
                return Err(AnalyzeError::Runtime(format!(
                    "VAD gave {} probabilities for block {b} of {rows} chunks",
                    p.len()
                )));
            }
            probs.extend_from_slice(p);
            job.advance(rows as u64);
            let (_, next) = outputs["hn"].try_extract_tensor::<f32>()?;
            copy_state(contiguous(&mut h)?, next)?;
            let (_, next) = outputs["cn"].try_extract_tensor::<f32>()?;
            copy_state(contiguous(&mut c)?, next)?;
        }
        Ok(probs)
    }
}

fn contiguous<D: ndarray::Dimension>(
    a: &mut ndarray::Array<f32, D>,
) -> Result<&mut [f32], AnalyzeError> {
    a.as_slice_mut()
        .ok_or_else(|| AnalyzeError::Runtime("VAD buffer is not contiguous".into()))
}

fn copy_state(state: &mut [f32], next: &[f32]) -> Result<(), AnalyzeError> {
    if next.len() != state.len() {
        return Err(AnalyzeError::Runtime(format!(
            "VAD state has {} values, expected {}",
            next.len(),
            state.len()
        )));
    }
    state.copy_from_slice(next);
    Ok(())
}

/// Speech segments from per-chunk probabilities; `len` is the audio's length in samples.
pub fn segments(probs: &[f32], len: usize, s: &VadSettings) -> Vec<Segment> {
    let ms = |v: f32| (v * SAMPLE_RATE as f32 / 1000.0) as usize;
    let min_speech = ms(s.min_speech_ms as f32);
    let min_silence = ms(s.min_silence_ms as f32);
    let pad = ms(s.pad_ms as f32);
    let max_speech = if s.max_speech_s.is_finite() {
        ((s.max_speech_s * SAMPLE_RATE as f32) as usize).saturating_sub(CHUNK + 2 * pad)
    } else {
        usize::MAX
    };
    let neg = s.neg_threshold.unwrap_or((s.threshold - 0.15).max(0.01));

    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    // Where the current pause began, and pauses inside the segment: (start, length).
    let mut pause_start: Option<usize> = None;
    let mut pauses: Vec<(usize, usize)> = Vec::new();
    for (i, &p) in probs.iter().enumerate() {
        let at = i * CHUNK;
        if p >= s.threshold {
            if let Some(ps) = pause_start.take() {
                pauses.push((ps, at - ps));
            }
            if start.is_none() {
                start = Some(at);
                pauses.clear();
                continue;
            }
        }
        let Some(st) = start else { continue };
        if at - st > max_speech {
            // Split at the longest pause so far; without one, cut here.
            match pauses.iter().copied().max_by_key(|&(_, l)| l) {
                Some((ps, l)) => {
                    out.push(Segment { start: st, end: ps });
                    let resume = ps + l;
                    start = Some(resume.min(at));
                    pauses.retain(|&(q, _)| q > ps);
                }
                None => {
                    out.push(Segment { start: st, end: at });
                    start = if p >= s.threshold { Some(at) } else { None };
                    pauses.clear();
                }
            }
            pause_start = None;
            continue;
        }
        if p < neg {
            let ps = *pause_start.get_or_insert(at);
            if at - ps >= min_silence {
                if ps - st > min_speech {
                    out.push(Segment { start: st, end: ps });
                }
                start = None;
                pause_start = None;
                pauses.clear();
            }
        }
    }
    if let Some(st) = start {
        let end = pause_start.unwrap_or(len).min(len);
        if end.saturating_sub(st) > min_speech {
            out.push(Segment { start: st, end });
        }
    }

    // Padding, shared equally when two segments are closer than twice the pad.
    let n = out.len();
    for i in 0..n {
        if i == 0 {
            out[i].start = out[i].start.saturating_sub(pad);
        }
        if i + 1 < n {
            let gap = out[i + 1].start.saturating_sub(out[i].end);
            if gap < 2 * pad {
                out[i].end += gap / 2;
                out[i + 1].start -= gap / 2;
            } else {
                out[i].end = (out[i].end + pad).min(len);
                out[i + 1].start -= pad;
            }
        } else {
            out[i].end = (out[i].end + pad).min(len);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probs_from(pattern: &[(usize, f32)]) -> Vec<f32> {
        pattern
            .iter()
            .flat_map(|&(n, p)| std::iter::repeat_n(p, n))
            .collect()
    }

    #[test]
    fn hysteresis_min_silence_and_padding() {
        let s = VadSettings::default();
        // 1 s silence, 1 s speech with a 64 ms dip (too short to split), 1 s silence,
        // 0.5 s speech, then silence. One chunk is 32 ms.
        let probs = probs_from(&[
            (31, 0.05),
            (15, 0.9),
            (2, 0.2),
            (15, 0.8),
            (31, 0.02),
            (16, 0.95),
            (20, 0.1),
        ]);
        let len = probs.len() * CHUNK;
        let seg = segments(&probs, len, &s);
        assert_eq!(seg.len(), 2, "{seg:?}");
        let pad = 480;
        assert_eq!(seg[0].start, 31 * CHUNK - pad);
        assert_eq!(seg[0].end, 63 * CHUNK + pad);
        assert_eq!(seg[1].start, 94 * CHUNK - pad);
        assert_eq!(seg[1].end, 110 * CHUNK + pad);
    }

    #[test]
    fn short_blips_are_dropped_and_trailing_speech_is_kept() {
        let s = VadSettings::default();
        let probs = probs_from(&[(10, 0.0), (3, 0.9), (20, 0.0), (20, 0.9)]);
        let len = probs.len() * CHUNK;
        let seg = segments(&probs, len, &s);
        assert_eq!(seg.len(), 1, "{seg:?}");
        assert_eq!(seg[0].start, 33 * CHUNK - 480);
        assert_eq!(seg[0].end, len);
    }

    #[test]
    fn long_speech_splits_at_the_longest_pause() {
        let s = VadSettings {
            max_speech_s: 3.0,
            ..VadSettings::default()
        };
        // 2 s of speech, a 60 ms pause (below min silence), 2 s more.
        let probs = probs_from(&[(62, 0.9), (2, 0.1), (62, 0.9), (5, 0.0)]);
        let len = probs.len() * CHUNK;
        let seg = segments(&probs, len, &s);
        assert_eq!(seg.len(), 2, "{seg:?}");
        assert!(seg.iter().all(|g| g.len() <= 3 * SAMPLE_RATE as usize));
        assert_eq!(seg[0].end, 62 * CHUNK + 480);
        assert_eq!(seg[1].start, 64 * CHUNK - 480);
    }

    #[test]
    fn nothing_in_silence() {
        let probs = vec![0.01; 500];
        assert!(segments(&probs, 500 * CHUNK, &VadSettings::default()).is_empty());
    }
}
