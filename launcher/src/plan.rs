//! The high layer: [`build_plan`] turns [`LaunchArgs`] plus the facts about this host ([`HostFacts`]) into a
//! validated [`LaunchPlan`]. It is a pure function (no process env, no files), unit-tested below.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use ranker_dist::{DistEnv, EnvSource, MasterAddr, StoreHost};

use crate::args::LaunchArgs;
use crate::slurm::{self, SlurmError, SlurmInfo, SlurmMode};

/// Default store port for multi-node runs outside Slurm (torchrun's).
pub const DEFAULT_MASTER_PORT: u16 = 29500;

/// What `launch` knows about its host, gathered once by [`crate::host::gather`].
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// The process environment.
    pub env: HashMap<String, String>,
    /// Entries of `/proc/driver/nvidia/gpus` (`None` when the directory is absent).
    pub nvidia_gpus: Option<usize>,
    /// CPUs in this process's affinity mask.
    pub affinity_cpus: usize,
    /// This host's name.
    pub hostname: String,
    /// A `ranker` executable next to `launch`, if there is one.
    pub ranker_next_to_exe: Option<PathBuf>,
    /// A fresh random token, used when node 0 must invent the job secret.
    pub fresh_token: String,
    /// A fresh random run id.
    pub fresh_run_id: String,
    /// The temp directory (`TMPDIR`, else `/tmp`).
    pub temp_dir: PathBuf,
}

/// Console rank filter (`--ranks-filter 0,2-3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankFilter(BTreeSet<usize>);

impl RankFilter {
    /// Parses `0,2-3`; errors name the bad item.
    pub fn parse(s: &str) -> Result<RankFilter, PlanError> {
        let bad = |item: &str, why: &str| PlanError::Invalid {
            flag: "--ranks-filter",
            value: s.to_string(),
            reason: format!("{item:?} {why}"),
        };
        let mut set = BTreeSet::new();
        for item in s.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(bad(item, "is empty"));
            }
            let (lo, hi) = item.split_once('-').unwrap_or((item, item));
            let lo: usize = lo
                .trim()
                .parse()
                .map_err(|_| bad(item, "is not a rank or lo-hi range"))?;
            let hi: usize = hi
                .trim()
                .parse()
                .map_err(|_| bad(item, "is not a rank or lo-hi range"))?;
            if hi < lo {
                return Err(bad(item, "runs backwards"));
            }
            if hi - lo > 1 << 20 {
                return Err(bad(item, "is too large"));
            }
            set.extend(lo..=hi);
        }
        Ok(RankFilter(set))
    }

    /// Whether `rank`'s lines go to the console.
    pub fn shows(&self, rank: usize) -> bool {
        self.0.contains(&rank)
    }
}

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSpec {
    /// Address node 0 binds (`None` on other nodes).
    pub bind: Option<String>,
    /// Host everyone connects to (and workers get as `MASTER_ADDR`).
    pub host: String,
    /// Port; `None` = chosen by binding port 0 (single node).
    pub port: Option<u16>,
}

/// What the rendezvous of one attempt decided for this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptRanks {
    /// Global rank of this node's local worker 0.
    pub base: usize,
    /// Workers in the job.
    pub world: usize,
    /// A port that was free on node 0, handed to workers as `MASTER_PORT` for a PyTorch rank 0 to bind.
    pub torch_port: u16,
}

/// torchrun's notice when it sets `OMP_NUM_THREADS` (torch/distributed/run.py, `config_from_args`).
pub const OMP_NOTICE: &str = "Setting OMP_NUM_THREADS environment variable for each process to be 1 in default, \
     to avoid your system being overloaded, please further tune the variable for optimal performance in your \
     application as needed.";

/// Supervisor mode: this `launch` spawns and watches `nproc` workers.
#[derive(Debug, Clone, PartialEq)]
pub struct SupervisePlan {
    /// Workers on this node.
    pub nproc: usize,
    /// Nodes in the job.
    pub nnodes: usize,
    /// This node's rank.
    pub node_rank: usize,
    /// The rendezvous store.
    pub store: StoreSpec,
    /// Group restarts allowed.
    pub max_restarts: u32,
    /// SIGTERM → SIGKILL grace.
    pub term_timeout: Duration,
    /// How long node 0 waits for the other nodes.
    pub rdzv_timeout: Duration,
    /// Per-rank log files root.
    pub log_dir: Option<PathBuf>,
    /// Console filter.
    pub console_filter: Option<RankFilter>,
    /// Program and arguments run per worker.
    pub command: Vec<String>,
    /// Job id shared by all nodes.
    pub run_id: String,
    /// Job secret.
    pub token: String,
    /// This host's name (log prefixes, summary).
    pub host: String,
    /// Extra env for every worker (thread-count defaults).
    pub extra_env: Vec<(String, String)>,
    /// Directory for the workers' `TORCHELASTIC_ERROR_FILE`s (`attempt_<k>/rank_<r>/error.json`): the log
    /// directory, else a fresh directory under the temp dir.
    pub error_dir: PathBuf,
    /// Whether `error_dir` is launch's own temp directory (removed at exit).
    pub error_dir_is_temp: bool,
}

/// Slurm per-task mode: set the env contract and exec the worker.
#[derive(Debug, Clone, PartialEq)]
pub struct PerTaskPlan {
    /// The worker's env contract.
    pub env: DistEnv,
    /// Program and arguments.
    pub command: Vec<String>,
    /// Extra env (thread-count defaults).
    pub extra_env: Vec<(String, String)>,
}

/// A validated plan.
#[derive(Debug, Clone, PartialEq)]
pub enum LaunchPlan {
    /// Spawn and supervise workers.
    Supervise(SupervisePlan),
    /// Become the worker (Slurm started one task per rank).
    PerTask(PerTaskPlan),
}

/// A plan with the warnings the user should see.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedLaunch {
    /// The plan.
    pub plan: LaunchPlan,
    /// Non-fatal notes (e.g. a token derived from the Slurm job id).
    pub warnings: Vec<String>,
}

/// Why the arguments and environment do not make a launch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A flag's value is unusable.
    #[error("{flag} {value:?}: {reason}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: String,
    },
    /// A value that this combination of flags requires is missing.
    #[error("{0}")]
    Missing(String),
    /// The Slurm environment is malformed.
    #[error(transparent)]
    Slurm(#[from] SlurmError),
}

impl SupervisePlan {
    /// The env of local worker `local_rank` in `attempt`, given what the rendezvous decided and the store's port.
    pub fn worker_env(
        &self,
        local_rank: usize,
        ranks: &AttemptRanks,
        attempt: u32,
        store_port: u16,
    ) -> Vec<(String, String)> {
        let rank = ranks.base + local_rank;
        let env = DistEnv {
            rank,
            local_rank,
            world_size: ranks.world,
            local_world_size: self.nproc,
            group_rank: self.node_rank,
            store: Some(MasterAddr {
                host: self.store.host.clone(),
                port: store_port,
            }),
            torch_master: Some(MasterAddr {
                host: self.store.host.clone(),
                port: ranks.torch_port,
            }),
            cuda_device: local_rank,
            restart_count: attempt,
            max_restarts: self.max_restarts,
            run_id: self.run_id.clone(),
            store_token: Some(self.token.clone()),
            store_host: StoreHost::Launcher,
            source: EnvSource::Torchrun,
        };
        let mut vars: Vec<(String, String)> = env
            .to_vars()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        vars.push(("GROUP_WORLD_SIZE".into(), self.nnodes.to_string()));
        vars.extend(torchelastic_extras(rank, ranks.world));
        vars.push((
            "TORCHELASTIC_ERROR_FILE".into(),
            self.error_file(attempt, rank).display().to_string(),
        ));
        vars.extend(self.extra_env.iter().cloned());
        vars
    }

    /// Where rank `rank` of `attempt` may write its error file (torch's `@record` writes JSON there).
    pub fn error_file(&self, attempt: u32, rank: usize) -> PathBuf {
        self.error_dir
            .join(format!("attempt_{attempt}"))
            .join(format!("rank_{rank}"))
            .join("error.json")
    }
}

/// The rest of torchrun's worker env (torch/distributed/elastic/agent/server/local_elastic_agent.py): one role,
/// so role ranks are global ranks; workers host their own torch store at `MASTER_ADDR:MASTER_PORT`.
fn torchelastic_extras(rank: usize, world: usize) -> Vec<(String, String)> {
    vec![
        ("ROLE_RANK".into(), rank.to_string()),
        ("ROLE_WORLD_SIZE".into(), world.to_string()),
        ("ROLE_NAME".into(), "default".into()),
        ("TORCHELASTIC_USE_AGENT_STORE".into(), "False".into()),
    ]
}

/// Builds the plan. Pure: everything it reads is in `args` and `facts`.
pub fn build_plan(args: &LaunchArgs, facts: &HostFacts) -> Result<PlannedLaunch, PlanError> {
    let get = |k: &str| facts.env.get(k).filter(|v| !v.trim().is_empty()).cloned();
    let mut warnings = args.ignored.notices();
    let args = &torchrun_normalized(args, &mut warnings)?;
    let slurm = if args.no_slurm || args.standalone {
        None
    } else {
        slurm::detect(&get)?
    };
    let command = worker_command(args, facts)?;

    if let Some(info) = slurm.as_ref().filter(|s| s.mode == SlurmMode::PerTask) {
        return per_task_plan(args, facts, info, command, &mut warnings)
            .map(|plan| PlannedLaunch { plan, warnings });
    }

    let nproc = match args.nproc.as_deref() {
        Some("auto") | None => match slurm.as_ref().and_then(|s| s.gpus_on_node) {
            Some(n) if n > 0 && args.nproc.is_none() => n,
            _ => visible_gpus(facts).max(1),
        },
        Some("gpu") => match visible_gpus(facts) {
            0 => return Err(invalid("--nproc", "gpu", "no GPU is visible")),
            n => n,
        },
        Some("cpu") => facts.affinity_cpus.max(1),
        Some(n) => match n.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(invalid(
                    "--nproc",
                    n,
                    "expected a positive number, `auto`, `gpu` or `cpu`",
                ))
            }
        },
    };
    let nnodes = parse_nnodes(args.nnodes.as_deref())?
        .or(slurm.as_ref().map(|s| s.nnodes))
        .unwrap_or(1);
    if nnodes == 0 {
        return Err(invalid("--nnodes", "0", "must be at least 1"));
    }
    let node_rank = args
        .node_rank
        .or(slurm.as_ref().map(|s| s.node_rank))
        .unwrap_or(0);
    if node_rank >= nnodes {
        return Err(invalid(
            "--node-rank",
            &node_rank.to_string(),
            &format!("must be below --nnodes {nnodes}"),
        ));
    }
    let term_timeout = seconds("--term-timeout", args.term_timeout)?;
    let rdzv_timeout = seconds("--rdzv-timeout", args.rdzv_timeout)?;

    let store = if nnodes == 1 {
        let host = args
            .master_addr
            .clone()
            .unwrap_or_else(|| "127.0.0.1".to_string());
        let bind_host = if args.master_addr.is_some() {
            "0.0.0.0"
        } else {
            "127.0.0.1"
        };
        StoreSpec {
            bind: Some(format!("{bind_host}:{}", args.master_port.unwrap_or(0))),
            host,
            port: args.master_port,
        }
    } else {
        let host = match (&args.master_addr, &slurm) {
            (Some(h), _) => h.clone(),
            (None, Some(s)) if !s.hosts.is_empty() => s.hosts[0].clone(),
            _ => {
                return Err(PlanError::Missing(format!(
                    "--master-addr is required with --nnodes {nnodes}"
                )))
            }
        };
        let port = args
            .master_port
            .or(slurm.as_ref().map(|s| slurm::store_port_for_job(s.job_id)))
            .unwrap_or(DEFAULT_MASTER_PORT);
        let bind = (node_rank == 0).then(|| format!("0.0.0.0:{port}"));
        StoreSpec {
            bind,
            host,
            port: Some(port),
        }
    };

    let token = match get(ranker_dist::env::STORE_TOKEN) {
        Some(t) => t,
        None if nnodes == 1 => facts.fresh_token.clone(),
        None => match &slurm {
            Some(s) => {
                warnings.push(format!(
                    "RANKER_STORE_TOKEN is not set: using a token derived from Slurm job {}; export a random \
                     RANKER_STORE_TOKEN in the batch script to keep other users out of the store",
                    s.run_id
                ));
                slurm_token(s)
            }
            None => {
                return Err(PlanError::Missing(format!(
                    "RANKER_STORE_TOKEN must be exported with the same value on every node when --nnodes is {nnodes}"
                )))
            }
        },
    };
    let run_id = args
        .run_id
        .clone()
        .or_else(|| slurm.as_ref().map(|s| s.run_id.clone()))
        .unwrap_or_else(|| facts.fresh_run_id.clone());
    let console_filter = args
        .ranks_filter
        .as_deref()
        .map(RankFilter::parse)
        .transpose()?;
    let cpus = slurm
        .as_ref()
        .and_then(|s| s.cpus_per_task)
        .unwrap_or(facts.affinity_cpus);
    let extra_env = thread_defaults(facts, cpus, nproc, &mut warnings);
    let (error_dir, error_dir_is_temp) = match &args.log_dir {
        Some(d) => (d.clone(), false),
        None => (facts.temp_dir.join(&facts.fresh_run_id), true),
    };

    Ok(PlannedLaunch {
        plan: LaunchPlan::Supervise(SupervisePlan {
            nproc,
            nnodes,
            node_rank,
            store,
            max_restarts: args.max_restarts,
            term_timeout,
            rdzv_timeout,
            log_dir: args.log_dir.clone(),
            console_filter,
            command,
            run_id,
            token,
            host: facts.hostname.clone(),
            extra_env,
            error_dir,
            error_dir_is_temp,
        }),
        warnings,
    })
}

fn per_task_plan(
    args: &LaunchArgs,
    facts: &HostFacts,
    info: &SlurmInfo,
    command: Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<LaunchPlan, PlanError> {
    let why = format!(
        "Slurm started {} tasks in this step, one per rank (per-task mode); for one launch per node that starts \
         the workers, run `srun --ntasks=$SLURM_JOB_NUM_NODES --ntasks-per-node=1 launch …`",
        info.ntasks
    );
    if let Some(n) = &args.nproc {
        return Err(invalid("--nproc", n, &why));
    }
    if args.max_restarts > 0 {
        return Err(invalid(
            "--max-restarts",
            &args.max_restarts.to_string(),
            &format!("{why}; restarts need a supervising launch"),
        ));
    }
    if let Some(d) = &args.log_dir {
        warnings.push(format!(
            "--log-dir {} is not used in per-task mode: use srun --output=DIR/%t.out (one file per rank)",
            d.display()
        ));
    }
    if args.ranks_filter.is_some() {
        warnings.push(
            "--ranks-filter is not used in per-task mode: use srun --label, and --output=%t.out"
                .into(),
        );
    }
    if info.procid == 0 {
        warnings.push(format!("{why}; each task runs its rank's worker"));
    }
    let host = match (&args.master_addr, info.hosts.first()) {
        (Some(h), _) => h.clone(),
        (None, Some(h)) => h.clone(),
        (None, None) => {
            return Err(PlanError::Missing(
                "SLURM_STEP_NODELIST is empty and --master-addr is not set".into(),
            ))
        }
    };
    let store_port = args
        .master_port
        .unwrap_or(slurm::store_port_for_job(info.job_id));
    let torch_port = slurm::port_for_job(info.job_id);
    let token = match facts
        .env
        .get(ranker_dist::env::STORE_TOKEN)
        .filter(|t| !t.is_empty())
    {
        Some(t) => t.clone(),
        None => {
            warnings.push(format!(
                "RANKER_STORE_TOKEN is not set: using a token derived from Slurm job {}; export a random one in the \
                 batch script",
                info.run_id
            ));
            slurm_token(info)
        }
    };
    let local_world_size = info
        .tasks_per_node
        .get(info.node_rank)
        .copied()
        .unwrap_or(1);
    let env = DistEnv {
        rank: info.procid,
        local_rank: info.localid,
        world_size: info.ntasks,
        local_world_size,
        group_rank: info.node_rank,
        store: Some(MasterAddr {
            host: host.clone(),
            port: store_port,
        }),
        torch_master: Some(MasterAddr {
            host,
            port: torch_port,
        }),
        cuda_device: 0,
        restart_count: 0,
        max_restarts: 0,
        run_id: args.run_id.clone().unwrap_or_else(|| info.run_id.clone()),
        store_token: Some(token),
        store_host: StoreHost::Rank0,
        source: EnvSource::Torchrun,
    };
    // Round-trip through the worker's own parser so the launcher never hands out a contract the worker rejects
    // (with the task's GPU binding, which decides its CUDA device).
    let mut vars: HashMap<String, String> = env
        .to_vars()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    if let Some(v) = facts.env.get(ranker_dist::env::CUDA_VISIBLE_DEVICES) {
        vars.insert(ranker_dist::env::CUDA_VISIBLE_DEVICES.into(), v.clone());
    }
    let parsed = DistEnv::from_map(&vars)
        .map_err(|e| PlanError::Missing(format!("Slurm per-task env is inconsistent: {e}")))?;
    let env = DistEnv {
        cuda_device: parsed.cuda_device,
        ..env
    };
    let cpus = info.cpus_per_task.unwrap_or(facts.affinity_cpus);
    let mut extra_env = torchelastic_extras(env.rank, env.world_size);
    extra_env.extend(per_task_thread_defaults(facts, cpus));
    Ok(LaunchPlan::PerTask(PerTaskPlan {
        env,
        command,
        extra_env,
    }))
}

/// A token every task of a Slurm job can derive alone. Not secret (anyone who knows the job id and uid can
/// compute it); documented as the fallback when the batch script exports none.
fn slurm_token(info: &SlurmInfo) -> String {
    format!("slurm-job-{}", info.run_id)
}

/// Folds torchrun's spellings into launch's own: `--rdzv-endpoint` into `--master-addr/--master-port`,
/// `--standalone` into one node on loopback; `--rdzv-backend` other than `c10d`/`static` gets a notice.
fn torchrun_normalized(
    args: &LaunchArgs,
    warnings: &mut Vec<String>,
) -> Result<LaunchArgs, PlanError> {
    let mut args = args.clone();
    if let Some(backend) = args.rdzv_backend.as_deref() {
        if !matches!(backend, "c10d" | "static") {
            warnings.push(format!(
                "torchrun option --rdzv-backend {backend} ignored: launch hosts its own rendezvous store"
            ));
        }
    }
    if args.standalone {
        if let Some(n) = parse_nnodes(args.nnodes.as_deref())?.filter(|&n| n > 1) {
            return Err(invalid(
                "--nnodes",
                &n.to_string(),
                "--standalone runs a single node",
            ));
        }
        if args.rdzv_endpoint.is_some() || args.master_addr.is_some() {
            warnings.push(
                "--standalone: the rendezvous endpoint is ignored; the store takes a free port on 127.0.0.1".into(),
            );
        }
        args.rdzv_endpoint = None;
        args.master_addr = None;
        args.master_port = None;
        args.nnodes = Some("1".into());
        return Ok(args);
    }
    if let Some(endpoint) = args.rdzv_endpoint.take() {
        let (host, port) = parse_endpoint(&endpoint)?;
        let clash = |given: bool| {
            if given {
                Err(PlanError::Missing(format!(
                    "--rdzv-endpoint {endpoint} and --master-addr/--master-port name the same thing: give one"
                )))
            } else {
                Ok(())
            }
        };
        clash(args.master_addr.is_some() || args.master_port.is_some())?;
        args.master_addr = Some(host);
        args.master_port = Some(port);
    }
    Ok(args)
}

/// torchrun's c10d rendezvous port when `--rdzv-endpoint` has none.
pub const DEFAULT_RDZV_PORT: u16 = 29400;

/// `host`, `host:port`, `[v6]:port`.
fn parse_endpoint(endpoint: &str) -> Result<(String, u16), PlanError> {
    let bad = |why: &str| invalid("--rdzv-endpoint", endpoint, why);
    let (host, port) = if let Some(rest) = endpoint.strip_prefix('[') {
        let (h, tail) = rest.split_once(']').ok_or_else(|| bad("missing ']'"))?;
        (h, tail.strip_prefix(':'))
    } else {
        match endpoint.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            _ => (endpoint, None),
        }
    };
    if host.is_empty() {
        return Err(bad("the host is empty"));
    }
    let port = match port {
        None => DEFAULT_RDZV_PORT,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| bad("the port is not 1-65535"))?,
    };
    Ok((host.to_string(), port))
}

/// `N`, or torchrun's `MIN:MAX` with MIN = MAX (launch has no elastic membership).
fn parse_nnodes(value: Option<&str>) -> Result<Option<usize>, PlanError> {
    let Some(v) = value else { return Ok(None) };
    let num = |s: &str| {
        s.trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| invalid("--nnodes", v, "expected a positive number of nodes"))
    };
    match v.split_once(':') {
        None => num(v).map(Some),
        Some((lo, hi)) => {
            let (lo, hi) = (num(lo)?, num(hi)?);
            if lo != hi {
                return Err(invalid(
                    "--nnodes",
                    v,
                    "elastic MIN:MAX membership is not supported; give a fixed node count",
                ));
            }
            Ok(Some(lo))
        }
    }
}

/// The interpreter for torchrun-style scripts: `PYTHON_EXEC` (torchrun's override), else `python3`.
fn python(facts: &HostFacts) -> String {
    facts
        .env
        .get("PYTHON_EXEC")
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| "python3".to_string())
}

fn is_config(path: &std::path::Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

fn worker_command(args: &LaunchArgs, facts: &HostFacts) -> Result<Vec<String>, PlanError> {
    if let (Some(target), true) = (&args.config, args.command.is_empty()) {
        let target = target.display().to_string();
        let mut cmd = if args.no_python {
            vec![target]
        } else if args.module {
            vec![python(facts), "-u".into(), "-m".into(), target]
        } else if !is_config(target.as_ref()) {
            vec![python(facts), "-u".into(), target]
        } else if !args.script_args.is_empty() {
            return Err(PlanError::Missing(format!(
                "{target} is a config and takes no arguments (got {:?}); run a command with `-- CMD ARGS…`",
                args.script_args
            )));
        } else {
            vec![]
        };
        if !cmd.is_empty() {
            cmd.extend(args.script_args.iter().cloned());
            return Ok(cmd);
        }
    }
    if (args.no_python || args.module) && args.config.is_none() {
        return Err(PlanError::Missing(
            "--no-python and -m need the program or module to run".into(),
        ));
    }
    match (&args.config, args.command.is_empty()) {
        (Some(_), false) => Err(PlanError::Missing(
            "give either CONFIG.yaml (or a script) or `-- CMD ARGS…`, not both".into(),
        )),
        (None, true) => Err(PlanError::Missing(
            "nothing to run: give CONFIG.yaml, a script, or `-- CMD ARGS…`".into(),
        )),
        (None, false) => Ok(args.command.clone()),
        (Some(config), true) => {
            let ranker = facts
                .env
                .get("RANKER_BIN")
                .filter(|s| !s.is_empty())
                .cloned()
                .or_else(|| {
                    facts
                        .ranker_next_to_exe
                        .as_ref()
                        .map(|p| p.display().to_string())
                })
                .unwrap_or_else(|| "ranker".to_string());
            Ok(vec![ranker, "run".into(), config.display().to_string()])
        }
    }
}

/// GPUs visible to this process: `CUDA_VISIBLE_DEVICES` entries if set (empty = none), else the driver's list.
pub fn visible_gpus(facts: &HostFacts) -> usize {
    match facts.env.get("CUDA_VISIBLE_DEVICES") {
        Some(v) => v
            .split(',')
            .map(str::trim)
            .take_while(|s| !s.is_empty() && *s != "-1" && *s != "NoDevFiles")
            .count(),
        None => facts.nvidia_gpus.unwrap_or(0),
    }
}

/// Thread-count defaults for a node running `workers` supervised workers, for variables the user did not set:
/// `OMP_NUM_THREADS=1` with torchrun's notice when there are several (as torchrun does), and `RAYON_NUM_THREADS`
/// (llm-ranker's own workers) the CPU budget split over the workers.
fn thread_defaults(
    facts: &HostFacts,
    cpus: usize,
    workers: usize,
    warnings: &mut Vec<String>,
) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    if workers > 1 && !facts.env.contains_key("OMP_NUM_THREADS") {
        warnings.push(OMP_NOTICE.to_string());
        vars.push(("OMP_NUM_THREADS".to_string(), "1".to_string()));
    }
    if !facts.env.contains_key("RAYON_NUM_THREADS") {
        let per_worker = (cpus / workers.max(1)).max(1).to_string();
        vars.push(("RAYON_NUM_THREADS".to_string(), per_worker));
    }
    vars
}

/// Per-task defaults: Slurm gave this task its own CPUs, so both pools get all of them.
fn per_task_thread_defaults(facts: &HostFacts, cpus: usize) -> Vec<(String, String)> {
    ["OMP_NUM_THREADS", "RAYON_NUM_THREADS"]
        .into_iter()
        .filter(|k| !facts.env.contains_key(*k))
        .map(|k| (k.to_string(), cpus.max(1).to_string()))
        .collect()
}

fn seconds(flag: &'static str, v: f64) -> Result<Duration, PlanError> {
    Duration::try_from_secs_f64(v).map_err(|_| {
        invalid(
            flag,
            &v.to_string(),
            "expected a non-negative number of seconds",
        )
    })
}

fn invalid(flag: &'static str, value: &str, reason: &str) -> PlanError {
    PlanError::Invalid {
        flag,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(env: &[(&str, &str)]) -> HostFacts {
        HostFacts {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            nvidia_gpus: None,
            affinity_cpus: 16,
            hostname: "hostA".into(),
            ranker_next_to_exe: None,
            fresh_token: "fresh".into(),
            fresh_run_id: "run-xyz".into(),
            temp_dir: PathBuf::from("launch-temp"),
        }
    }

    fn plan(argv: &[&str], f: &HostFacts) -> Result<PlannedLaunch, PlanError> {
        let mut full = vec!["launch"];
        full.extend_from_slice(argv);
        build_plan(&LaunchArgs::parse_argv(full).unwrap(), f)
    }

    fn supervise(p: PlannedLaunch) -> SupervisePlan {
        match p.plan {
            LaunchPlan::Supervise(s) => s,
            other => panic!("expected supervise, got {other:?}"),
        }
    }

    #[test]
    fn single_node_defaults() {
        let s = supervise(plan(&["--", "sh", "-c", "true"], &facts(&[])).unwrap());
        assert_eq!((s.nproc, s.nnodes, s.node_rank), (1, 1, 0));
        assert_eq!(
            s.store,
            StoreSpec {
                bind: Some("127.0.0.1:0".into()),
                host: "127.0.0.1".into(),
                port: None
            }
        );
        assert_eq!(s.token, "fresh");
        assert_eq!(s.run_id, "run-xyz");
        assert_eq!(s.term_timeout, Duration::from_secs(30));
        // One worker: OMP_NUM_THREADS is left alone, as torchrun does.
        assert_eq!(s.extra_env, [("RAYON_NUM_THREADS".into(), "16".into())]);
        assert_eq!(
            (s.error_dir.as_path(), s.error_dir_is_temp),
            (std::path::Path::new("launch-temp/run-xyz"), true)
        );
    }

    #[test]
    fn config_runs_ranker_run() {
        let s = supervise(plan(&["train.yaml"], &facts(&[])).unwrap());
        assert_eq!(s.command, ["ranker", "run", "train.yaml"]);
        let mut f = facts(&[]);
        f.ranker_next_to_exe = Some(PathBuf::from("bin/ranker"));
        assert_eq!(
            supervise(plan(&["t.yaml"], &f).unwrap()).command[0],
            "bin/ranker"
        );
        let f = facts(&[("RANKER_BIN", "/opt/ranker")]);
        assert_eq!(
            supervise(plan(&["t.yaml"], &f).unwrap()).command[0],
            "/opt/ranker"
        );
        let err = plan(&["t.yaml", "--", "x"], &facts(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a config and takes no arguments"), "{err}");
        assert!(plan(&[], &facts(&[]))
            .unwrap_err()
            .to_string()
            .contains("nothing to run"));
    }

    #[test]
    fn torchrun_script_forms() {
        let f = facts(&[]);
        let cmd = |argv: &[&str]| supervise(plan(argv, &f).unwrap()).command;
        assert_eq!(
            cmd(&["--nproc-per-node", "2", "train.py", "--lr", "0.1"]),
            ["python3", "-u", "train.py", "--lr", "0.1"]
        );
        assert_eq!(
            cmd(&["-m", "pkg.train", "--x"]),
            ["python3", "-u", "-m", "pkg.train", "--x"]
        );
        assert_eq!(cmd(&["--no-python", "./prog", "a"]), ["./prog", "a"]);
        assert_eq!(cmd(&["--", "sh", "-c", "true"]), ["sh", "-c", "true"]);
        let f = facts(&[("PYTHON_EXEC", "/venv/bin/python")]);
        assert_eq!(
            supervise(plan(&["t.py"], &f).unwrap()).command[0],
            "/venv/bin/python"
        );
        let err = plan(&["--no-python", "--", "x"], &facts(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("need the program or module"), "{err}");
    }

    #[test]
    fn torchrun_rendezvous_options() {
        let f = facts(&[("RANKER_STORE_TOKEN", "t")]);
        let s = supervise(
            plan(
                &[
                    "--nnodes",
                    "2:2",
                    "--node-rank",
                    "1",
                    "--rdzv-backend",
                    "c10d",
                    "--rdzv-endpoint",
                    "n0:29999",
                    "--rdzv-id",
                    "job9",
                    "t.py",
                ],
                &f,
            )
            .unwrap(),
        );
        assert_eq!((s.nnodes, s.node_rank, s.run_id.as_str()), (2, 1, "job9"));
        assert_eq!((s.store.host.as_str(), s.store.port), ("n0", Some(29999)));
        let s = supervise(plan(&["--nnodes", "2", "--rdzv-endpoint", "n0", "t.py"], &f).unwrap());
        assert_eq!(s.store.port, Some(DEFAULT_RDZV_PORT));
        let s =
            supervise(plan(&["--nnodes", "2", "--rdzv-endpoint", "[::1]:7", "t.py"], &f).unwrap());
        assert_eq!((s.store.host.as_str(), s.store.port), ("::1", Some(7)));
        let err = plan(&["--nnodes", "1:4", "t.py"], &f)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("elastic MIN:MAX membership is not supported"),
            "{err}"
        );
        let err = plan(&["--standalone", "--nnodes", "2", "t.py"], &f)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--standalone runs a single node"), "{err}");
        let p = plan(
            &[
                "--standalone",
                "--rdzv-backend",
                "etcd",
                "--tee",
                "3",
                "t.py",
            ],
            &f,
        )
        .unwrap();
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        assert!(p.warnings.iter().all(|w| w.starts_with("torchrun option ")));
        let s = supervise(p);
        assert_eq!(s.store.bind.as_deref(), Some("127.0.0.1:0"));
        let err = plan(
            &["--rdzv-endpoint", "a:1", "--master-port", "2", "t.py"],
            &f,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("name the same thing"), "{err}");
    }

    #[test]
    fn nproc_auto_counts_visible_gpus() {
        let f = facts(&[("CUDA_VISIBLE_DEVICES", "0,2,5")]);
        assert_eq!(
            supervise(plan(&["--nproc", "auto", "--", "x"], &f).unwrap()).nproc,
            3
        );
        let f = facts(&[("CUDA_VISIBLE_DEVICES", "")]);
        assert_eq!(supervise(plan(&["--", "x"], &f).unwrap()).nproc, 1);
        let mut f = facts(&[]);
        f.nvidia_gpus = Some(8);
        let p = plan(&["--", "x"], &f).unwrap();
        assert_eq!(p.warnings, [OMP_NOTICE]);
        let s = supervise(p);
        assert_eq!(s.nproc, 8);
        assert_eq!(
            s.extra_env,
            [
                ("OMP_NUM_THREADS".into(), "1".into()),
                ("RAYON_NUM_THREADS".into(), "2".into())
            ]
        );
        let err = plan(&["--nproc", "0", "--", "x"], &facts(&[]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "--nproc \"0\": expected a positive number, `auto`, `gpu` or `cpu`"
        );
        let f = facts(&[("CUDA_VISIBLE_DEVICES", "0,1")]);
        assert_eq!(
            supervise(plan(&["--nproc", "gpu", "--", "x"], &f).unwrap()).nproc,
            2
        );
        assert_eq!(
            supervise(plan(&["--nproc", "cpu", "--", "x"], &facts(&[])).unwrap()).nproc,
            16
        );
        let err = plan(&["--nproc", "gpu", "--", "x"], &facts(&[]))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "--nproc \"gpu\": no GPU is visible");
    }

    #[test]
    fn thread_env_respects_user_values() {
        let s = supervise(
            plan(
                &["--nproc", "4", "--", "x"],
                &facts(&[("OMP_NUM_THREADS", "3")]),
            )
            .unwrap(),
        );
        assert_eq!(s.extra_env, [("RAYON_NUM_THREADS".into(), "4".into())]);
        let p = plan(
            &["--nproc", "4", "--", "x"],
            &facts(&[("OMP_NUM_THREADS", "3")]),
        )
        .unwrap();
        assert!(p.warnings.is_empty(), "no OMP notice when the user set it");
    }

    #[test]
    fn multi_node_needs_master_and_token() {
        let err = plan(&["--nnodes", "2", "--", "x"], &facts(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("--master-addr is required"), "{err}");
        let err = plan(
            &["--nnodes", "2", "--master-addr", "n0", "--", "x"],
            &facts(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("RANKER_STORE_TOKEN must be exported"), "{err}");
        let f = facts(&[("RANKER_STORE_TOKEN", "shared")]);
        let s = supervise(
            plan(
                &[
                    "--nnodes",
                    "2",
                    "--node-rank",
                    "1",
                    "--master-addr",
                    "n0",
                    "--",
                    "x",
                ],
                &f,
            )
            .unwrap(),
        );
        assert_eq!(
            s.store,
            StoreSpec {
                bind: None,
                host: "n0".into(),
                port: Some(29500)
            }
        );
        assert_eq!(s.token, "shared");
        let s = supervise(
            plan(
                &[
                    "--nnodes",
                    "2",
                    "--master-addr",
                    "n0",
                    "--master-port",
                    "1234",
                    "--",
                    "x",
                ],
                &f,
            )
            .unwrap(),
        );
        assert_eq!(s.store.bind.as_deref(), Some("0.0.0.0:1234"));
        let err = plan(&["--nnodes", "2", "--node-rank", "2", "--", "x"], &f)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "--node-rank \"2\": must be below --nnodes 2");
    }

    #[test]
    fn worker_env_has_the_torchrun_names() {
        let f = facts(&[("RANKER_STORE_TOKEN", "tok")]);
        let s = supervise(
            plan(
                &[
                    "--nproc",
                    "2",
                    "--nnodes",
                    "2",
                    "--node-rank",
                    "1",
                    "--master-addr",
                    "n0",
                    "--max-restarts",
                    "3",
                    "--",
                    "x",
                ],
                &f,
            )
            .unwrap(),
        );
        let ranks = AttemptRanks {
            base: 2,
            world: 4,
            torch_port: 41000,
        };
        let env: HashMap<String, String> = s.worker_env(1, &ranks, 1, 29500).into_iter().collect();
        for (k, v) in [
            ("RANK", "3"),
            ("LOCAL_RANK", "1"),
            ("WORLD_SIZE", "4"),
            ("LOCAL_WORLD_SIZE", "2"),
            ("GROUP_RANK", "1"),
            ("GROUP_WORLD_SIZE", "2"),
            ("MASTER_ADDR", "n0"),
            ("MASTER_PORT", "41000"),
            ("RANKER_STORE_ADDR", "n0"),
            ("RANKER_STORE_PORT", "29500"),
            ("TORCHELASTIC_RESTART_COUNT", "1"),
            ("TORCHELASTIC_MAX_RESTARTS", "3"),
            ("RANKER_STORE_TOKEN", "tok"),
            ("ROLE_RANK", "3"),
            ("ROLE_WORLD_SIZE", "4"),
            ("ROLE_NAME", "default"),
            ("TORCHELASTIC_USE_AGENT_STORE", "False"),
            (
                "TORCHELASTIC_ERROR_FILE",
                "launch-temp/run-xyz/attempt_1/rank_3/error.json",
            ),
        ] {
            assert_eq!(env.get(k).map(String::as_str), Some(v), "{k}");
        }
        assert!(!env.contains_key("RANKER_HOST_STORE"));
        // The worker's parser accepts what the launcher hands out.
        let parsed = DistEnv::from_map(&env).unwrap();
        assert_eq!((parsed.rank, parsed.world_size), (3, 4));
        assert_eq!(parsed.store.map(|s| s.port), Some(29500));
    }

    #[test]
    fn ranks_filter_parsing() {
        let f = RankFilter::parse("0,2-3").unwrap();
        assert!(f.shows(0) && !f.shows(1) && f.shows(2) && f.shows(3) && !f.shows(4));
        let err = RankFilter::parse("0,x").unwrap_err().to_string();
        assert_eq!(
            err,
            "--ranks-filter \"0,x\": \"x\" is not a rank or lo-hi range"
        );
        assert!(RankFilter::parse("3-1")
            .unwrap_err()
            .to_string()
            .contains("backwards"));
        assert!(RankFilter::parse("1,,2").is_err());
    }

    #[test]
    fn slurm_per_node_mode() {
        let f = facts(&[
            ("SLURM_JOB_ID", "123456"),
            ("SLURM_STEP_ID", "0"),
            ("SLURM_STEP_NODELIST", "gpu[07-08]"),
            ("SLURM_STEP_NUM_NODES", "2"),
            ("SLURM_STEP_NUM_TASKS", "2"),
            ("SLURM_NODEID", "1"),
            ("SLURM_GPUS_ON_NODE", "4"),
            ("SLURM_CPUS_PER_TASK", "32"),
        ]);
        let p = plan(&["--", "x"], &f).unwrap();
        assert_eq!(p.warnings.len(), 2, "token fallback warning, OMP notice");
        assert!(p.warnings[0].starts_with("RANKER_STORE_TOKEN is not set"));
        let s = supervise(p);
        assert_eq!((s.nproc, s.nnodes, s.node_rank), (4, 2, 1));
        assert_eq!(
            s.store,
            StoreSpec {
                bind: None,
                host: "gpu07".into(),
                port: Some(29456)
            }
        );
        assert_eq!(s.run_id, "123456");
        assert_eq!(s.token, "slurm-job-123456");
        assert_eq!(s.extra_env[0], ("OMP_NUM_THREADS".into(), "1".into()));
        assert_eq!(s.extra_env[1], ("RAYON_NUM_THREADS".into(), "8".into()));
        // --no-slurm ignores it all.
        let s = supervise(plan(&["--no-slurm", "--", "x"], &f).unwrap());
        assert_eq!((s.nnodes, s.nproc), (1, 1));
    }

    #[test]
    fn slurm_per_task_mode() {
        let f = facts(&[
            ("SLURM_JOB_ID", "99"),
            ("SLURM_STEP_ID", "0"),
            ("SLURM_STEP_NODELIST", "a[1-2]"),
            ("SLURM_STEP_NUM_NODES", "2"),
            ("SLURM_STEP_NUM_TASKS", "4"),
            ("SLURM_STEP_TASKS_PER_NODE", "2(x2)"),
            ("SLURM_NODEID", "1"),
            ("SLURM_PROCID", "3"),
            ("SLURM_LOCALID", "1"),
            ("RANKER_STORE_TOKEN", "tok"),
        ]);
        let p = plan(&["cfg.yaml"], &f).unwrap();
        assert!(p.warnings.is_empty(), "only rank 0 says which mode");
        let LaunchPlan::PerTask(t) = p.plan else {
            panic!("expected per-task")
        };
        assert_eq!(
            (
                t.env.rank,
                t.env.local_rank,
                t.env.world_size,
                t.env.local_world_size
            ),
            (3, 1, 4, 2)
        );
        assert_eq!(
            t.env.torch_master,
            Some(MasterAddr {
                host: "a1".into(),
                port: 15099
            })
        );
        assert_eq!(
            t.env.store,
            Some(MasterAddr {
                host: "a1".into(),
                port: 25099
            })
        );
        assert_eq!(t.env.store_host, StoreHost::Rank0);
        assert!(!t.env.must_host_store());
        assert_eq!(t.command, ["ranker", "run", "cfg.yaml"]);
        assert_eq!(t.env.cuda_device, 1, "no GPU binding: device SLURM_LOCALID");
        assert!(t.extra_env.contains(&("ROLE_RANK".into(), "3".into())));
        // --gpus-per-task=1: Slurm shows the task only its own GPU, renumbered 0.
        let mut bound = f.clone();
        bound.env.insert("CUDA_VISIBLE_DEVICES".into(), "1".into());
        let LaunchPlan::PerTask(t) = plan(&["cfg.yaml"], &bound).unwrap().plan else {
            panic!("expected per-task")
        };
        assert_eq!((t.env.local_rank, t.env.cuda_device), (1, 0));
        // Per-node flags are not silently dropped.
        let err = plan(&["--nproc", "2", "cfg.yaml"], &f)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--nproc \"2\": Slurm started 4 tasks in this step"),
            "{err}"
        );
        let err = plan(&["--max-restarts", "1", "cfg.yaml"], &f)
            .unwrap_err()
            .to_string();
        assert!(err.contains("restarts need a supervising launch"), "{err}");
        let p = plan(&["--log-dir", "L", "--ranks-filter", "0", "cfg.yaml"], &f).unwrap();
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        let mut rank0 = f.clone();
        rank0.env.insert("SLURM_PROCID".into(), "0".into());
        rank0.env.insert("SLURM_NODEID".into(), "0".into());
        rank0.env.insert("SLURM_LOCALID".into(), "0".into());
        let p = plan(&["cfg.yaml"], &rank0).unwrap();
        assert!(
            p.warnings[0].contains("(per-task mode)"),
            "{:?}",
            p.warnings
        );
    }
}
