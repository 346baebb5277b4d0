//! The command line: argument types, progress display, and one function per subcommand.

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
}

/// Runs the parsed command line; errors are printed here, once, as one line with its cause.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Info(args) => info::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let cancelled = e
                .downcast_ref::<stackscope::LoadError>()
                .is_some_and(|e| matches!(e, stackscope::LoadError::Cancelled));
            eprintln!("error: {e:#}");
            if cancelled {
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
