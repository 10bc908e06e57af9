//! What the user typed: clap definitions, one module per command group.

mod data;
mod report;
mod reward;
mod score;
mod serve;
mod train;

use clap::{Args, Parser, Subcommand};

pub use data::{
    ConvertArgs, ConvertFrom, DataCommand, DataScoreArgs, PrepareArgs, StatsArgs, SynthArgs,
};
pub use report::ReportArgs;
pub use reward::{
    BestOfNArgs, CompareArgs, ModelArgs, OrderArg, PrecisionArg, RankArgs, RankWithRefArgs,
    RewardModelArgs, SelectModeArg,
};
pub use score::ScoreArgs;
pub use serve::ServeArgs;
pub use train::{ConfigArgs, DeviceArg, EncodeArgs, EvalArgs, RunArgs, TrainArgs};

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
    /// Train a ranker from a YAML config (one worker; reads the `launch` env when launched).
    Train(TrainArgs),
    /// Run sharded inference on a checkpoint and write the evaluation report.
    Eval(EvalArgs),
    /// What `launch` runs per worker: `train` or `eval`, as the config's `task` says.
    Run(RunArgs),
    /// Rank each line's candidates (PairRanker: full comparison matrix, max-logits; SummaReranker / SimCLS:
    /// their scores): a reward model.
    Rank(RankArgs),
    /// Compare candidate A with candidate B (`f(A,B) − f(B,A)`, positive when A is better).
    Compare(CompareArgs),
    /// Compare two multi-turn conversations that share their user turns (PairRM's template).
    CompareConversations(CompareArgs),
    /// Reward each candidate by how much it beats a reference candidate (`−(f(ref,c) − f(c,ref))`).
    RankWithRef(RankWithRefArgs),
    /// Pick the best candidate of each line (one bubble pass, or `--mode full`).
    BestOfN(BestOfNArgs),
    /// Pick the worst candidate of each line (one bubble pass, or `--mode full`).
    WorstOfN(BestOfNArgs),
    /// Serve a ranker as a reward model over HTTP (rank, compare, compare-conversations, best-of-n).
    Serve(ServeArgs),
    /// Print a backbone's token ids and last hidden states (parity checks against transformers).
    Encode(EncodeArgs),
    /// Score predictions against references with ROUGE (as rouge-score) and BLEU (as sacrebleu).
    Score(ScoreArgs),
    /// The paper-style table (and a bar chart) across evaluated runs.
    Report(ReportArgs),
    /// Make, inspect, (re)score, convert and prepare MixInstruct-format data.
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
