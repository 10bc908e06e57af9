use std::path::PathBuf;

use clap::Args;

/// `ranker score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Comma-separated metrics: rouge1, rouge2, rougeL, rougeLsum, bleu.
    #[arg(long, default_value = "rouge1,rouge2,rougeL,rougeLsum,bleu")]
    pub metrics: String,
    /// JSONL of `{"prediction": str, "reference": str | [str]}` (`-` for stdin).
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write one JSON line of scores per input line (default: stdout).
    #[arg(long)]
    pub output: Option<PathBuf>,
}
