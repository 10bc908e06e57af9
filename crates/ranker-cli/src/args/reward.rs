use std::path::PathBuf;

use clap::Args;

/// The ranker checkpoint and how to feed it (shared by the reward-model commands).
#[derive(Debug, Args)]
pub struct RewardModelArgs {
    /// A PairRanker checkpoint directory (ours, or `llm-blender/PairRM`'s layout).
    #[arg(long)]
    pub model: PathBuf,
    /// The base model directory (config + tokenizer), for checkpoints that ship none (the reference's).
    #[arg(long)]
    pub base_model: Option<PathBuf>,
    /// Source token budget (default: the checkpoint's `source_maxlength`).
    #[arg(long)]
    pub source_max_len: Option<usize>,
    /// Candidate token budget (default: the checkpoint's `candidate_maxlength`).
    #[arg(long)]
    pub candidate_max_len: Option<usize>,
    /// Pairs per forward pass.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Input JSONL (`-` for stdin).
    #[arg(long, default_value = "-")]
    pub input: PathBuf,
    /// Output JSONL (default: stdout).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// `ranker rank`.
#[derive(Debug, Args)]
pub struct RankArgs {
    /// Model, input and output.
    #[command(flatten)]
    pub common: RewardModelArgs,
}

/// `ranker compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Model, input and output.
    #[command(flatten)]
    pub common: RewardModelArgs,
}

/// `ranker rank-with-ref`.
#[derive(Debug, Args)]
pub struct RankWithRefArgs {
    /// Model, input and output.
    #[command(flatten)]
    pub common: RewardModelArgs,
    /// Which candidate is the reference when a line has no `reference`:
    /// longest, shortest, median_length, first or last.
    #[arg(long, default_value = "longest")]
    pub ref_mode: String,
}

/// `ranker best-of-n`.
#[derive(Debug, Args)]
pub struct BestOfNArgs {
    /// Model, input and output.
    #[command(flatten)]
    pub common: RewardModelArgs,
    /// Also print the order (winner, then the loser of each comparison).
    #[arg(long)]
    pub return_all: bool,
    /// Pick the worst candidate instead.
    #[arg(long)]
    pub worst: bool,
    /// Seed of the bubble permutations.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}
