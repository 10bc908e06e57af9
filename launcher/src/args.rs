//! What the user typed (the low layer). [`crate::plan`] turns it into a validated [`crate::plan::LaunchPlan`].

use std::path::PathBuf;

use clap::Parser;

/// `launch`: start and supervise llm-ranker workers (torchrun-compatible env), on one node, many nodes or Slurm.
///
/// torchrun's command line works too: `launch --nproc-per-node 4 train.py --lr 0.1` runs `python -u train.py
/// --lr 0.1` per worker; `-m pkg.mod` runs a module; `--no-python prog` runs a program.
#[derive(Debug, Clone, Parser, PartialEq)]
#[command(
    name = "launch",
    version,
    about,
    override_usage = "launch [OPTIONS] CONFIG.yaml\n       launch [OPTIONS] -- CMD [ARGS]...\n       \
                      launch [OPTIONS] [-m | --no-python] SCRIPT [SCRIPT_ARGS]..."
)]
pub struct LaunchArgs {
    /// Workers on this node: a number, `auto` (visible GPUs, else 1), `gpu` (visible GPUs) or `cpu` (CPUs).
    #[arg(
        long,
        value_name = "N|auto",
        visible_alias = "nproc-per-node",
        alias = "nproc_per_node"
    )]
    pub nproc: Option<String>,
    /// Number of nodes (each runs one `launch`); torchrun's `MIN:MAX` is accepted when MIN = MAX.
    #[arg(long, value_name = "N")]
    pub nnodes: Option<String>,
    /// This node's rank, `0..nnodes`.
    #[arg(long, value_name = "R", alias = "node_rank")]
    pub node_rank: Option<usize>,
    /// Host of node 0, where the rendezvous store runs (multi-node).
    #[arg(long, value_name = "HOST", alias = "master_addr")]
    pub master_addr: Option<String>,
    /// Port of launch's rendezvous store (multi-node; single node picks a free port). Workers get another free
    /// port as `MASTER_PORT`, for a PyTorch rank 0 to bind.
    #[arg(long, value_name = "P", alias = "master_port")]
    pub master_port: Option<u16>,
    /// torchrun's rendezvous endpoint, `HOST[:PORT]` (port 29400 if omitted): the same as
    /// `--master-addr HOST --master-port PORT`.
    #[arg(long, value_name = "HOST[:PORT]", alias = "rdzv_endpoint")]
    pub rdzv_endpoint: Option<String>,
    /// torchrun's rendezvous backend: `c10d` and `static` both mean launch's own store; others are ignored.
    #[arg(long, value_name = "NAME", alias = "rdzv_backend")]
    pub rdzv_backend: Option<String>,
    /// One node, a free port, a random run id (torchrun's `--standalone`; also the default without `--nnodes`).
    #[arg(long)]
    pub standalone: bool,
    /// Restarts of the whole worker group after a failure.
    #[arg(long, value_name = "K", default_value_t = 0, alias = "max_restarts")]
    pub max_restarts: u32,
    /// Seconds between SIGTERM and SIGKILL when tearing workers down.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30.0,
        alias = "term_timeout"
    )]
    pub term_timeout: f64,
    /// Seconds to wait for all nodes to join (multi-node).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 300.0,
        alias = "rdzv_timeout"
    )]
    pub rdzv_timeout: f64,
    /// Directory for per-rank log files (`attempt_<k>/rank_<r>/{stdout,stderr}.log`).
    #[arg(long, value_name = "DIR", alias = "log_dir")]
    pub log_dir: Option<PathBuf>,
    /// Global ranks shown on the console, e.g. `0,2-3` (log files keep everything).
    #[arg(long, value_name = "LIST", alias = "ranks_filter")]
    pub ranks_filter: Option<String>,
    /// Job id shared by all nodes (default: the Slurm job id, else random). torchrun: `--rdzv-id`.
    #[arg(long, value_name = "ID", visible_alias = "rdzv-id", alias = "rdzv_id")]
    pub run_id: Option<String>,
    /// Ignore `SLURM_*` variables.
    #[arg(long)]
    pub no_slurm: bool,
    /// Run TARGET as a program, not as a Python script (torchrun's `--no-python`).
    #[arg(long, alias = "no_python", conflicts_with = "module")]
    pub no_python: bool,
    /// Run TARGET as a Python module, `python -u -m TARGET ARGS` (torchrun's `-m`).
    #[arg(short = 'm', long)]
    pub module: bool,
    /// torchrun options that have no meaning for launch; accepted with a one-line notice.
    #[command(flatten)]
    pub ignored: IgnoredTorchrunOptions,
    /// `CONFIG.yaml` (each worker runs `ranker run CONFIG`), or torchrun's training script (`python -u SCRIPT`).
    #[arg(value_name = "CONFIG.yaml|SCRIPT.py")]
    pub config: Option<PathBuf>,
    /// Arguments of the training script, as with torchrun.
    #[arg(
        value_name = "SCRIPT_ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub script_args: Vec<String>,
    /// Any command to run per worker instead of `ranker run CONFIG`: what follows a `--` that comes before any
    /// CONFIG or SCRIPT (see [`LaunchArgs::parse_argv`]).
    #[arg(skip)]
    pub command: Vec<String>,
}

impl LaunchArgs {
    /// Parses a command line: `launch [OPTIONS] -- CMD ARGS…` (the command after the first `--` when no CONFIG or
    /// SCRIPT precedes it), or `launch [OPTIONS] CONFIG.yaml|SCRIPT [SCRIPT_ARGS…]` (torchrun's form, where
    /// everything after the script is the script's).
    pub fn parse_argv<I, T>(argv: I) -> Result<LaunchArgs, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let argv: Vec<std::ffi::OsString> = argv.into_iter().map(Into::into).collect();
        if let Some(dashes) = argv.iter().position(|a| a == "--") {
            let mut head = LaunchArgs::try_parse_from(&argv[..dashes])?;
            if head.config.is_none() {
                head.command = argv[dashes + 1..]
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect();
                return Ok(head);
            }
        }
        LaunchArgs::try_parse_from(argv)
    }
}

/// torchrun options that launch accepts so a torchrun command line runs unchanged, and ignores with a notice.
#[derive(Debug, Clone, Default, clap::Args, PartialEq)]
#[command(next_help_heading = "torchrun options accepted and ignored")]
pub struct IgnoredTorchrunOptions {
    /// torchrun: rendezvous settings (`k=v,…`); launch's timeout is `--rdzv-timeout`.
    #[arg(long, value_name = "CONF", alias = "rdzv_conf")]
    pub rdzv_conf: Option<String>,
    /// torchrun: poll period; launch is woken by SIGCHLD instead.
    #[arg(long, value_name = "SECS", alias = "monitor_interval")]
    pub monitor_interval: Option<String>,
    /// torchrun: how Python functions are started; launch always execs.
    #[arg(long, value_name = "METHOD", alias = "start_method")]
    pub start_method: Option<String>,
    /// torchrun: role name; launch has one role, `default`.
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
    /// torchrun: redirect output to files; launch always writes `--log-dir` files and the console.
    #[arg(short = 'r', long, value_name = "SPEC")]
    pub redirects: Option<String>,
    /// torchrun: tee output; launch always prefixes and tees.
    #[arg(short = 't', long, value_name = "SPEC")]
    pub tee: Option<String>,
    /// torchrun: console filter by local rank; use `--ranks-filter` (global ranks).
    #[arg(long, value_name = "LIST", alias = "local_ranks_filter")]
    pub local_ranks_filter: Option<String>,
    /// torchrun: address this node advertises; launch connects to `--master-addr`.
    #[arg(long, value_name = "ADDR", alias = "local_addr")]
    pub local_addr: Option<String>,
    /// torchrun: `runpy.run_path` in the agent's interpreter; launch runs `python -u SCRIPT`.
    #[arg(long, alias = "run_path")]
    pub run_path: bool,
}

impl IgnoredTorchrunOptions {
    /// One notice per option given.
    pub fn notices(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut note = |flag: &str, value: Option<&str>, why: &str| {
            if let Some(v) = value {
                let shown = if v.is_empty() {
                    String::new()
                } else {
                    format!(" {v}")
                };
                out.push(format!("torchrun option {flag}{shown} ignored: {why}"));
            }
        };
        note(
            "--rdzv-conf",
            self.rdzv_conf.as_deref(),
            "use --rdzv-timeout for the join timeout",
        );
        note(
            "--monitor-interval",
            self.monitor_interval.as_deref(),
            "launch reacts to worker exits at once",
        );
        note(
            "--start-method",
            self.start_method.as_deref(),
            "launch always starts a fresh process",
        );
        note(
            "--role",
            self.role.as_deref(),
            "launch has one role, `default`",
        );
        note(
            "--redirects",
            self.redirects.as_deref(),
            "launch always writes --log-dir files and the console",
        );
        note(
            "--tee",
            self.tee.as_deref(),
            "launch always prefixes and tees every rank's output",
        );
        note(
            "--local-ranks-filter",
            self.local_ranks_filter.as_deref(),
            "use --ranks-filter (global ranks)",
        );
        note(
            "--local-addr",
            self.local_addr.as_deref(),
            "nodes connect to --master-addr",
        );
        note(
            "--run-path",
            self.run_path.then_some(""),
            "the script runs in its own `python -u` process",
        );
        out
    }
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
        let a = LaunchArgs::parse_argv(["launch", "--nproc", "2", "train.yaml"]).unwrap();
        assert_eq!(a.config, Some(PathBuf::from("train.yaml")));
        assert_eq!(a.nproc.as_deref(), Some("2"));
        let a =
            LaunchArgs::parse_argv(["launch", "--ranks-filter", "0", "--", "sh", "-c", "exit 3"])
                .unwrap();
        assert_eq!(a.command, ["sh", "-c", "exit 3"]);
        assert_eq!(a.config, None);
    }

    #[test]
    fn parses_a_torchrun_command_line() {
        let a = LaunchArgs::parse_argv([
            "launch",
            "--nproc_per_node=3",
            "--nnodes",
            "2:2",
            "--node_rank",
            "1",
            "--rdzv-backend",
            "c10d",
            "--rdzv-endpoint",
            "n0:29400",
            "--rdzv_id",
            "job7",
            "--max_restarts",
            "2",
            "--tee",
            "3",
            "train.py",
            "--lr",
            "0.1",
            "-m",
            "x",
        ])
        .unwrap();
        assert_eq!(a.nproc.as_deref(), Some("3"));
        assert_eq!(a.nnodes.as_deref(), Some("2:2"));
        assert_eq!((a.node_rank, a.max_restarts), (Some(1), 2));
        assert_eq!(a.rdzv_endpoint.as_deref(), Some("n0:29400"));
        assert_eq!(a.run_id.as_deref(), Some("job7"));
        assert_eq!(a.config, Some(PathBuf::from("train.py")));
        // Everything after the script belongs to it, `-m` included.
        assert_eq!(a.script_args, ["--lr", "0.1", "-m", "x"]);
        assert!(!a.module);
        assert_eq!(
            a.ignored.notices(),
            ["torchrun option --tee 3 ignored: launch always prefixes and tees every rank's output"]
        );
        let a =
            LaunchArgs::parse_argv(["launch", "--nproc-per-node", "2", "-m", "pkg.train", "--x"])
                .unwrap();
        assert!(a.module);
        assert_eq!(a.config, Some(PathBuf::from("pkg.train")));
        assert_eq!(a.script_args, ["--x"]);
    }
}
