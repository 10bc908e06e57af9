use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `ranker data …`.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Write a deterministic, learnable synthetic MixInstruct-format set.
    Synth(SynthArgs),
    /// Print the per-metric oracle and mean scores, per candidate position and per model.
    Stats(StatsArgs),
    /// Recompute candidate scores against each item's reference output.
    Score(DataScoreArgs),
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
