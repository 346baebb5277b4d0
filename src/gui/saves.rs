//! Saving what the window computed (curves, layer, profile, kymograph, analysis results).
//! [`Command::Save`](super::Command::Save) asks where with a file dialog and then applies
//! [`Command::Write`](super::Command::Write), which writes with the core's writers (the same
//! the CLI uses), refusing the stack itself as the target. Tests and scripts write directly.

use std::path::Path;

use super::app::App;
use super::jobs::JobKind;
use super::panels::load::dialog;
use crate::display::{DisplayMapping, save_image};
use crate::ops::{profile_csv, stack_curves_csv};
use crate::output;

/// What can be saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// The ROI curves as CSV.
    Curves,
    /// The reduction layer as PNG, TIFF or `.npy`.
    Layer,
    /// The line profile and its envelope as CSV.
    Profile,
    Kymograph,
    /// The analysis results as JSON, or as CSV.
    Analysis {
        csv: bool,
    },
    /// The storyboard as one HTML page.
    Report,
}

impl Saved {
    /// The save dialog's filter and suggested name.
    fn dialog(self) -> (&'static str, &'static [&'static str], &'static str) {
        const IMAGE: &[&str] = &["png", "tif", "npy"];
        match self {
            Self::Curves => ("CSV", &["csv"], "roi_curves.csv"),
            Self::Layer => ("image or array", IMAGE, "reduced.png"),
            Self::Profile => ("CSV", &["csv"], "profile.csv"),
            Self::Kymograph => ("image or array", IMAGE, "kymograph.png"),
            Self::Analysis { csv: true } => ("CSV", &["csv"], "analysis.csv"),
            Self::Analysis { csv: false } => ("JSON", &["json"], "analysis.json"),
            Self::Report => ("HTML", &["html"], "storyboard.html"),
        }
    }
}

impl App {
    /// Asks where to save `what`; the answer becomes a write.
    pub(super) fn save_with_dialog(&mut self, what: Saved) {
        let (filter, extensions, name) = what.dialog();
        if let Some(path) = dialog(self.settings.last_dir.as_ref())
            .add_filter(filter, extensions)
            .set_file_name(name)
            .save_file()
        {
            // The dialog has asked about replacing an existing file.
            self.write(what, &path, true);
        }
    }

    /// Writes `what` to `path`; the outcome goes to the status line (the Analyzers window
    /// for analysis results).
    pub fn write(&mut self, what: Saved, path: &Path, overwrite: bool) {
        let outcome = self.write_file(what, path, overwrite);
        if let Saved::Analysis { .. } = what {
            let line = outcome.map(|()| format!("wrote {}", path.display()));
            self.panels.set_outcome(JobKind::Analyze, line);
            return;
        }
        match outcome {
            Ok(()) => self.info(format!("saved {}", path.display())),
            Err(e) => self.error(e),
        }
    }

    fn write_file(&self, what: Saved, path: &Path, overwrite: bool) -> Result<(), String> {
        let doc = || self.doc.as_ref().ok_or("no stack is open");
        // The stack itself is refused as the target.
        let source = self.doc.as_ref().map(|d| d.stack.meta().source.clone());
        let inputs: Vec<&Path> = source.iter().map(|p| p.as_path()).collect();
        let csv = |text: String| {
            output::write_bytes(path, &inputs, overwrite, text.as_bytes())
                .map(drop)
                .map_err(|e| e.to_string())
        };
        let image = |values: ndarray::ArrayView3<f32>, mapping: DisplayMapping| {
            save_image(path, values, Some(mapping), &inputs, overwrite)
                .map(drop)
                .map_err(|e| e.to_string())
        };
        match what {
            Saved::Analysis { csv: as_csv } => {
                let results = &self.analysis.results;
                let written = if as_csv {
                    crate::analyze::write_results_csv(results, path, overwrite)
                } else {
                    crate::analyze::write_results_json(results, path, overwrite)
                };
                written.map_err(|e| e.to_string())
            }
            Saved::Report => {
                crate::analyze::storyboard::write_report(&self.analysis.results, path, overwrite)
                    .map_err(|e| e.to_string())
            }
            Saved::Curves => {
                let doc = doc()?;
                let Some((_, curves)) = doc.curves.as_ref().filter(|_| doc.curves_current()) else {
                    return Err("the curves are still being computed".into());
                };
                csv(stack_curves_csv(&doc.stack, curves, false))
            }
            Saved::Layer => {
                let layer = doc()?
                    .layer
                    .as_ref()
                    .ok_or("there is no result layer yet")?;
                image(layer.image.view(), layer.mapping)
            }
            Saved::Profile => {
                let doc = doc()?;
                let line = doc.line.as_ref().ok_or("draw a line first")?;
                let env = line
                    .envelope
                    .as_ref()
                    .ok_or("the envelope is still being computed")?;
                let samples = line.spec.samples();
                let current = doc
                    .current_profile(&line.spec, &samples)
                    .ok_or("the frame is still being drawn")?;
                csv(profile_csv(&samples, &current, env))
            }
            Saved::Kymograph => {
                let kymo = doc()?
                    .line
                    .as_ref()
                    .and_then(|l| l.kymograph.as_ref())
                    .ok_or("the kymograph is still being computed")?;
                image(kymo.view(), DisplayMapping::automatic(kymo.view()))
            }
        }
    }
}
