//! The `stackscope` binary: command-line front of the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // SAFETY: first statement of `main`; no other thread exists yet.
    unsafe { stackscope::analyze::runtime::disable_telemetry_at_start() };
    cli::run(cli::Cli::parse())
}
