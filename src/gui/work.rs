//! Starting the window's background work: ops, exports, analyses, and the curves and
//! kymograph the document needs; and moving playback on.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use eframe::egui;

use super::app::App;
use super::document::Layer;
use super::forms::{AudioForm, ExportForm, NormalizeForm};
use super::jobs::{Done, JobError, JobKind};
use super::panels::analyzers::AnalyzeForm;
use super::panels::export::export_source;
use crate::display::DisplayMapping;
use crate::export::export;
use crate::load::{FrameRange, Rect, reference_image};
use crate::ops::{
    ReduceOp, Shape, crop, curves_shown, envelope, kymograph_shown, mask_from_shape, reduce_shown,
};
use crate::source::RangeSource;
use crate::stack::FrameStack;

impl App {
    pub(super) fn start_reduce(
        &mut self,
        ctx: &egui::Context,
        op: ReduceOp,
        start: &str,
        end: &str,
    ) {
        let Some(doc) = &self.doc else { return };
        let range = match FrameRange::from_fields(start, end).and_then(|r| r.within(doc.len())) {
            Ok(r) => r,
            Err(e) => return self.error(e),
        };
        let (stack, normalizer, mask) =
            (doc.stack.clone(), doc.normalizer.clone(), doc.mask.clone());
        let name = format!("{} of frames {}..{}", op.name(), range.start, range.end);
        let label = format!("reduce ({name})");
        self.jobs.start(
            ctx,
            JobKind::Ops,
            Some(self.doc_id),
            "",
            label,
            move |job| {
                let image = reduce_shown(
                    stack.view(),
                    normalizer.as_ref(),
                    mask.as_ref(),
                    op,
                    Some(range),
                    job,
                )?;
                let mapping = layer_mapping(op, &image);
                Ok(Done::Layer(Layer {
                    name,
                    image,
                    mapping,
                }))
            },
        );
    }

    pub(super) fn start_normalize(&mut self, ctx: &egui::Context, form: NormalizeForm) {
        let Some(doc) = &self.doc else { return };
        let (stack, frames, channels) = (doc.stack.clone(), doc.len(), doc.stack.channels());
        self.jobs.start(
            ctx,
            JobKind::Ops,
            Some(self.doc_id),
            "",
            "normalizing",
            move |job| {
                let image = if form.reference == 2 {
                    let path = PathBuf::from(form.file.trim());
                    Some(reference_image(&path, channels, job)?)
                } else {
                    None
                };
                let settings = form.settings(frames, image).map_err(JobError::Settings)?;
                Ok(Done::Normalizer(crate::ops::Normalizer::new(
                    stack.view(),
                    settings,
                    job,
                )?))
            },
        );
    }

    pub(super) fn start_crop(&mut self, ctx: &egui::Context) {
        let Some((shape, (w, h))) = self.selected_shape() else {
            return;
        };
        let Some(rect) = bounding_rect(&shape, w, h) else {
            return self.error("the ROI lies outside the image");
        };
        let Some(doc) = &self.doc else { return };
        let (stack, meta) = (doc.stack.clone(), doc.stack.meta().clone());
        self.jobs.start(
            ctx,
            JobKind::Ops,
            Some(self.doc_id),
            "",
            "cropping",
            move |_| {
                let view = crop(stack.view(), None, Some(rect))?;
                Ok(Done::Stack(FrameStack::from_array(view.to_owned(), meta)))
            },
        );
    }

    pub(super) fn start_export(&mut self, ctx: &egui::Context, form: &ExportForm) {
        let Some(doc) = &self.doc else { return };
        let checked = form
            .settings()
            .and_then(|s| Ok((s, form.range(doc.len())?)))
            .and_then(|(s, r)| match form.output.trim() {
                "" => Err("choose an output file".to_string()),
                out => Ok((s, r, PathBuf::from(out))),
            });
        let (settings, range, path) = match checked {
            Ok(c) => c,
            Err(e) => {
                self.panels.set_outcome(JobKind::Export, Err(e));
                return;
            }
        };
        let source = export_source(doc, form.as_displayed);
        self.panels.export.outcome = None;
        self.jobs
            .start(ctx, JobKind::Export, None, "", "exporting", move |job| {
                let mut source = RangeSource::new(source, range);
                Ok(Done::Exported(export(&mut source, &path, &settings, job)?))
            });
    }

    pub(super) fn start_audio_export(&mut self, ctx: &egui::Context, form: &AudioForm) {
        let checked = form
            .settings()
            .and_then(|s| match (form.audio.trim(), form.output.trim()) {
                ("", _) => Err("choose an audio file".to_string()),
                (_, "") => Err("choose an output file".to_string()),
                (a, o) => Ok((s, PathBuf::from(a), PathBuf::from(o))),
            });
        let (settings, audio, output) = match checked {
            Ok(c) => c,
            Err(e) => {
                self.panels.set_outcome(JobKind::AudioExport, Err(e));
                return;
            }
        };
        self.panels.audio.outcome = None;
        self.jobs.start(
            ctx,
            JobKind::AudioExport,
            None,
            "",
            "audio to video",
            move |job| {
                Ok(Done::AudioExported(crate::audio::visualize(
                    &audio, &output, &settings, job,
                )?))
            },
        );
    }

    pub(super) fn start_analysis(&mut self, ctx: &egui::Context, form: &AnalyzeForm) {
        let stack = self.doc.as_ref().map(|d| Arc::clone(&d.stack));
        let (source, belongs_to) = match form.source(stack.as_ref()) {
            Ok((source, same)) => (source, same.then_some(self.doc_id)),
            Err(e) => {
                self.panels.set_outcome(JobKind::Analyze, Err(e));
                return;
            }
        };
        let names = form.names();
        let options = form.options();
        let label = format!(
            "analysing with {}",
            names
                .iter()
                .map(|n| n.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.panels.analyzers.outcome = None;
        self.jobs
            .start(ctx, JobKind::Analyze, belongs_to, "", label, move |job| {
                let env = crate::analyze::Environment::default();
                let analyzers = crate::analyze::build(&names, &options, &env)?;
                Ok(Done::Analysis(crate::analyze::run_all(
                    analyzers, &source, job,
                )?))
            });
    }

    /// Exports every clip of the batch form's folder with the Export window's settings and
    /// the load dialog's options: `<name>.mp4` in the results folder, resumable.
    pub(super) fn start_batch_export(
        &mut self,
        ctx: &egui::Context,
        form: &crate::gui::forms::BatchForm,
    ) {
        let settings = self.settings.export.settings();
        let options = self.settings.load.options();
        let (settings, options) = match (settings, options) {
            // Results of changed clips are replaced: the batch decides what is current.
            (Ok(s), Ok(o)) => (
                crate::export::ExportSettings {
                    overwrite: true,
                    ..s
                },
                o,
            ),
            (Err(e), _) | (_, Err(e)) => {
                self.panels.batch.outcome = Some(Err(e));
                return;
            }
        };
        let folder = PathBuf::from(form.folder.trim());
        let out = PathBuf::from(form.out.trim());
        let glob = Some(form.glob.trim().to_string()).filter(|g| !g.is_empty());
        let (recursive, jobs) = (form.recursive, form.jobs.max(1));
        // Each worker's encoder gets its share of the cores; a single export, all of them.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        crate::media::set_encoder_threads(if jobs > 1 { (cores / jobs).max(1) } else { 0 });
        let label = format!("exporting {}", folder.display());
        self.panels.batch.outcome = None;
        self.jobs
            .start(ctx, JobKind::Batch, None, "", label, move |job| {
                use crate::batch;
                let inputs = batch::collect(&[folder], &[], recursive, glob.as_deref(), &out)?;
                let described = serde_json::json!({
                    "command": "export",
                    "how": format!("{:?}", (&settings, &options)),
                });
                let one = |input: &batch::Input, stem: &std::path::Path, job: &crate::job::Job| {
                    let mp4 = batch::with_extension(stem, "mp4");
                    let report =
                        crate::export::export_file(&input.path, &mp4, &options, &settings, job)
                            .map_err(|e| e.to_string())?;
                    Ok(batch::Made {
                        outputs: vec![mp4],
                        summary: serde_json::json!({ "frames": report.frames }),
                    })
                };
                let workers: Vec<_> = (0..jobs).map(|_| &one).collect();
                Ok(Done::Batch(batch::run(
                    &inputs,
                    &out,
                    &described,
                    batch::Shard::ALL,
                    job,
                    |_| {},
                    workers,
                )?))
            });
    }

    pub(super) fn start_batch(
        &mut self,
        ctx: &egui::Context,
        form: &crate::gui::forms::BatchForm,
        analyze: &AnalyzeForm,
    ) {
        let names = analyze.names();
        let options = analyze.options();
        let folder = PathBuf::from(form.folder.trim());
        let out = PathBuf::from(form.out.trim());
        let glob = Some(form.glob.trim().to_string()).filter(|g| !g.is_empty());
        let (recursive, jobs) = (form.recursive, form.jobs);
        let label = format!("batch over {}", folder.display());
        self.panels.batch.outcome = None;
        self.jobs
            .start(ctx, JobKind::Batch, None, "", label, move |job| {
                let inputs =
                    crate::batch::collect(&[folder], &[], recursive, glob.as_deref(), &out)?;
                let env = crate::analyze::Environment::default();
                Ok(Done::Batch(crate::batch::analyze(
                    &inputs,
                    &out,
                    crate::batch::Shard::ALL,
                    &names,
                    &options,
                    &env,
                    jobs,
                    job,
                    |_| {},
                )?))
            });
    }

    /// Starts the curves for the current ROIs when they changed, and the kymograph for a
    /// new line.
    pub(super) fn schedule_background(&mut self, ctx: &egui::Context) {
        let Some(doc) = &mut self.doc else { return };
        if doc.rois.is_empty() {
            doc.curves = None;
            self.jobs.cancel(JobKind::Curves);
        } else if !doc.curves_current() {
            let shapes = doc.shapes();
            let key = format!("{shapes:?}");
            if !self.jobs.running_for(JobKind::Curves, self.doc_id, &key) {
                let (stack, normalizer, mask) =
                    (doc.stack.clone(), doc.normalizer.clone(), doc.mask.clone());
                self.jobs.start(
                    ctx,
                    JobKind::Curves,
                    Some(self.doc_id),
                    key,
                    "ROI curves",
                    move |job| {
                        let curves = curves_shown(
                            stack.view(),
                            normalizer.as_ref(),
                            &shapes,
                            mask.as_ref(),
                            false,
                            job,
                        )?;
                        Ok(Done::Curves(shapes, curves))
                    },
                );
            }
        }
        if let Some(line) = &doc.line
            && line.kymograph.is_none()
            && !self.jobs.running(JobKind::Profile)
        {
            let (spec, stack, normalizer) =
                (line.spec.clone(), doc.stack.clone(), doc.normalizer.clone());
            self.jobs.start(
                ctx,
                JobKind::Profile,
                Some(self.doc_id),
                "",
                "kymograph",
                move |job| {
                    let kymo = kymograph_shown(stack.view(), normalizer.as_ref(), &spec, job)?;
                    let env = envelope(&kymo, None);
                    Ok(Done::Profile(spec, kymo, env))
                },
            );
        }
    }

    /// Moves playback on to the frame due now.
    pub(super) fn advance_playback(&mut self, ctx: &egui::Context) {
        let Some(doc) = &mut self.doc else { return };
        let p = &self.settings.playback;
        let Some(position) = self.playback.advance(
            Instant::now(),
            doc.frame,
            doc.len(),
            p.fps,
            p.steps,
            p.looping,
        ) else {
            return;
        };
        doc.set_frame(position.step.a);
        doc.set_blend(position.step.weight);
        if p.steps > 0 && self.blend_view.is_none() && !self.jobs.running(JobKind::PlaybackBlender)
        {
            self.jobs.start(
                ctx,
                JobKind::PlaybackBlender,
                None,
                "",
                "opening the blender",
                |_| {
                    Ok(Done::Blender(crate::interp::choose(
                        crate::interp::BlendDevice::Auto,
                    )))
                },
            );
        }
        ctx.request_repaint();
    }
}

/// Levels for a reduction result: the data range, diverging for signed data.
fn layer_mapping(op: ReduceOp, image: &ndarray::Array3<f32>) -> DisplayMapping {
    let mut m = DisplayMapping::automatic(image.view());
    if matches!(
        op,
        ReduceOp::Mean | ReduceOp::Max | ReduceOp::Min | ReduceOp::Median
    ) && m.min >= 0.0
        && m.max <= 255.0
        && m.colormap != crate::display::Colormap::Diverging
    {
        // Byte-valued results keep the stack's scale, so a layer compares with the frames.
        m.min = 0.0;
        m.max = 255.0;
    }
    m
}

/// The pixel rectangle covering a shape, clipped to the image.
fn bounding_rect(shape: &Shape, w: usize, h: usize) -> Option<Rect> {
    let mask = mask_from_shape(shape, w, h);
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for ((y, x), &keep) in mask.indexed_iter() {
        if keep {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    (x0 <= x1).then(|| Rect {
        x: x0,
        y: y0,
        width: x1 - x0 + 1,
        height: y1 - y0 + 1,
    })
}
