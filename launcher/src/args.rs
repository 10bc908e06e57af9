//! What the user typed (the low layer). [`crate::plan`] turns it into a validated [`crate::plan::LaunchPlan`].

use std::path::PathBuf;

use clap::Parser;

/// `launch`: start and supervise llm-ranker workers (torchrun-compatible env), on one node, many nodes or Slurm.
#[derive(Debug, Clone, Parser, PartialEq)]
#[command(name = "launch", version, about)]
pub struct LaunchArgs {
    /// Workers on this node: a number, or `auto` (visible GPUs, else 1).
    #[arg(long, value_name = "N|auto")]
    pub nproc: Option<String>,
    /// Number of nodes (each runs one `launch`).
    #[arg(long, value_name = "N")]
    pub nnodes: Option<usize>,
    /// This node's rank, `0..nnodes`.
    #[arg(long, value_name = "R")]
    pub node_rank: Option<usize>,
    /// Host of node 0, where the rendezvous store runs (multi-node).
    #[arg(long, value_name = "HOST")]
    pub master_addr: Option<String>,
    /// Port of the rendezvous store (multi-node; single node picks a free port).
    #[arg(long, value_name = "P")]
    pub master_port: Option<u16>,
    /// Restarts of the whole worker group after a failure.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub max_restarts: u32,
    /// Seconds between SIGTERM and SIGKILL when tearing workers down.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub term_timeout: f64,
    /// Seconds to wait for all nodes to join (multi-node).
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub rdzv_timeout: f64,
    /// Directory for per-rank log files (`attempt_<k>/rank_<r>/{stdout,stderr}.log`).
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Global ranks shown on the console, e.g. `0,2-3` (log files keep everything).
    #[arg(long, value_name = "LIST")]
    pub ranks_filter: Option<String>,
    /// Job id shared by all nodes (default: the Slurm job id, else random).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Ignore `SLURM_*` variables.
    #[arg(long)]
    pub no_slurm: bool,
    /// The training/eval config each worker runs with `ranker run CONFIG`.
    #[arg(value_name = "CONFIG.yaml")]
    pub config: Option<PathBuf>,
    /// Any command to run per worker instead of `ranker run CONFIG` (after `--`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        LaunchArgs::command().debug_assert();
    }

    #[test]
    fn parses_config_and_trailing_command() {
        let a = LaunchArgs::try_parse_from(["launch", "--nproc", "2", "train.yaml"]).unwrap();
        assert_eq!(a.config, Some(PathBuf::from("train.yaml")));
        assert_eq!(a.nproc.as_deref(), Some("2"));
        let a = LaunchArgs::try_parse_from([
            "launch",
            "--ranks-filter",
            "0",
            "--",
            "sh",
            "-c",
            "exit 3",
        ])
        .unwrap();
        assert_eq!(a.command, ["sh", "-c", "exit 3"]);
        assert_eq!(a.config, None);
    }
}
