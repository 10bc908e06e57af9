//! One module per command: each turns validated arguments into calls of the library crates.

mod data;
mod score;

use crate::args::{Cli, Command, DataCommand};

/// Runs the chosen command.
pub(crate) fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let quiet = cli.global.quiet;
    match cli.command {
        Command::Score(args) => score::run(args, quiet),
        Command::Data(DataCommand::Synth(args)) => data::synth(args, quiet),
        Command::Data(DataCommand::Stats(args)) => data::stats(args),
        Command::Data(DataCommand::Score(args)) => data::score(args, quiet),
    }
}
