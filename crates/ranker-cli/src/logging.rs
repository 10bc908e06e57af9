//! Log output: `tracing` events to stderr (filtered by `RANKER_LOG`, e.g. `RANKER_LOG=debug`, or the
//! `-v` / `-q` flags) and, for training and evaluation, to a per-rank file in the run directory.

use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How much to log where.
pub(crate) struct LogSetup<'a> {
    pub verbose: u8,
    pub quiet: bool,
    /// Only warnings and errors on the console (ranks other than 0; a progress bar on a terminal).
    pub console_warnings_only: bool,
    /// Also append everything at info level (or more with `-v`) to this file.
    pub file: Option<&'a Path>,
}

pub(crate) fn init(setup: LogSetup<'_>) -> anyhow::Result<()> {
    let level = match (setup.quiet || setup.console_warnings_only, setup.verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let console_filter =
        EnvFilter::try_from_env("RANKER_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let console = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .with_filter(console_filter);
    let file = match setup.file {
        Some(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?;
            let file_level = if setup.verbose > 0 {
                LevelFilter::DEBUG
            } else {
                LevelFilter::INFO
            };
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(Mutex::new(file))
                    .with_ansi(false)
                    .with_target(false)
                    .with_filter(file_level),
            )
        }
        None => None,
    };
    let _ = tracing_subscriber::registry()
        .with(console)
        .with(file)
        .try_init();
    Ok(())
}
