use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// `ranker data …`.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Write a deterministic, learnable synthetic MixInstruct-format set.
    Synth(SynthArgs),
    /// Print the per-metric oracle and mean scores, per candidate position and per model.
    Stats(StatsArgs),
    /// Recompute candidate scores against each item's reference output.
    Score(DataScoreArgs),
    /// Convert other data layouts into MixInstruct-format items (preference pairs → two scored candidates).
    Convert(ConvertArgs),
    /// Build prepared items from the reference's raw layout: `<set>_data.json` plus
    /// `candidates/<set>/<decoding_method>/<model>.eval.jsonl`.
    Prepare(PrepareArgs),
}

/// Input layouts `ranker data convert` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConvertFrom {
    /// JSONL preference pairs: `{"prompt" | "instruction"+"input", "chosen", "rejected"}` (strings or chat
    /// message lists; HH-RLHF transcripts without a prompt field).
    Pairs,
}

/// `ranker data convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The input layout.
    #[arg(long = "from", value_enum)]
    pub from: ConvertFrom,
    /// The input file (`.jsonl`).
    #[arg(long)]
    pub input: PathBuf,
    /// The output file (`.json` array or `.jsonl`; written atomically).
    #[arg(long)]
    pub output: PathBuf,
    /// Score name: 1 for the chosen response, 0 for the rejected one.
    #[arg(long, default_value = "human_preference")]
    pub metric: String,
    /// Seed of each item's candidate order (chosen first or second).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// `ranker data prepare`.
#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// The dataset directory (e.g. `data/mix-instruct`) holding `<set>_data.json` and `candidates/<set>/`.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Splits to prepare.
    #[arg(long, value_delimiter = ',', default_value = "train,val,test")]
    pub sets: Vec<String>,
    /// Output directory (default: `--data-dir`); each split goes to `<set>_data_prepared.json`.
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
}

/// `ranker data synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Output file (`.json` array or `.jsonl`).
    #[arg(long)]
    pub output: PathBuf,
    /// Number of items.
    #[arg(long, default_value_t = 1000)]
    pub items: usize,
    /// Candidates per item (at most the number of synthetic models, 11).
    #[arg(long, default_value_t = 11)]
    pub candidates: usize,
    /// Seed; the same arguments always give the same file.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Fraction of items that carry pairwise `cmp_results` verdicts.
    #[arg(long, default_value_t = 0.5)]
    pub cmp_fraction: f64,
}

/// `ranker data stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The data file (`.json` or `.jsonl`).
    pub input: PathBuf,
    /// Comma-separated metrics to report (default: those of the first candidate, in order).
    #[arg(long)]
    pub metrics: Option<String>,
    /// Apply the metric weights (bleu, bleu4, cider, spice × 0.01) as training does; the reference prints raw values.
    #[arg(long)]
    pub weighted: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `ranker data score`.
#[derive(Debug, Args)]
pub struct DataScoreArgs {
    /// The data file to score.
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write the rescored file (may equal `--input`; written atomically).
    #[arg(long)]
    pub output: PathBuf,
    /// Comma-separated metrics to (re)compute.
    #[arg(long, default_value = "rouge1,rouge2,rougeL,rougeLsum,bleu")]
    pub metrics: String,
}
