//! The render job: spectrum → frames drawn in parallel batches → the export encoder on its
//! own thread, with the audio muxed as AAC.
//!
//! Frames travel in a fixed pool of YUV buffers that the encoder hands back after writing,
//! so memory is the pool plus one pixmap per render thread, whatever the audio's length.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use super::error::AudioError;
use super::render::{Canvas, Renderer, Style, VisualSettings, YuvFrame};
use super::spectrum::{Spectrum, SpectrumSettings, analyze};
use crate::job::Job;
use crate::media::{EncoderSettings, Mp4Writer, PRESETS};
use crate::output::{self, Output};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VisualizeSettings {
    pub visual: VisualSettings,
    /// Frame rate, bands and smoothing; see [`VisualizeSettings::spectrum_for_style`].
    pub spectrum: SpectrumSettings,
    pub crf: u8,
    pub preset: String,
    pub overwrite: bool,
}

impl Default for VisualizeSettings {
    fn default() -> Self {
        Self {
            visual: VisualSettings::default(),
            spectrum: SpectrumSettings::default(),
            crf: 23,
            preset: "veryfast".into(),
            overwrite: false,
        }
    }
}

impl VisualizeSettings {
    /// The spectrum settings the style needs: the spectrogram shows raw levels (smoothing
    /// would smear time), the waveform keeps its min/max envelope.
    pub fn spectrum_for_style(&self) -> SpectrumSettings {
        let mut s = self.spectrum.clone();
        match self.visual.style {
            Style::Spectrogram => {
                s.attack_ms = 0.0;
                s.release_ms = 0.0;
            }
            Style::Waveform => s.waveform_points = (self.visual.width / 2).clamp(64, 2048),
            Style::Bars | Style::Circular => {}
        }
        s
    }

    /// Checks the encoder settings and the output (which may not be the audio file itself).
    fn check_encoder(&self, out: &Path, audio: &Path) -> Result<(), AudioError> {
        if self.crf > 51 {
            return Err(AudioError::Settings(format!(
                "crf {} is out of range (0 = lossless … 51)",
                self.crf
            )));
        }
        if !PRESETS.contains(&self.preset.as_str()) {
            return Err(AudioError::Settings(format!(
                "unknown preset '{}' (one of {})",
                self.preset,
                PRESETS.join(", ")
            )));
        }
        output::check(out, &[audio], self.overwrite)?;
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VisualizeReport {
    pub path: PathBuf,
    pub style: Style,
    pub frames: u64,
    pub width: usize,
    pub height: usize,
    pub fps: f64,
    #[serde(rename = "video_s")]
    pub video_secs: f64,
    #[serde(rename = "audio_s")]
    pub audio_secs: f64,
    pub bytes: u64,
    #[serde(rename = "analysis_s")]
    pub analysis_secs: f64,
    #[serde(rename = "elapsed_s")]
    pub elapsed_secs: f64,
}

/// Decodes `audio`, analyses it and writes the video with the audio muxed in. Settings and
/// the output path are checked before any decoding; on error or cancellation the partial
/// output is removed.
pub fn visualize(
    audio: &Path,
    out: &Path,
    settings: &VisualizeSettings,
    job: &Job,
) -> Result<VisualizeReport, AudioError> {
    let started = Instant::now();
    settings.check_encoder(out, audio)?;
    let renderer = Renderer::new(&settings.visual)?;
    let spectrum = analyze(audio, &settings.spectrum_for_style(), job)?;
    let analysis_secs = started.elapsed().as_secs_f64();
    let mut report = render_video(&spectrum, &renderer, audio, out, settings, job)?;
    report.analysis_secs = analysis_secs;
    report.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

enum ToEncoder {
    Frame(Box<YuvFrame>),
    Finish,
}

/// Renders every frame of `spectrum` and encodes them with `audio` muxed in.
pub fn render_video(
    spectrum: &Spectrum,
    renderer: &Renderer,
    audio: &Path,
    out: &Path,
    settings: &VisualizeSettings,
    job: &Job,
) -> Result<VisualizeReport, AudioError> {
    let started = Instant::now();
    settings.check_encoder(out, audio)?;
    let visual = renderer.settings();
    let (width, height) = (visual.width, visual.height);
    let encoder_settings = EncoderSettings {
        width,
        height,
        fps: spectrum.fps,
        crf: settings.crf,
        preset: settings.preset.clone(),
        audio: Some(audio.to_path_buf()),
    };
    // Written beside the target and renamed on success: the old file survives any failure.
    let output = Output::begin(out, &[audio], settings.overwrite)?;
    let writer = Mp4Writer::create(&output, &encoder_settings)?;
    run(spectrum, renderer, writer, job)?;
    let bytes = output.commit()?;
    let frames = spectrum.frames as u64;
    Ok(VisualizeReport {
        path: out.to_path_buf(),
        style: visual.style,
        frames,
        width,
        height,
        fps: spectrum.fps,
        video_secs: frames as f64 / spectrum.fps,
        audio_secs: spectrum.duration_secs(),
        bytes,
        analysis_secs: 0.0,
        elapsed_secs: started.elapsed().as_secs_f64(),
    })
}

fn run(
    spectrum: &Spectrum,
    renderer: &Renderer,
    writer: Mp4Writer,
    job: &Job,
) -> Result<(), AudioError> {
    let frames = spectrum.frames;
    job.set_total(frames as u64);
    job.set_message("rendering");
    // Two batches in flight: one being encoded while the next is drawn.
    let batch = 2 * rayon::current_num_threads();
    let (to_encoder, from_producer) = sync_channel::<ToEncoder>(2 * batch);
    let (free, recycled) = channel::<Box<YuvFrame>>();
    for _ in 0..2 * batch {
        let _ = free.send(Box::new(renderer.new_yuv_frame()));
    }
    let encoder_job = job.clone();
    let encoder = std::thread::Builder::new()
        .name("visualize-encoder".into())
        .spawn(move || encode_loop(writer, from_producer, free, &encoder_job))
        .map_err(|e| AudioError::Settings(format!("cannot start the encoder thread: {e}")))?;
    let produced = produce(spectrum, renderer, batch, &recycled, &to_encoder, job);
    if produced.is_ok() {
        let _ = to_encoder.send(ToEncoder::Finish);
    }
    drop(to_encoder);
    let encoded = encoder
        .join()
        .unwrap_or_else(|_| Err(AudioError::Settings("the encoder thread panicked".into())));
    if job.is_cancelled() {
        return Err(AudioError::Cancelled);
    }
    // When one side fails the other sees a closed channel; report the first failure.
    match (produced, encoded) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(first), Err(AudioError::Cancelled) | Ok(())) => Err(first),
        (_, Err(first)) => Err(first),
    }
}

fn produce(
    spectrum: &Spectrum,
    renderer: &Renderer,
    batch: usize,
    recycled: &Receiver<Box<YuvFrame>>,
    to_encoder: &SyncSender<ToEncoder>,
    job: &Job,
) -> Result<(), AudioError> {
    // One canvas per render thread at most, reused across batches.
    let canvases: Mutex<Vec<Canvas>> = Mutex::new(Vec::new());
    let take = || {
        canvases
            .lock()
            .ok()
            .and_then(|mut c| c.pop())
            .unwrap_or_else(|| renderer.new_canvas())
    };
    let give = |c: Canvas| {
        if let Ok(mut v) = canvases.lock() {
            v.push(c);
        }
    };
    for start in (0..spectrum.frames).step_by(batch) {
        job.check().map_err(|_| AudioError::Cancelled)?;
        let n = batch.min(spectrum.frames - start);
        let mut buffers = (0..n)
            .map(|_| recycled.recv().map_err(|_| AudioError::Cancelled))
            .collect::<Result<Vec<_>, _>>()?;
        buffers.par_iter_mut().enumerate().for_each(|(i, out)| {
            let mut canvas = take();
            renderer.draw(spectrum, start + i, &mut canvas, out);
            give(canvas);
        });
        for yuv in buffers {
            to_encoder
                .send(ToEncoder::Frame(yuv))
                .map_err(|_| AudioError::Cancelled)?;
        }
    }
    Ok(())
}

fn encode_loop(
    mut writer: Mp4Writer,
    frames: Receiver<ToEncoder>,
    free: Sender<Box<YuvFrame>>,
    job: &Job,
) -> Result<(), AudioError> {
    loop {
        match frames.recv().map_err(|_| AudioError::Cancelled)? {
            ToEncoder::Frame(frame) => {
                job.check().map_err(|_| AudioError::Cancelled)?;
                writer.write(&frame.yuv)?;
                job.advance(1);
                let _ = free.send(frame);
            }
            ToEncoder::Finish => {
                job.set_message("finishing");
                writer.finish()?;
                return Ok(());
            }
        }
    }
}
