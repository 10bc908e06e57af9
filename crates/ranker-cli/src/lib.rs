//! The `ranker` command: argument parsing and dispatch only; the work is done by the library crates.

mod args;
mod commands;
mod io;
mod logging;
mod progress;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;

/// Parses the command line, runs the subcommand and maps the outcome to an exit code:
/// 0 on success, 1 on an error (printed as one line with its causes), 0 on a closed stdout pipe.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match commands::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
