//! What the user typed: clap definitions, one module per command group.

mod data;
mod score;

use clap::{Args, Parser, Subcommand};

pub use data::*;
pub use score::*;

/// Train, evaluate and serve LLM-output rankers (PairRanker, SummaReranker, SimCLS).
#[derive(Debug, Parser)]
#[command(name = "ranker", version, about, propagate_version = true)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More log output (-v debug, -vv trace); `RANKER_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors, no progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The `ranker` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Score predictions against references with ROUGE (as rouge-score) and BLEU (as sacrebleu).
    Score(ScoreArgs),
    /// Make, inspect and (re)score MixInstruct-format data.
    #[command(subcommand)]
    Data(DataCommand),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
