use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Where the model computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    /// CUDA when this binary was built with `--features cuda`, else the CPU.
    Auto,
    /// The CPU (burn's Flex backend).
    Cpu,
    /// The GPU `LOCAL_RANK` (needs a `--features cuda` build and the CUDA toolkit at run time).
    Cuda,
}

/// The config file and its overrides (shared by `train`, `eval` and `run`).
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The YAML run config.
    pub config: PathBuf,
    /// Override a config value, e.g. `--set train.lr=3e-5` (repeatable; values are YAML).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
}

/// `ranker train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Config and overrides.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Require a checkpoint to resume from (without it, training resumes from the newest complete
    /// checkpoint of the run directory when there is one, else starts fresh).
    #[arg(long)]
    pub resume: bool,
    /// Validate the config and its inputs and print the plan (world size, global batch, steps, checkpoints)
    /// without training; missing inputs are warnings.
    #[arg(long)]
    pub dry_run: bool,
    /// With `--dry-run`: missing inputs are errors.
    #[arg(long, requires = "dry_run")]
    pub strict: bool,
    /// With `--dry-run`: plan for this many processes (default: `WORLD_SIZE`, else 1).
    #[arg(long, requires = "dry_run", value_parser = clap::value_parser!(u32).range(1..))]
    pub world_size: Option<u32>,
}

/// `ranker eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Config and overrides.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Compute precision of the forward passes (sets `eval.precision`; default: the config's).
    #[arg(long, value_enum)]
    pub precision: Option<super::PrecisionArg>,
    /// Checkpoint directory to evaluate (default: `eval.checkpoint`, else the run's `checkpoints/best`).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
}

/// `ranker run`: what `launch` runs per worker.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Config and overrides.
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// `ranker encode`.
#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// Hugging Face model directory (`config.json`, weights, `tokenizer.json`).
    #[arg(long)]
    pub model: PathBuf,
    /// JSONL of `{"text": str, "text_pair"?: str}` (`-` for stdin).
    #[arg(long)]
    pub input: PathBuf,
    /// Output JSONL of `{"input_ids", "last_hidden_state"}` (default: stdout).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Compute precision of the backbone (the hidden states are written as f32).
    #[arg(long, value_enum, default_value_t = super::PrecisionArg::Fp32)]
    pub precision: super::PrecisionArg,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
}
