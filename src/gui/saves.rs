//! Saving what the window computed (curves, layer, profile, kymograph, analysis results):
//! a save dialog, then the core's writers, with the stack refused as the target.

use std::path::Path;

use super::app::App;
use super::jobs::JobKind;
use super::panels::load::dialog;
use crate::display::{DisplayMapping, save_image};
use crate::ops::{profile_csv, stack_curves_csv};
use crate::output;

const IMAGE_FILTER: (&str, &[&str]) = ("image or array", &["png", "tif", "npy"]);

impl App {
    /// Asks where to save, then writes with the stack refused as the target (the dialog has
    /// asked about replacing any other file).
    pub(super) fn save_with_dialog(
        &mut self,
        filter: (&str, &[&str]),
        name: &str,
        write: impl FnOnce(&Path, &[&Path]) -> Result<(), String>,
    ) {
        let Some(source) = self.doc.as_ref().map(|d| d.stack.meta().source.clone()) else {
            return;
        };
        let Some(path) = dialog(self.settings.last_dir.as_ref())
            .add_filter(filter.0, filter.1)
            .set_file_name(name)
            .save_file()
        else {
            return;
        };
        match write(&path, &[&source]) {
            Ok(()) => self.info(format!("saved {}", path.display())),
            Err(e) => self.error(e),
        }
    }

    pub(super) fn save_curves(&mut self) {
        let Some(doc) = &self.doc else { return };
        let Some((_, curves)) = doc.curves.as_ref().filter(|_| doc.curves_current()) else {
            return self.error("the curves are still being computed");
        };
        let csv = stack_curves_csv(&doc.stack, curves, false);
        self.save_with_dialog(("CSV", &["csv"]), "roi_curves.csv", |path, inputs| {
            output::write_bytes(path, inputs, true, csv.as_bytes())
                .map(drop)
                .map_err(|e| e.to_string())
        });
    }

    pub(super) fn save_layer(&mut self) {
        let Some(layer) = self.doc.as_ref().and_then(|d| d.layer.as_ref()) else {
            return;
        };
        let (image, mapping) = (layer.image.clone(), layer.mapping);
        self.save_with_dialog(IMAGE_FILTER, "reduced.png", |path, inputs| {
            save_image(path, image.view(), Some(mapping), inputs, true)
                .map(drop)
                .map_err(|e| e.to_string())
        });
    }

    pub(super) fn save_profile(&mut self) {
        let Some(doc) = &self.doc else { return };
        let Some(line) = &doc.line else { return };
        let Some(env) = &line.envelope else {
            return self.error("the envelope is still being computed");
        };
        let samples = line.spec.samples();
        let Some(current) = doc.current_profile(&line.spec, &samples) else {
            return;
        };
        let csv = profile_csv(&samples, &current, env);
        self.save_with_dialog(("CSV", &["csv"]), "profile.csv", |path, inputs| {
            output::write_bytes(path, inputs, true, csv.as_bytes())
                .map(drop)
                .map_err(|e| e.to_string())
        });
    }

    pub(super) fn save_kymograph(&mut self) {
        let Some(kymo) = self
            .doc
            .as_ref()
            .and_then(|d| d.line.as_ref())
            .and_then(|l| l.kymograph.clone())
        else {
            return self.error("the kymograph is still being computed");
        };
        self.save_with_dialog(IMAGE_FILTER, "kymograph.png", |path, inputs| {
            let mapping = DisplayMapping::automatic(kymo.view());
            save_image(path, kymo.view(), Some(mapping), inputs, true)
                .map(drop)
                .map_err(|e| e.to_string())
        });
    }

    pub(super) fn save_analysis(&mut self, csv: bool) {
        let name = if csv { "analysis.csv" } else { "analysis.json" };
        let Some(path) = dialog(self.settings.last_dir.as_ref())
            .set_file_name(name)
            .save_file()
        else {
            return;
        };
        // The dialog asked about replacing the file; the clips analysed are refused as the
        // target by the writers.
        let results = &self.analysis.results;
        let written = if csv {
            crate::analyze::write_results_csv(results, &path, true)
        } else {
            crate::analyze::write_results_json(results, &path, true)
        };
        let outcome = written
            .map(|()| format!("wrote {}", path.display()))
            .map_err(|e| e.to_string());
        self.panels.set_outcome(JobKind::Analyze, outcome);
    }
}
