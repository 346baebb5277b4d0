//! The export job: source frames → YUV 4:2:0 (once each) → encoder thread, which blends
//! straight into the encoder's picture buffer → MP4.
//!
//! The calling thread reads and converts source frames; a named encoder thread owns the
//! blender and the MP4 writer. Messages carry `Arc`s of converted source frames and blend
//! weights, never pixels, and the channel is bounded: at most a few source frames are alive,
//! whatever the number of frames exported.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Instant;

use serde::Serialize;

use super::error::ExportError;
use crate::interp::choice::cpu_fallback;
use crate::interp::{
    BlendDevice, BlendError, BlendSchedule, Blender, Converter, Yuv420, choose, even_size,
};
use crate::job::Job;
use crate::media::{EncoderSettings, Mp4Writer, PRESETS};
use crate::output::Output;
use crate::source::FrameSource;

/// Messages queued between the producer and the encoder (each holds up to two source frames).
const QUEUE: usize = 2;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportSettings {
    /// In-between frames per pair (0–200).
    pub steps: usize,
    /// How far each blend goes towards the next frame (0–1).
    pub intensity: f64,
    /// Output frame rate; `None`: the source's, else 30.
    pub fps: Option<f64>,
    pub crf: u8,
    pub preset: String,
    pub audio: Option<PathBuf>,
    /// Replace an existing output file.
    pub overwrite: bool,
    /// Where blending runs.
    pub blend_device: BlendDevice,
}

impl Default for ExportSettings {
    fn default() -> Self {
        Self {
            steps: 0,
            intensity: 1.0,
            fps: None,
            crf: 23,
            preset: "veryfast".into(),
            audio: None,
            overwrite: false,
            blend_device: BlendDevice::Auto,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportReport {
    pub path: PathBuf,
    pub frames: u64,
    pub width: usize,
    pub height: usize,
    pub fps: f64,
    #[serde(rename = "duration_s")]
    pub duration_secs: f64,
    pub bytes: u64,
    #[serde(rename = "elapsed_s")]
    pub elapsed_secs: f64,
    /// Which blender ran.
    pub blender: String,
    /// Why that device was chosen.
    pub blender_reason: String,
    /// Fallbacks that happened during the export.
    pub notes: Vec<String>,
    /// True when an odd width or height lost its last column or row.
    pub cropped_to_even: bool,
    pub audio: Option<PathBuf>,
}

/// Work for the encoder thread. The channel closing without `Finish` means "abort".
enum ToEncoder {
    /// A source frame, encoded as it is.
    Source(Arc<Yuv420>),
    /// Blends of `a` and `b`, one frame per weight (out of 256). One message per pair keeps
    /// thread hand-offs to one per source frame.
    Blends {
        a: Arc<Yuv420>,
        b: Arc<Yuv420>,
        weights: Vec<u16>,
    },
    Finish,
}

/// Exports `source` to an MP4 at `path`, blending `settings.steps` frames between each pair.
/// On error or cancellation nothing is left behind and an existing file is untouched.
pub fn export(
    source: &mut dyn FrameSource,
    path: &Path,
    settings: &ExportSettings,
    job: &Job,
) -> Result<ExportReport, ExportError> {
    let started = Instant::now();
    let schedule = BlendSchedule::new(source.len(), settings.steps, settings.intensity)?;
    let fps = settings.fps.or(source.fps()).unwrap_or(30.0);
    if !(fps.is_finite() && fps > 0.0) {
        return Err(ExportError::Fps(fps));
    }
    if settings.crf > 51 {
        return Err(ExportError::Crf(settings.crf));
    }
    if !PRESETS.contains(&settings.preset.as_str()) {
        return Err(ExportError::Encode {
            path: path.to_path_buf(),
            reason: format!(
                "unknown preset '{}' (one of {})",
                settings.preset,
                PRESETS.join(", ")
            ),
        });
    }
    let geometry = source.geometry();
    let (width, height) =
        even_size(geometry.width, geometry.height).ok_or(ExportError::TooSmall {
            width: geometry.width,
            height: geometry.height,
        })?;
    let mut inputs: Vec<&Path> = source.source_path().into_iter().collect();
    inputs.extend(settings.audio.as_deref());
    // Written beside the target and renamed on success: the old file survives any failure.
    let output = Output::begin(path, &inputs, settings.overwrite)?;
    let encoder_settings = EncoderSettings {
        width,
        height,
        fps,
        crf: settings.crf,
        preset: settings.preset.clone(),
        audio: settings.audio.clone(),
    };
    let choice = choose(settings.blend_device);
    let reason = choice.reason.clone();
    let writer = Mp4Writer::create(&output, &encoder_settings)?;
    let (blender, notes) = run(source, writer, choice, &schedule, (width, height), job)?;
    let bytes = output.commit()?;
    let frames = schedule.len() as u64;
    Ok(ExportReport {
        path: path.to_path_buf(),
        frames,
        width,
        height,
        fps,
        duration_secs: frames as f64 / fps,
        bytes,
        elapsed_secs: started.elapsed().as_secs_f64(),
        blender,
        blender_reason: reason,
        notes,
        cropped_to_even: (width, height) != (geometry.width, geometry.height),
        audio: settings.audio.clone(),
    })
}

/// Drives the producer side and joins the encoder thread; returns the name of the blender
/// that finished the job and notes about fallbacks.
fn run(
    source: &mut dyn FrameSource,
    writer: Mp4Writer,
    choice: crate::interp::Choice,
    schedule: &BlendSchedule,
    size: (usize, usize),
    job: &Job,
) -> Result<(String, Vec<String>), ExportError> {
    let crate::interp::Choice {
        blender,
        mut converter,
        ..
    } = choice;
    job.set_total(schedule.len() as u64);
    job.set_message("encoding");
    let (to_encoder, from_producer) = sync_channel::<ToEncoder>(QUEUE);
    let encoder_job = job.clone();
    let encoder = std::thread::Builder::new()
        .name("export-encoder".into())
        .spawn(move || encode_loop(writer, blender, from_producer, &encoder_job))
        .map_err(|e| ExportError::Encode {
            path: PathBuf::new(),
            reason: format!("cannot start the encoder thread: {e}"),
        })?;
    let mut notes = Vec::new();
    let produced = produce(
        source,
        schedule,
        size,
        job,
        &to_encoder,
        &mut converter,
        &mut notes,
    );
    if produced.is_ok() {
        // The encoder may have died already; its own error is the one to report.
        let _ = to_encoder.send(ToEncoder::Finish);
    }
    drop(to_encoder);
    let encoded = encoder.join().unwrap_or_else(|_| {
        Err(ExportError::Encode {
            path: PathBuf::new(),
            reason: "the encoder thread panicked".into(),
        })
    });
    if job.is_cancelled() {
        return Err(ExportError::Cancelled);
    }
    // When one side fails the other sees a closed channel and reports `Cancelled`; the
    // failure that came first is the one to show.
    match (produced, encoded) {
        (Ok(()), Ok((name, encoder_notes))) => {
            notes.extend(encoder_notes);
            Ok((name, notes))
        }
        (Err(first), Err(ExportError::Cancelled)) | (Err(first), Ok(_)) => Err(first),
        (_, Err(first)) => Err(first),
    }
}

fn produce(
    source: &mut dyn FrameSource,
    schedule: &BlendSchedule,
    (width, height): (usize, usize),
    job: &Job,
    to_encoder: &SyncSender<ToEncoder>,
    converter: &mut Converter,
    notes: &mut Vec<String>,
) -> Result<(), ExportError> {
    let send = |message: ToEncoder| -> Result<(), ExportError> {
        to_encoder.send(message).map_err(|_| ExportError::Cancelled)
    };
    let mut convert = |index: usize| -> Result<Arc<Yuv420>, ExportError> {
        let mut yuv = None;
        let mut note = None;
        source.with_frame(index, &mut |frame| {
            yuv = Some(converter.convert(frame, width, height, &mut note));
        })?;
        notes.extend(note);
        Ok(Arc::new(yuv.unwrap_or_else(|| Yuv420::new(width, height))))
    };
    let mut current = convert(0)?;
    for a in 0..schedule.sources {
        job.check().map_err(|_| ExportError::Cancelled)?;
        send(ToEncoder::Source(current.clone()))?;
        if a + 1 == schedule.sources {
            break;
        }
        let next = convert(a + 1)?;
        if schedule.steps > 0 {
            send(ToEncoder::Blends {
                a: current.clone(),
                b: next.clone(),
                weights: (1..=schedule.steps).map(|j| schedule.weight(j)).collect(),
            })?;
        }
        current = next;
    }
    Ok(())
}

/// A GPU that fails mid-export (device lost, out of memory) hands over to the CPU blender.
fn with_fallback<T>(
    blender: &mut Box<dyn Blender>,
    pair: &Option<(Arc<Yuv420>, Arc<Yuv420>)>,
    notes: &mut Vec<String>,
    mut action: impl FnMut(&mut dyn Blender) -> Result<T, ExportError>,
) -> Result<T, ExportError> {
    match action(blender.as_mut()) {
        Err(ExportError::Blend(BlendError::Device(reason))) => {
            notes.push(format!(
                "{} failed ({reason}); the CPU blender took over",
                blender.name()
            ));
            *blender = cpu_fallback(pair.clone())?;
            action(blender.as_mut())
        }
        other => other,
    }
}

fn encode_loop(
    mut writer: Mp4Writer,
    mut blender: Box<dyn Blender>,
    messages: Receiver<ToEncoder>,
    job: &Job,
) -> Result<(String, Vec<String>), ExportError> {
    let mut notes = Vec::new();
    loop {
        match messages.recv().map_err(|_| ExportError::Cancelled)? {
            ToEncoder::Source(frame) => {
                job.check().map_err(|_| ExportError::Cancelled)?;
                writer.write(&frame)?;
                job.advance(1);
            }
            ToEncoder::Blends { a, b, weights } => {
                let pair = Some((a.clone(), b.clone()));
                with_fallback(&mut blender, &pair, &mut notes, |bl| {
                    bl.set_pair(a.clone(), b.clone())?;
                    bl.prefetch(&weights);
                    Ok(())
                })?;
                for weight in weights {
                    job.check().map_err(|_| ExportError::Cancelled)?;
                    // On a device error the frame is blended again by the CPU, so nothing is
                    // written twice: the writer only sends after the fill succeeded.
                    let mut failed = None;
                    writer.write_with(|planes| -> Result<(), ExportError> {
                        match blender.blend_into(weight, planes) {
                            Err(BlendError::Device(reason)) => {
                                let mut cpu = cpu_fallback(pair.clone())?;
                                cpu.blend_into(weight, planes)?;
                                failed = Some((reason, cpu));
                                Ok(())
                            }
                            other => Ok(other?),
                        }
                    })?;
                    if let Some((reason, cpu)) = failed {
                        notes.push(format!(
                            "{} failed ({reason}); the CPU blender took over",
                            blender.name()
                        ));
                        blender = cpu;
                    }
                    job.advance(1);
                }
            }
            ToEncoder::Finish => {
                writer.finish()?;
                return Ok((blender.name(), notes));
            }
        }
    }
}
