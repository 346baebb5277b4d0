//! One short-time Fourier transform over the whole signal, one Hann window per video frame,
//! folded into log-spaced bands in dB, then scaled to 0–1 and smoothed (fast attack, slow
//! release). The result is small (bands × frames) and computed before any frame is drawn, so
//! drawing frame i needs nothing from frame i − 1 and frames render in parallel.
//!
//! Samples stream through a window-sized buffer as they are decoded; the signal itself is
//! never held whole.

use std::path::Path;
use std::sync::Arc;

use realfft::RealFftPlanner;
use realfft::num_complex::Complex32;
use serde::Serialize;

use super::error::AudioError;
use crate::job::Job;
use crate::media::{AudioDecoder, AudioInfo};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpectrumSettings {
    /// Video frames per second: one spectrum per frame.
    pub fps: f64,
    pub bands: usize,
    pub min_hz: f64,
    /// Clamped to the Nyquist frequency of the decoded audio.
    pub max_hz: f64,
    /// How many dB below the loudest band of the whole file a bar reaches zero.
    pub range_db: f32,
    /// Time constant of a rising band (0: instant).
    pub attack_ms: f32,
    /// Time constant of a falling band (0: instant).
    pub release_ms: f32,
    /// Min/max pairs kept per frame for the waveform, over the frame's own 1/fps seconds
    /// of audio (0: none).
    pub waveform_points: usize,
}

impl Default for SpectrumSettings {
    fn default() -> Self {
        Self {
            fps: 24.0,
            bands: 64,
            min_hz: 40.0,
            max_hz: 16_000.0,
            range_db: 60.0,
            attack_ms: 15.0,
            release_ms: 250.0,
            waveform_points: 0,
        }
    }
}

impl SpectrumSettings {
    fn check(&self) -> Result<(), AudioError> {
        let bad = |s: String| Err(AudioError::Settings(s));
        if !(self.fps.is_finite() && self.fps > 0.0 && self.fps <= 240.0) {
            return bad(format!("fps {} must be in (0, 240]", self.fps));
        }
        if !(1..=4096).contains(&self.bands) {
            return bad(format!("{} bands: give 1 to 4096", self.bands));
        }
        if !(self.min_hz > 0.0 && self.max_hz > self.min_hz && self.max_hz.is_finite()) {
            return bad(format!(
                "frequency range {}–{} Hz: need 0 < min < max",
                self.min_hz, self.max_hz
            ));
        }
        if !(self.range_db > 0.0 && self.range_db.is_finite()) {
            return bad(format!("dB range {} must be positive", self.range_db));
        }
        if !(self.attack_ms >= 0.0 && self.release_ms >= 0.0) {
            return bad("attack and release must not be negative".into());
        }
        if self.waveform_points > 8192 {
            return bad(format!(
                "{} waveform points: at most 8192",
                self.waveform_points
            ));
        }
        Ok(())
    }
}

/// Band values per video frame, plus the waveform summary when asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    pub fps: f64,
    /// The analysis sample rate.
    pub rate: u32,
    pub bands: usize,
    pub frames: usize,
    /// `bands + 1` edges in Hz, low to high.
    pub edges_hz: Vec<f64>,
    /// `frames × bands`, each in 0..=1.
    values: Vec<f32>,
    waveform_points: usize,
    /// `frames × points` (min, max) pairs, scaled so the loudest sample of the file is ±1.
    waveform: Vec<[i16; 2]>,
    pub samples: u64,
    /// Largest absolute sample of the file.
    pub peak: f32,
    /// The loudest band level of the file, in dB relative to a full-scale sine.
    pub loudest_db: f32,
    pub fft_size: usize,
}

impl Spectrum {
    /// Audio duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.samples as f64 / f64::from(self.rate)
    }

    /// The bands of video frame `frame` (0..=1), clamped to the last frame.
    pub fn frame(&self, frame: usize) -> &[f32] {
        let f = frame.min(self.frames.saturating_sub(1));
        &self.values[f * self.bands..(f + 1) * self.bands]
    }

    /// The band that contains `hz`, if any.
    pub fn band_of(&self, hz: f64) -> Option<usize> {
        band_of(&self.edges_hz, hz)
    }

    pub fn waveform_points(&self) -> usize {
        self.waveform_points
    }

    /// The waveform of frame `frame` as (min, max) pairs in −1..=1; empty when not kept.
    pub fn waveform(&self, frame: usize) -> impl ExactSizeIterator<Item = (f32, f32)> + '_ {
        let p = self.waveform_points;
        let f = frame.min(self.frames.saturating_sub(1));
        let slice = if p == 0 {
            &self.waveform[..0]
        } else {
            &self.waveform[f * p..(f + 1) * p]
        };
        slice.iter().map(|&[lo, hi]| {
            (
                f32::from(lo) / f32::from(i16::MAX),
                f32::from(hi) / f32::from(i16::MAX),
            )
        })
    }

    /// The video frame shown at `seconds`.
    pub fn frame_at(&self, seconds: f64) -> usize {
        ((seconds.max(0.0) * self.fps).floor() as usize).min(self.frames.saturating_sub(1))
    }
}

/// `bands + 1` log-spaced edges from `min_hz` to `max_hz`.
pub fn band_edges(bands: usize, min_hz: f64, max_hz: f64) -> Vec<f64> {
    let ratio = (max_hz / min_hz).ln();
    (0..=bands)
        .map(|i| min_hz * (ratio * i as f64 / bands as f64).exp())
        .collect()
}

pub fn band_of(edges: &[f64], hz: f64) -> Option<usize> {
    edges.windows(2).position(|w| hz >= w[0] && hz < w[1])
}

/// The FFT length for a frame rate: at least two frames of audio and 1/20 s, so that low
/// bands are resolved at high frame rates too.
fn fft_size(rate: u32, fps: f64) -> usize {
    let want = (2.0 * f64::from(rate) / fps).max(f64::from(rate) / 20.0) as usize;
    want.next_power_of_two().clamp(256, 16_384)
}

/// Decodes `path` and computes its spectrum.
pub fn analyze(
    path: &Path,
    settings: &SpectrumSettings,
    job: &Job,
) -> Result<Spectrum, AudioError> {
    settings.check()?;
    let decoder = AudioDecoder::open(path)?;
    let info = decoder.info();
    let mut stft = Stft::new(info, settings);
    job.set_message("analysing audio");
    // Progress in milliseconds of audio, when the container says how long it is.
    job.set_total(info.duration_secs.map(|d| (d * 1000.0) as u64).unwrap_or(0));
    let rate = f64::from(info.rate);
    let mut reported = 0u64;
    decoder.run(job, |samples| {
        stft.push(samples);
        let ms = (stft.received as f64 / rate * 1000.0) as u64;
        job.advance(ms - reported);
        reported = ms;
    })?;
    job.check().map_err(|_| AudioError::Cancelled)?;
    Ok(stft.finish(settings))
}

struct Stft {
    rate: u32,
    fps: f64,
    n: usize,
    fft: Arc<dyn realfft::RealToComplex<f32>>,
    window: Vec<f32>,
    input: Vec<f32>,
    output: Vec<Complex32>,
    scratch: Vec<Complex32>,
    edges: Vec<f64>,
    /// Per band: the first and last FFT bin inside it, or the fractional bin of its centre
    /// when it is narrower than one bin.
    band_bins: Vec<BandBins>,
    /// Samples from absolute index `start` on.
    buffer: Vec<f32>,
    start: u64,
    received: u64,
    next_frame: usize,
    db: Vec<f32>,
    points: usize,
    waveform: Vec<[f32; 2]>,
    peak: f32,
}

#[derive(Debug, Clone, Copy)]
enum BandBins {
    Range(usize, usize),
    Between(f32),
}

impl Stft {
    fn new(info: AudioInfo, settings: &SpectrumSettings) -> Self {
        let rate = info.rate;
        let n = fft_size(rate, settings.fps);
        let nyquist = f64::from(rate) / 2.0;
        let max_hz = settings.max_hz.min(nyquist * 0.999);
        let min_hz = settings.min_hz.min(max_hz / 2.0);
        let edges = band_edges(settings.bands, min_hz, max_hz);
        let bin_hz = f64::from(rate) / n as f64;
        let band_bins = edges
            .windows(2)
            .map(|w| {
                let first = (w[0] / bin_hz).ceil() as usize;
                let last = ((w[1] / bin_hz).ceil() as usize).saturating_sub(1);
                if first <= last {
                    BandBins::Range(first, last.min(n / 2))
                } else {
                    BandBins::Between((((w[0] * w[1]).sqrt()) / bin_hz) as f32)
                }
            })
            .collect();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
        let window = (0..n)
            .map(|i| {
                let x = std::f32::consts::PI * 2.0 * i as f32 / n as f32;
                0.5 - 0.5 * x.cos()
            })
            .collect();
        Self {
            rate,
            fps: settings.fps,
            n,
            input: fft.make_input_vec(),
            output: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            window,
            edges,
            band_bins,
            buffer: Vec::with_capacity(2 * n),
            start: 0,
            received: 0,
            next_frame: 0,
            db: Vec::new(),
            points: settings.waveform_points,
            waveform: Vec::new(),
            peak: 0.0,
        }
    }

    /// First sample of frame `k`'s window (may be negative: zeros before the start).
    fn window_start(&self, k: usize) -> i64 {
        let centre = ((k as f64 + 0.5) * f64::from(self.rate) / self.fps).round() as i64;
        centre - (self.n / 2) as i64
    }

    fn push(&mut self, samples: &[f32]) {
        for &s in samples {
            self.peak = self.peak.max(s.abs());
        }
        self.buffer.extend_from_slice(samples);
        self.received += samples.len() as u64;
        let end = self.received as i64;
        while self.window_start(self.next_frame) + self.n as i64 <= end {
            self.frame(self.next_frame);
            self.next_frame += 1;
            let keep_from = self.window_start(self.next_frame).max(0) as u64;
            if keep_from > self.start {
                let drop = ((keep_from - self.start) as usize).min(self.buffer.len());
                self.buffer.drain(..drop);
                self.start += drop as u64;
            }
        }
    }

    /// Copies frame `k`'s samples (zeros outside the signal) into `input`, windowed.
    fn frame(&mut self, k: usize) {
        let first = self.window_start(k);
        let mut raw = std::mem::take(&mut self.input);
        for (i, slot) in raw.iter_mut().enumerate() {
            let at = first + i as i64 - self.start as i64;
            *slot = if at >= 0 {
                self.buffer.get(at as usize).copied().unwrap_or(0.0)
            } else {
                0.0
            };
        }
        if self.points > 0 {
            // The waveform shows the frame's own stretch of audio, so that consecutive frames
            // show consecutive audio; it lies inside the (longer) FFT window.
            let hop = f64::from(self.rate) / self.fps;
            let at = |k: usize| ((k as f64 * hop).round() as i64 - first).clamp(0, self.n as i64);
            let (a, b) = (at(k) as usize, at(k + 1) as usize);
            let len = b.saturating_sub(a).max(1);
            for p in 0..self.points {
                let from = (a + p * len / self.points).min(self.n - 1);
                let to = (a + (p + 1) * len / self.points).clamp(from + 1, self.n);
                let chunk = &raw[from..to];
                let lo = chunk.iter().copied().fold(f32::INFINITY, f32::min);
                let hi = chunk.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                self.waveform.push([lo, hi]);
            }
        }
        for (x, w) in raw.iter_mut().zip(&self.window) {
            *x *= w;
        }
        // The FFT only fails on wrongly sized buffers, which `make_*_vec` rule out.
        let _ = self
            .fft
            .process_with_scratch(&mut raw, &mut self.output, &mut self.scratch);
        self.input = raw;
        // A full-scale sine peaks at n/4 through a Hann window.
        let scale = 4.0 / self.n as f32;
        let magnitude = |bin: usize| self.output.get(bin).map_or(0.0, |c| c.norm() * scale);
        for band in &self.band_bins {
            let m = match *band {
                BandBins::Range(a, b) => (a..=b).map(magnitude).fold(0.0f32, f32::max),
                BandBins::Between(at) => {
                    let i = at.floor() as usize;
                    let t = at - i as f32;
                    magnitude(i) * (1.0 - t) + magnitude(i + 1) * t
                }
            };
            self.db.push(20.0 * m.max(1e-10).log10());
        }
    }

    fn finish(mut self, settings: &SpectrumSettings) -> Spectrum {
        let frames = ((self.received as f64 * self.fps / f64::from(self.rate)) - 1e-9)
            .ceil()
            .max(1.0) as usize;
        while self.next_frame < frames {
            self.frame(self.next_frame);
            self.next_frame += 1;
        }
        let bands = settings.bands;
        self.db.truncate(frames * bands);
        self.waveform.truncate(frames * self.points);
        let loudest = self.db.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let floor = loudest - settings.range_db;
        let mut values: Vec<f32> = self
            .db
            .iter()
            .map(|&d| ((d - floor) / settings.range_db).clamp(0.0, 1.0))
            .collect();
        smooth(&mut values, bands, self.fps, settings);
        let gain = if self.peak > 0.0 {
            1.0 / self.peak
        } else {
            1.0
        };
        let waveform = self
            .waveform
            .iter()
            .map(|&[lo, hi]| {
                let q = |v: f32| ((v * gain).clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16;
                [q(lo), q(hi)]
            })
            .collect();
        Spectrum {
            fps: self.fps,
            rate: self.rate,
            bands,
            frames,
            edges_hz: self.edges,
            values,
            waveform_points: self.points,
            waveform,
            samples: self.received,
            peak: self.peak,
            loudest_db: loudest,
            fft_size: self.n,
        }
    }
}

/// One-pole attack/release per band, frame to frame.
fn smooth(values: &mut [f32], bands: usize, fps: f64, settings: &SpectrumSettings) {
    let coefficient = |ms: f32| {
        if ms <= 0.0 {
            1.0
        } else {
            1.0 - (-(1000.0 / fps as f32) / ms).exp()
        }
    };
    let (up, down) = (
        coefficient(settings.attack_ms),
        coefficient(settings.release_ms),
    );
    if up >= 1.0 && down >= 1.0 {
        return;
    }
    let mut state = vec![0.0f32; bands];
    for frame in values.chunks_exact_mut(bands) {
        for (v, s) in frame.iter_mut().zip(state.iter_mut()) {
            let k = if *v > *s { up } else { down };
            *s += (*v - *s) * k;
            *v = *s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spectrum_of(samples: &[f32], rate: u32, settings: &SpectrumSettings) -> Spectrum {
        let info = AudioInfo {
            rate,
            duration_secs: None,
            channels: 1,
        };
        let mut stft = Stft::new(info, settings);
        for chunk in samples.chunks(1000) {
            stft.push(chunk);
        }
        stft.finish(settings)
    }

    fn tone(hz: f64, secs: f64, rate: u32) -> Vec<f32> {
        (0..(secs * f64::from(rate)) as usize)
            .map(|i| {
                (0.5 * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin()) as f32
            })
            .collect()
    }

    #[test]
    fn edges_are_log_spaced() {
        let e = band_edges(4, 100.0, 1600.0);
        for (a, b) in e.iter().zip([100.0, 200.0, 400.0, 800.0, 1600.0]) {
            assert!((a - b).abs() < 1e-9);
        }
        assert_eq!(band_of(&e, 450.0), Some(2));
        assert_eq!(band_of(&e, 50.0), None);
    }

    #[test]
    fn a_tone_lights_its_band_and_frames_cover_the_duration() {
        let s = SpectrumSettings::default();
        let sp = spectrum_of(&tone(1000.0, 2.5, 44_100), 44_100, &s);
        assert_eq!(sp.frames, 60);
        let band = sp.band_of(1000.0).unwrap();
        for f in 5..55 {
            let v = sp.frame(f);
            let loudest = (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
            assert_eq!(loudest, band, "frame {f}");
            assert!(v[band] > 0.95);
        }
    }

    #[test]
    fn release_falls_slowly_and_attack_rises_fast() {
        let s = SpectrumSettings {
            release_ms: 500.0,
            attack_ms: 0.0,
            ..Default::default()
        };
        let mut signal = tone(1000.0, 1.0, 48_000);
        signal.extend(std::iter::repeat_n(0.0, 48_000));
        let sp = spectrum_of(&signal, 48_000, &s);
        let band = sp.band_of(1000.0).unwrap();
        assert!(sp.frame(3)[band] > 0.99);
        // 0.25 s after the tone stops, a 500 ms release has not reached the floor.
        let later = sp.frame(24 + 6)[band];
        assert!(later > 0.4 && later < 0.99, "{later}");
    }

    #[test]
    fn waveform_keeps_min_and_max() {
        let s = SpectrumSettings {
            waveform_points: 64,
            ..Default::default()
        };
        let sp = spectrum_of(&tone(200.0, 1.0, 48_000), 48_000, &s);
        let (lo, hi) = sp
            .waveform(10)
            .fold((1.0f32, -1.0f32), |(l, h), (a, b)| (l.min(a), h.max(b)));
        assert!(lo < -0.98 && hi > 0.98, "{lo} {hi}");
        assert_eq!(sp.waveform(10).len(), 64);
    }

    #[test]
    fn bad_settings_are_refused() {
        for s in [
            SpectrumSettings {
                bands: 0,
                ..Default::default()
            },
            SpectrumSettings {
                min_hz: 500.0,
                max_hz: 100.0,
                ..Default::default()
            },
            SpectrumSettings {
                fps: 0.0,
                ..Default::default()
            },
        ] {
            assert!(matches!(s.check(), Err(AudioError::Settings(_))));
        }
    }
}
