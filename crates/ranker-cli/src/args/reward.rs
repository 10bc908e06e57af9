use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::DeviceArg;

/// The precision a model computes in (`--precision` of the inference commands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrecisionArg {
    /// 32-bit floats.
    Fp32,
    /// bfloat16 backbone (LayerNorm, softmax and the heads in f32).
    Bf16,
    /// float16 backbone (LayerNorm, softmax and the heads in f32).
    Fp16,
}

impl PrecisionArg {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fp32 => "fp32",
            Self::Bf16 => "bf16",
            Self::Fp16 => "fp16",
        }
    }

    /// The dtype the backbone computes in, `None` for plain f32.
    pub fn compute_dtype(self) -> Option<burn::tensor::FloatDType> {
        match self {
            Self::Fp32 => None,
            Self::Bf16 => Some(burn::tensor::FloatDType::BF16),
            Self::Fp16 => Some(burn::tensor::FloatDType::F16),
        }
    }
}

/// The ranker checkpoint and how to run it (shared by the reward-model commands and `serve`).
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// A ranker checkpoint directory (ours, or `llm-blender/PairRM`'s layout); its ranker type (PairRanker,
    /// SummaReranker, SimCLS) is read from it.
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
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    /// Compute precision.
    #[arg(long, value_enum, default_value_t = PrecisionArg::Fp32)]
    pub precision: PrecisionArg,
}

/// The model plus the JSONL streams of a reward-model command.
#[derive(Debug, Args)]
pub struct RewardModelArgs {
    /// The checkpoint and where it runs.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Pairs per forward pass (rows per forward for SummaReranker / SimCLS: items), packed across input lines;
    /// results do not depend on it.
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

/// Which orders a comparison runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrderArg {
    /// `f(A,B) − f(B,A)` (2 forwards; free of position bias).
    Both,
    /// `f(A,B)` only.
    Ab,
    /// `f(B,A)` only (positive when B is better).
    Ba,
}

/// `ranker compare` and `ranker compare-conversations`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Model, input and output.
    #[command(flatten)]
    pub common: RewardModelArgs,
    /// Orders to run (LLM-Blender's `[A,B]+[B,A]`, `[A,B]`, `[B,A]`).
    #[arg(long, value_enum, default_value_t = OrderArg::Both)]
    pub order: OrderArg,
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

/// How best-of-n compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SelectModeArg {
    /// Every ordered pair, then by rank: n(n−1) comparisons.
    Full,
    /// One bubble pass: 2(n−1) comparisons.
    Bubble,
}

/// `ranker best-of-n` and `ranker worst-of-n`.
#[derive(Debug, Args)]
pub struct BestOfNArgs {
    /// Model, input and output.
    #[command(flatten)]
    pub common: RewardModelArgs,
    /// Comparison mode (PairRanker; SummaReranker and SimCLS always select by score).
    #[arg(long, value_enum, default_value_t = SelectModeArg::Bubble)]
    pub mode: SelectModeArg,
    /// Also print the order (full: every candidate by rank; bubble: the winner, then the loser of each
    /// comparison).
    #[arg(long)]
    pub return_all: bool,
    /// Pick the worst candidate instead (what `worst-of-n` does).
    #[arg(long)]
    pub worst: bool,
    /// Seed of the bubble permutations.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}
