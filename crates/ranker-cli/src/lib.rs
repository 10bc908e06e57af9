//! The `ranker` command: argument parsing and dispatch only; the work is done by the library crates.

mod args;
mod commands;
mod device;
mod io;
mod logging;
mod progress;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;

/// Parses the command line, runs the subcommand and maps the outcome to an exit code:
/// 0 on success, 1 on an error (printed as one line with its causes), 0 on a closed stdout pipe.
pub fn run() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    match commands::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) if err.is::<commands::StoppedForRequeue>() => {
            eprintln!("{err}");
            ExitCode::from(ranker_dist::signals::STOPPED_FOR_REQUEUE as u8)
        }
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

/// burn allocates and frees many large temporary buffers per step; with glibc's default dynamic mmap
/// threshold each of them is a fresh mmap (page faults on every use) and freed memory is trimmed back to the
/// kernel. Keeping buffers up to 32 MiB on the heap and never trimming made a DeBERTa training step 15–28 %
/// and a forward pass 37–65 % faster in `crates/ranker-models/benches/pair_ranker.rs`.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called once before any threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
