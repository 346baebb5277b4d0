//! Where commands take effect: [`App::apply`] is the one `match` over [`Command`]; jobs are
//! started here and their outcomes applied in [`App::finish`].

use std::path::Path;
use std::time::Instant;

use eframe::egui;

use super::app::App;
use super::command::{Command, Window};
use super::document::Document;
use super::forms::colormap_named;
use super::jobs::{Done, Finished, JobError, JobKind};
use super::panels::load::LoadDialog;
use super::task::written_line;
use crate::load::{Loaded, load};
use crate::ops::{Shape, mask_from_image, mask_from_shape};

/// The line a finished video export shows, from an export's or a visualization's report
/// (the two have the same fields).
macro_rules! written {
    ($r:expr) => {
        written_line(
            &$r.path,
            $r.bytes,
            $r.frames,
            ($r.width, $r.height),
            $r.fps,
            $r.elapsed_secs,
        )
    };
}

impl App {
    /// Applies one command. Commands that change the document go through its methods, which
    /// keep what depends on what consistent.
    pub fn apply(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::OpenDialog(path) => {
                self.panels.load = Some(LoadDialog::new(path, self.settings.load.clone()));
            }
            Command::CloseLoadDialog => self.panels.load = None,
            Command::ClearCache(dir) => {
                // Entries mapped by open stacks stay readable: unlinking keeps mapped pages.
                match crate::load::cache::Cache::new(&dir, None).clear(None) {
                    Ok(c) => self.info(format!(
                        "frame cache: removed {} entries, {}",
                        c.entries,
                        crate::load::human_bytes(c.bytes)
                    )),
                    Err(e) => self.error(e.to_string()),
                }
                if let Some(dialog) = &mut self.panels.load {
                    dialog.refresh_cache();
                }
            }
            Command::Open {
                path,
                options,
                form,
            } => {
                if let Some(form) = form {
                    self.settings.load = form;
                }
                self.panels.load = None;
                self.status = None;
                let label = format!("loading {}", short_name(&path));
                self.jobs
                    .start(ctx, JobKind::Load, None, "", label, move |job| {
                        Ok(Done::Loaded(load(&path, &options, job)?))
                    });
            }

            Command::Seek(frame) => self.seek(frame),
            Command::SeekTime(t) => {
                if let Some(doc) = &self.doc {
                    let frame = doc.stack.meta().frame_at(doc.len(), t);
                    self.seek(frame);
                }
            }
            Command::StepFrames(delta) => {
                if let Some(doc) = &self.doc {
                    self.seek(doc.frame.saturating_add_signed(delta));
                }
            }
            Command::SeekLast => self.seek(usize::MAX),
            Command::TogglePlay => {
                self.playback.toggle();
                // The overlay then measures playback alone, not the idle time before it.
                self.timer.clear();
            }

            Command::Fit => self.panels.viewer.fit(),
            Command::OneToOne => self.panels.viewer.one_to_one(),
            Command::Zoom(factor) => self.panels.viewer.zoom_by(factor),
            Command::SetTool(tool) => {
                self.panels.viewer.tool = tool;
                self.panels.viewer.cancel_drawing();
            }
            Command::SetLineWidth(width) => self.panels.viewer.line_width = width.max(1),
            Command::SetColorbar(on) => self.settings.show_colorbar = on,
            Command::Show(window, open) => *self.window_flag(window) = open,
            Command::Toggle(window) => {
                let flag = self.window_flag(window);
                *flag = !*flag;
            }

            Command::SetMapping(mapping) => {
                if let Some(doc) = &mut self.doc {
                    doc.set_active_mapping(mapping);
                    if doc.stack.channels() == 1 && !doc.showing_layer() {
                        self.settings.colormap = mapping.colormap.name().into();
                    }
                }
            }
            Command::ShowLayer(show) => self.with_doc(|d| d.show_layer(show)),
            Command::AddRoi(shape) => self.with_doc(|d| d.add_roi(shape)),
            Command::SetRoiShape { index, shape } => {
                self.with_doc(|d| d.set_roi_shape(index, shape));
            }
            Command::SelectRoi(index) => self.with_doc(|d| d.select_roi(index)),
            Command::RemoveRoi(index) => self.with_doc(|d| d.remove_roi(index)),
            Command::SetLine(spec) => {
                self.jobs.cancel(JobKind::Profile);
                self.with_doc(|d| d.set_line(spec));
            }

            Command::RunReduce { op, start, end } => self.start_reduce(ctx, op, &start, &end),
            Command::Normalize(form) => self.start_normalize(ctx, form),
            Command::NormalizeOff => {
                self.jobs.cancel(JobKind::Ops);
                self.with_doc(|d| d.set_normalizer(None));
            }
            Command::ClearMask => self.with_doc(|d| d.set_mask(None)),
            Command::MaskFromRoi => {
                if let Some((shape, (w, h))) = self.selected_shape() {
                    self.with_doc(|d| d.set_mask(Some(mask_from_shape(&shape, w, h))));
                }
            }
            Command::CropToRoi => self.start_crop(ctx),
            Command::MaskFromFile(path) => {
                let Some(doc) = &self.doc else { return };
                let (w, h) = doc.size();
                self.jobs.start(
                    ctx,
                    JobKind::Ops,
                    Some(self.doc_id),
                    "",
                    "reading the mask",
                    move |_| Ok(Done::Mask(mask_from_image(&path, w, h)?)),
                );
            }

            Command::Save(what) => self.save_with_dialog(what),
            Command::Write {
                what,
                path,
                overwrite,
            } => self.write(what, &path, overwrite),

            Command::StartExport(form) => self.start_export(ctx, &form),
            Command::OpenBlender(device) => {
                self.jobs.start(
                    ctx,
                    JobKind::Blender,
                    None,
                    "",
                    "opening the blender",
                    move |_| Ok(Done::Blender(crate::interp::choose(device))),
                );
            }
            Command::StartAudioExport(form) => self.start_audio_export(ctx, &form),
            Command::ComputeSpectrum {
                key,
                path,
                settings,
            } => {
                self.jobs.start(
                    ctx,
                    JobKind::Spectrum,
                    None,
                    key,
                    "analysing audio",
                    move |job| {
                        Ok(Done::Spectrum(crate::audio::analyze(
                            &path, &settings, job,
                        )?))
                    },
                );
            }
            Command::StartAnalysis(form) => self.start_analysis(ctx, &form),
            Command::RunBatch { form, analyze } => {
                if form.export {
                    self.start_batch_export(ctx, &form);
                } else {
                    self.start_batch(ctx, &form, &analyze);
                }
            }
            Command::OpenBatchResult { clip, results } => {
                match crate::analyze::read_results_json(&results) {
                    Ok(found) => {
                        self.pending_results = Some(found);
                        let options = self.settings.load.options().unwrap_or_default();
                        self.apply(
                            ctx,
                            Command::Open {
                                path: clip,
                                options,
                                form: None,
                            },
                        );
                    }
                    Err(e) => self.error(e.to_string()),
                }
            }
            Command::Cancel(kind) => self.jobs.cancel(kind),
        }
    }

    /// Applies what a job produced, when it still belongs to what is open.
    pub(super) fn finish(&mut self, ctx: &egui::Context, f: Finished) {
        let current = f.doc.is_none_or(|d| d == self.doc_id);
        let value = match f.result {
            Ok(value) if !f.cancelled => value,
            Err(JobError::Load(crate::load::LoadError::Cancelled)) => {
                return self.info("loading cancelled");
            }
            // Cancelled with its own Cancel button: the dialog that started it says so; a
            // cancelled reduce or curves job has nothing to report.
            Ok(_) => {
                self.panels.set_outcome(f.kind, Err("cancelled".into()));
                return;
            }
            Err(e) if f.kind == JobKind::Spectrum => {
                self.panels.audio.spectrum_failed(f.key, e.to_string());
                return;
            }
            Err(e) => {
                let message = e.to_string();
                if !self.panels.set_outcome(f.kind, Err(message.clone())) && !f.cancelled {
                    self.error(message);
                }
                return;
            }
        };
        match value {
            Done::Loaded(loaded) => self.open_loaded(ctx, loaded),
            Done::Layer(layer) if current => {
                self.info(format!("{} ready", layer.name));
                self.with_doc(|d| d.set_layer(layer));
            }
            Done::Normalizer(n) if current => self.with_doc(|d| d.set_normalizer(Some(n))),
            Done::Mask(mask) if current => self.with_doc(|d| d.set_mask(Some(mask))),
            Done::Stack(stack) if current => {
                let Some(doc) = &self.doc else { return };
                self.doc = Some(doc.cropped(stack));
                self.doc_id += 1;
                self.panels.viewer.fit();
                self.info("cropped; the ROIs, mask and normalization were cleared");
            }
            Done::Curves(shapes, curves) if current => {
                self.with_doc(|d| d.curves = Some((shapes, curves)));
            }
            Done::Profile(spec, kymo, env) if current => {
                if let Some(line) = self
                    .doc
                    .as_mut()
                    .and_then(|d| d.line.as_mut())
                    .filter(|l| l.spec == spec)
                {
                    line.kymograph = Some(kymo);
                    line.envelope = Some(env);
                }
            }
            Done::Exported(report) => {
                let line = written!(report);
                let line = format!("{line}; {}", report.blender_reason);
                self.panels.set_outcome(JobKind::Export, Ok(line));
            }
            Done::AudioExported(report) => {
                self.panels
                    .set_outcome(JobKind::AudioExport, Ok(written!(report)));
            }
            Done::Spectrum(spectrum) => self.panels.audio.set_spectrum(f.key, spectrum),
            Done::Analysis(results) => {
                let line = results
                    .iter()
                    .map(|r| format!("{}: {} events", r.analyzer, r.events.len()))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.analysis.results = results;
                self.analysis.doc = f.doc;
                self.panels.analyzers.new_results();
                self.panels.set_outcome(JobKind::Analyze, Ok(line));
            }
            Done::Batch(tally) => {
                let mut line = format!(
                    "{} clips: {} done, {} already current, {} failed",
                    tally.inputs, tally.done, tally.skipped, tally.failed
                );
                if let Some((name, error)) = tally.failures.first() {
                    line.push_str(&format!(" (first: {}: {error})", name.display()));
                }
                self.panels.batch.refresh();
                let outcome = if tally.failed == 0 {
                    Ok(line)
                } else {
                    Err(line)
                };
                self.panels.set_outcome(JobKind::Batch, outcome);
            }
            Done::Blender(choice) if f.kind == JobKind::PlaybackBlender => {
                self.blend_view = Some(super::blend_view::BlendView::new(choice));
            }
            Done::Blender(choice) => self.panels.export.set_blender(choice),
            // A result for a document that is no longer open.
            _ => {}
        }
    }

    fn open_loaded(&mut self, ctx: &egui::Context, loaded: Loaded) {
        let Loaded { stack, report } = loaded;
        self.settings.remember(report.source.clone());
        let notable =
            report.guard.is_some() || !report.skipped.is_empty() || !report.notes.is_empty();
        let mut doc = Document::new(stack, report);
        if doc.stack.channels() == 1 {
            doc.mapping.colormap = colormap_named(&self.settings.colormap);
        }
        if let Some(fps) = doc.stack.meta().fps {
            self.settings.playback.fps = fps;
        }
        self.info(format!(
            "opened {} in {:.2} s",
            doc.report.source.display(),
            doc.report.elapsed_secs
        ));
        // Measured from when the load started, until its first frame is drawn.
        self.first_frame_pending =
            Some(Instant::now() - std::time::Duration::from_secs_f64(doc.report.elapsed_secs));
        self.doc = Some(doc);
        self.doc_id += 1;
        if let Some(results) = self.pending_results.take() {
            self.analysis.results = results;
            self.analysis.doc = Some(self.doc_id);
            self.panels.analyzers.new_results();
            self.panels.analyzers.open = true;
        }
        self.panels.show_report = notable;
        self.playback.stop();
        self.panels.viewer.fit();
        self.panels.export.new_stack();
        self.jobs.cancel(JobKind::Curves);
        self.jobs.cancel(JobKind::Profile);
        ctx.request_repaint();
    }

    fn seek(&mut self, frame: usize) {
        if let Some(doc) = &mut self.doc {
            doc.set_frame(frame);
            self.playback.seeked();
        }
    }

    fn with_doc(&mut self, change: impl FnOnce(&mut Document)) {
        if let Some(doc) = &mut self.doc {
            change(doc);
        }
    }

    fn window_flag(&mut self, window: Window) -> &mut bool {
        let p = &mut self.panels;
        match window {
            Window::Export => &mut p.export.open,
            Window::Audio => &mut p.audio.open,
            Window::Analyzers => &mut p.analyzers.open,
            Window::Batch => &mut p.batch.open,
            Window::LoadReport => &mut p.show_report,
            Window::Shortcuts => &mut p.show_shortcuts,
            Window::FrameTime => &mut p.show_frame_time,
        }
    }

    /// The selected ROI's shape and the frame size, or an error in the status line.
    pub(super) fn selected_shape(&mut self) -> Option<(Shape, (usize, usize))> {
        let doc = self.doc.as_ref()?;
        let found = doc
            .selected_roi
            .and_then(|i| doc.rois.get(i))
            .map(|r| (r.shape.clone(), doc.size()));
        if found.is_none() {
            self.error("select a ROI first");
        }
        found
    }

    /// The time of the frame shown (seconds; frame numbers without a frame rate).
    pub(super) fn doc_time(&self) -> Option<f64> {
        self.doc.as_ref().map(|d| d.stack.meta().time_of(d.frame))
    }
}

fn short_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use ndarray::{Array2, Array4};

    use super::*;
    use crate::display::DisplayMapping;
    use crate::gui::forms::{NormalizeForm, Settings};
    use crate::load::LoadReport;
    use crate::ops::{LineSpec, ReduceOp};
    use crate::stack::FrameStack;
    use crate::stack::{ChannelOrder, SourceKind, StackMeta};

    /// An app on a 5 × 4 × 6 gray stack whose frame i is flat 10·i with x added.
    fn app() -> (App, egui::Context) {
        let frames = Array4::from_shape_fn((5, 4, 6, 1), |(i, _, x, _)| (10 * i + x) as u8);
        let meta = StackMeta::new("t.npy", SourceKind::Npy, ChannelOrder::Gray);
        let report = LoadReport::new("t.npy".into(), SourceKind::Npy);
        let mut app = App::with_settings(Settings::default());
        app.doc = Some(Document::new(FrameStack::from_array(frames, meta), report));
        app.doc_id = 1;
        (app, egui::Context::default())
    }

    fn doc(app: &App) -> &Document {
        app.doc.as_ref().unwrap()
    }

    /// Applies the outcomes of the jobs until none runs.
    fn settle(app: &mut App, ctx: &egui::Context) {
        let start = Instant::now();
        while app.jobs.busy() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "a job never ended"
            );
            for f in app.jobs.poll() {
                app.finish(ctx, f);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn seek_commands_move_within_the_stack() {
        let (mut app, ctx) = app();
        app.apply(&ctx, Command::Seek(3));
        assert_eq!(doc(&app).frame, 3);
        app.apply(&ctx, Command::StepFrames(-10));
        assert_eq!(doc(&app).frame, 0);
        app.apply(&ctx, Command::StepFrames(2));
        assert_eq!(doc(&app).frame, 2);
        app.apply(&ctx, Command::SeekLast);
        assert_eq!(doc(&app).frame, 4);
        // Without a frame rate, time is the frame number.
        app.apply(&ctx, Command::SeekTime(1.0));
        assert_eq!(doc(&app).frame, 1);
    }

    #[test]
    fn play_toggles_and_a_seek_keeps_playing_from_there() {
        let (mut app, ctx) = app();
        app.apply(&ctx, Command::TogglePlay);
        assert!(app.playback.playing());
        app.apply(&ctx, Command::Seek(2));
        assert!(app.playback.playing());
        app.apply(&ctx, Command::TogglePlay);
        assert!(!app.playback.playing());
    }

    #[test]
    fn mapping_and_layer_commands_change_what_is_shown() {
        let (mut app, ctx) = app();
        let mapping = DisplayMapping {
            min: 5.0,
            max: 50.0,
            ..DisplayMapping::default()
        };
        app.apply(&ctx, Command::SetMapping(mapping));
        assert_eq!(doc(&app).mapping, mapping);
        app.apply(
            &ctx,
            Command::RunReduce {
                op: ReduceOp::Max,
                start: "1".into(),
                end: "3".into(),
            },
        );
        settle(&mut app, &ctx);
        let layer = doc(&app).layer.as_ref().expect("the reduce made a layer");
        assert_eq!(layer.name, "max of frames 1..3");
        // Frame 2 is the brighter of 1 and 2: 20 + x.
        assert_eq!(layer.image[[0, 5, 0]], 25.0);
        assert!(doc(&app).showing_layer());
        app.apply(&ctx, Command::ShowLayer(false));
        assert!(!doc(&app).showing_layer());
    }

    #[test]
    fn a_reduce_over_no_frames_is_refused_in_the_status_line() {
        let (mut app, ctx) = app();
        app.apply(
            &ctx,
            Command::RunReduce {
                op: ReduceOp::Mean,
                start: "4".into(),
                end: "2".into(),
            },
        );
        assert!(!app.jobs.busy());
        assert!(app.status.as_ref().is_some_and(|(_, error)| *error));
    }

    #[test]
    fn roi_commands_add_select_move_and_remove() {
        let (mut app, ctx) = app();
        let rect = Shape::Rect {
            x: 1.0,
            y: 1.0,
            width: 2.0,
            height: 2.0,
        };
        app.apply(&ctx, Command::AddRoi(rect.clone()));
        app.apply(&ctx, Command::AddRoi(Shape::Probe { x: 0, y: 0 }));
        assert_eq!(doc(&app).selected_roi, Some(1));
        app.apply(&ctx, Command::SelectRoi(Some(0)));
        assert_eq!(doc(&app).selected_roi, Some(0));
        let moved = Shape::Probe { x: 3, y: 2 };
        app.apply(
            &ctx,
            Command::SetRoiShape {
                index: 1,
                shape: moved.clone(),
            },
        );
        assert_eq!(doc(&app).rois[1].shape, moved);
        app.apply(&ctx, Command::RemoveRoi(0));
        assert_eq!(doc(&app).shapes(), vec![moved]);
        // The curves of the ROIs left are computed in the background.
        app.schedule_background(&ctx);
        settle(&mut app, &ctx);
        assert!(doc(&app).curves_current());
        let curves = &doc(&app).curves.as_ref().unwrap().1;
        // Probe (3, 2) over frames 0..5: 10·i + 3.
        let means: Vec<f32> = curves[0].stats.iter().map(|s| s[0].mean).collect();
        assert_eq!(means, vec![3.0, 13.0, 23.0, 33.0, 43.0]);
    }

    #[test]
    fn a_new_line_gets_its_kymograph() {
        let (mut app, ctx) = app();
        let spec = LineSpec {
            points: vec![(0.0, 1.0), (5.0, 1.0)],
            width: 1,
        };
        app.apply(&ctx, Command::SetLine(spec.clone()));
        assert!(doc(&app).line.as_ref().unwrap().kymograph.is_none());
        app.schedule_background(&ctx);
        settle(&mut app, &ctx);
        let line = doc(&app).line.as_ref().unwrap();
        assert_eq!(line.spec, spec);
        let kymo = line.kymograph.as_ref().expect("the kymograph was computed");
        assert_eq!(kymo.shape()[0], 5);
        // Frame 3 at the line's first sample (x = 0): 30.
        assert_eq!(kymo[[3, 0, 0]], 30.0);
    }

    #[test]
    fn mask_commands_set_and_clear_the_mask() {
        let (mut app, ctx) = app();
        app.apply(&ctx, Command::MaskFromRoi);
        assert!(
            doc(&app).mask.is_none(),
            "no ROI selected: nothing to mask with"
        );
        app.apply(&ctx, Command::AddRoi(Shape::Probe { x: 2, y: 1 }));
        app.apply(&ctx, Command::MaskFromRoi);
        let mask = doc(&app).mask.clone().unwrap();
        let mut expected = Array2::from_elem((4, 6), false);
        expected[[1, 2]] = true;
        assert_eq!(mask, expected);
        app.apply(&ctx, Command::ClearMask);
        assert!(doc(&app).mask.is_none());
    }

    #[test]
    fn normalize_and_off() {
        let (mut app, ctx) = app();
        app.apply(&ctx, Command::Normalize(NormalizeForm::default()));
        settle(&mut app, &ctx);
        assert!(doc(&app).normalizer.is_some());
        // Frame 0 minus the mean of all (10·2 + x − x): −20 everywhere.
        assert_eq!(doc(&app).values_of(0)[[2, 3, 0]], -20.0);
        app.apply(&ctx, Command::NormalizeOff);
        assert!(doc(&app).normalizer.is_none());
    }

    #[test]
    fn crop_to_roi_makes_a_new_document_of_the_roi() {
        let (mut app, ctx) = app();
        app.apply(
            &ctx,
            Command::AddRoi(Shape::Rect {
                x: 1.0,
                y: 0.0,
                width: 3.0,
                height: 2.0,
            }),
        );
        app.apply(&ctx, Command::Seek(2));
        app.apply(&ctx, Command::CropToRoi);
        settle(&mut app, &ctx);
        assert_eq!(doc(&app).stack.shape(), [5, 2, 3, 1]);
        assert_eq!(doc(&app).frame, 2);
        assert!(doc(&app).rois.is_empty());
        assert_eq!(app.doc_id, 2);
        // Column 0 of the crop is column 1 of the stack: 10·i + 1.
        assert_eq!(doc(&app).stack.frame(4).unwrap()[[0, 0, 0]], 41);
    }

    #[test]
    fn a_mask_image_becomes_the_mask() {
        let (mut app, ctx) = app();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mask.png");
        // Keep the right half of the 6 × 4 frame.
        let mask =
            image::GrayImage::from_fn(6, 4, |x, _| image::Luma([if x >= 3 { 255 } else { 0 }]));
        mask.save(&path).unwrap();
        app.apply(&ctx, Command::MaskFromFile(path));
        settle(&mut app, &ctx);
        let got = doc(&app).mask.clone().expect("the mask was read");
        assert_eq!(got, Array2::from_shape_fn((4, 6), |(_, x)| x >= 3));
    }

    #[test]
    fn open_loads_a_new_document_and_drops_the_old_results() {
        let (mut app, ctx) = app();
        app.apply(&ctx, Command::AddRoi(Shape::Probe { x: 0, y: 0 }));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stack.npy");
        let frames = ndarray::Array3::<u8>::from_shape_fn((3, 2, 5), |(i, y, x)| (i + y + x) as u8);
        ndarray_npy::write_npy(&path, &frames).unwrap();
        app.apply(
            &ctx,
            Command::Open {
                path: path.clone(),
                options: crate::load::LoadOptions::default(),
                form: None,
            },
        );
        settle(&mut app, &ctx);
        assert_eq!(doc(&app).stack.shape(), [3, 2, 5, 1]);
        assert!(doc(&app).rois.is_empty());
        assert_eq!(app.doc_id, 2);
        assert_eq!(app.settings.recent.first(), Some(&path));
    }
}
