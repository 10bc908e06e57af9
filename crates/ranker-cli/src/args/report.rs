use std::path::PathBuf;

use clap::Args;

/// `ranker report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run directories (with `eval/report.json`) or report files, in table order.
    #[arg(required = true, value_name = "RUN_DIR_OR_REPORT_JSON")]
    pub inputs: Vec<PathBuf>,
    /// Where to write the Markdown table (written atomically; also printed).
    #[arg(long)]
    pub output: PathBuf,
    /// Also draw a bar chart of the selection scores (PNG).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Also list each candidate model's own row (from the first report).
    #[arg(long)]
    pub with_llms: bool,
    /// Comma-separated opponent models for the ≥X columns (default: Vicuna and Open Assistant when present,
    /// as the paper's ≥Vic / ≥OA, else every model).
    #[arg(long, value_delimiter = ',')]
    pub vs: Vec<String>,
}
