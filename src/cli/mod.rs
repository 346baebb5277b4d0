//! The command line: argument types, progress display, and one function per subcommand.

mod export;
mod info;
mod load_args;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use load_args::LoadArgs;

/// Open, analyse and export image stacks (folders of images, videos, .npy, multi-page TIFF).
#[derive(Debug, Parser)]
#[command(name = "stackscope", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load a stack and print its shape and the load report.
    Info(info::InfoArgs),
    /// Encode a stack as H.264 MP4, optionally blending frames in between and adding audio.
    Export(export::ExportArgs),
}

/// Runs the parsed command line; errors are printed here, once, as one line with its cause.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Info(args) => info::run(&args),
        Command::Export(args) => export::run(&args),
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
            );
            eprintln!("error: {e:#}");
            if cancelled {
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
