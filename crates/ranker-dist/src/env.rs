//! The env contract between `launch` and its workers (DESIGN.md, torchrun names).
//!
//! [`DistEnv::from_vars`] is a pure function over a lookup closure, so it is tested without touching the process
//! environment. Absent variables mean a world of one. When neither `RANK` nor `WORLD_SIZE` is set, the Open MPI
//! (`OMPI_COMM_WORLD_*`) and MPICH/Intel MPI (`PMI_RANK`, `PMI_SIZE`, `MPI_LOCALRANKID`, `MPI_LOCALNRANKS`) names
//! are accepted as a fallback, so a worker also runs under `mpirun`.

use std::collections::HashMap;
use std::fmt;

use crate::error::DistError;

/// Global rank of this worker.
pub const RANK: &str = "RANK";
/// Rank within this node.
pub const LOCAL_RANK: &str = "LOCAL_RANK";
/// Number of workers in the job.
pub const WORLD_SIZE: &str = "WORLD_SIZE";
/// Number of workers on this node.
pub const LOCAL_WORLD_SIZE: &str = "LOCAL_WORLD_SIZE";
/// Rank of this node (the launcher's node rank).
pub const GROUP_RANK: &str = "GROUP_RANK";
/// Host where rank 0 of a PyTorch program binds its own store (torch's `env://` rendezvous). llm-ranker workers
/// use it for the rendezvous store only when [`STORE_ADDR`] is absent (a hand-made setup).
pub const MASTER_ADDR: &str = "MASTER_ADDR";
/// Port that goes with [`MASTER_ADDR`]: free for torch's rank 0 to bind; `launch`'s store is elsewhere.
pub const MASTER_PORT: &str = "MASTER_PORT";
/// Host of the rendezvous store that `launch` (or, in Slurm per-task mode, rank 0's worker) hosts.
pub const STORE_ADDR: &str = "RANKER_STORE_ADDR";
/// Port of the rendezvous store.
pub const STORE_PORT: &str = "RANKER_STORE_PORT";
/// The GPUs this process may use; with one entry (Slurm `--gpus-per-task=1`) the worker's device is 0.
pub const CUDA_VISIBLE_DEVICES: &str = "CUDA_VISIBLE_DEVICES";
/// How many times the launcher has restarted the worker group.
pub const RESTART_COUNT: &str = "TORCHELASTIC_RESTART_COUNT";
/// Restarts the launcher allows.
pub const MAX_RESTARTS: &str = "TORCHELASTIC_MAX_RESTARTS";
/// Job id shared by all nodes.
pub const RUN_ID: &str = "TORCHELASTIC_RUN_ID";
/// The job secret the store demands as the first message of every connection.
pub const STORE_TOKEN: &str = "RANKER_STORE_TOKEN";
/// Set to `1` when no launcher hosts the store (Slurm per-task mode): rank 0's worker must host it itself at
/// `MASTER_ADDR:MASTER_PORT`.
pub const HOST_STORE: &str = "RANKER_HOST_STORE";

/// Where the rank information came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvSource {
    /// Nothing set: a world of one.
    Standalone,
    /// torchrun names (set by `launch`, torchrun or by hand).
    Torchrun,
    /// `OMPI_COMM_WORLD_*` (Open MPI).
    OpenMpi,
    /// `PMI_*` (MPICH, Intel MPI).
    Pmi,
}

/// Who hosts the rendezvous store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreHost {
    /// The launcher on node 0 hosts it; every worker is a client.
    Launcher,
    /// No supervisor exists: rank 0's worker hosts it (`RANKER_HOST_STORE=1`), every rank (0 included) is a client.
    Rank0,
}

/// Host and port of the rendezvous store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterAddr {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl fmt::Display for MasterAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// The validated env contract of one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistEnv {
    /// Global rank, `0..world_size`.
    pub rank: usize,
    /// Rank within the node, `0..local_world_size`.
    pub local_rank: usize,
    /// Number of workers in the job.
    pub world_size: usize,
    /// Number of workers on this node.
    pub local_world_size: usize,
    /// Node rank.
    pub group_rank: usize,
    /// The rendezvous store (`RANKER_STORE_ADDR:RANKER_STORE_PORT`, else `MASTER_ADDR:MASTER_PORT`); `None` only
    /// when `world_size == 1` and nothing was given.
    pub store: Option<MasterAddr>,
    /// `MASTER_ADDR:MASTER_PORT` as given: where a PyTorch rank 0 binds its own store. Not used by llm-ranker
    /// workers unless it is also the store.
    pub torch_master: Option<MasterAddr>,
    /// The CUDA ordinal this worker uses: `LOCAL_RANK`, or 0 when `CUDA_VISIBLE_DEVICES` lists a single device
    /// (Slurm `--gpus-per-task=1` binds each task to its own GPU, renumbered from 0).
    pub cuda_device: usize,
    /// `TORCHELASTIC_RESTART_COUNT` (0 on the first attempt).
    pub restart_count: u32,
    /// `TORCHELASTIC_MAX_RESTARTS`.
    pub max_restarts: u32,
    /// `TORCHELASTIC_RUN_ID` (`"none"` when unset).
    pub run_id: String,
    /// `RANKER_STORE_TOKEN`; mandatory when `world_size > 1`.
    pub store_token: Option<String>,
    /// Who hosts the store.
    pub store_host: StoreHost,
    /// Which naming scheme provided the ranks.
    pub source: EnvSource,
}

impl DistEnv {
    /// A world of one, as when nothing is set.
    pub fn standalone() -> Self {
        DistEnv {
            rank: 0,
            local_rank: 0,
            world_size: 1,
            local_world_size: 1,
            group_rank: 0,
            store: None,
            torch_master: None,
            cuda_device: 0,
            restart_count: 0,
            max_restarts: 0,
            run_id: "none".to_string(),
            store_token: None,
            store_host: StoreHost::Launcher,
            source: EnvSource::Standalone,
        }
    }

    /// Reads the contract from the process environment.
    pub fn from_process_env() -> Result<Self, DistError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the contract from a map (tests, or an env captured elsewhere).
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, DistError> {
        Self::from_vars(|name| vars.get(name).cloned())
    }

    /// Reads and validates the contract through `lookup` (a pure function of its answers).
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, DistError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let ranks = RankVars::read(&get)?;
        let Some(ranks) = ranks else {
            let mut env = Self::standalone();
            env.apply_common(&get)?;
            if env.store.is_none() {
                // A lone worker with no store address needs no store.
                env.store_host = StoreHost::Launcher;
            }
            return Ok(env);
        };
        let mut env = DistEnv {
            rank: ranks.rank,
            local_rank: ranks.local_rank,
            world_size: ranks.world_size,
            local_world_size: ranks.local_world_size,
            group_rank: ranks.group_rank,
            store: None,
            torch_master: None,
            cuda_device: ranks.local_rank,
            restart_count: 0,
            max_restarts: 0,
            run_id: "none".to_string(),
            store_token: None,
            store_host: StoreHost::Launcher,
            source: ranks.source,
        };
        env.apply_common(&get)?;
        env.cuda_device = cuda_device(env.local_rank, get(CUDA_VISIBLE_DEVICES).as_deref())?;
        if env.world_size > 1 {
            if env.store.is_none() {
                let var = if get(MASTER_ADDR).is_none() {
                    MASTER_ADDR
                } else {
                    MASTER_PORT
                };
                return Err(DistError::EnvMissing {
                    var: var.to_string(),
                    reason: format!(
                        "WORLD_SIZE is {} and the workers must find the store",
                        env.world_size
                    ),
                });
            }
            if env.store_token.is_none() {
                return Err(DistError::EnvMissing {
                    var: STORE_TOKEN.to_string(),
                    reason: "the store demands the job token (launch sets it; export the same value on every node)"
                        .to_string(),
                });
            }
        }
        Ok(env)
    }

    fn apply_common(&mut self, get: &impl Fn(&str) -> Option<String>) -> Result<(), DistError> {
        self.torch_master = endpoint(get, MASTER_ADDR, MASTER_PORT, self.world_size)?;
        self.store = match endpoint(get, STORE_ADDR, STORE_PORT, self.world_size)? {
            Some(store) => Some(store),
            None => self.torch_master.clone(),
        };
        if let Some(v) = get(RESTART_COUNT) {
            self.restart_count = parse_u32(RESTART_COUNT, &v)?;
        }
        if let Some(v) = get(MAX_RESTARTS) {
            self.max_restarts = parse_u32(MAX_RESTARTS, &v)?;
        }
        if let Some(v) = get(RUN_ID) {
            self.run_id = v.trim().to_string();
        }
        self.store_token = get(STORE_TOKEN).map(|v| v.trim().to_string());
        if let Some(v) = get(HOST_STORE) {
            self.store_host = match v.trim() {
                "1" | "true" | "yes" => StoreHost::Rank0,
                "0" | "false" | "no" => StoreHost::Launcher,
                _ => return Err(invalid(HOST_STORE, &v, "expected 1 or 0")),
            };
        }
        Ok(())
    }

    /// Whether this process must run the store server itself (rank 0 in Slurm per-task mode).
    pub fn must_host_store(&self) -> bool {
        self.store_host == StoreHost::Rank0 && self.rank == 0 && self.world_size > 1
    }

    /// The env variables a launcher sets for this worker (the inverse of [`DistEnv::from_vars`]).
    pub fn to_vars(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            (RANK, self.rank.to_string()),
            (LOCAL_RANK, self.local_rank.to_string()),
            (WORLD_SIZE, self.world_size.to_string()),
            (LOCAL_WORLD_SIZE, self.local_world_size.to_string()),
            (GROUP_RANK, self.group_rank.to_string()),
            (RESTART_COUNT, self.restart_count.to_string()),
            (MAX_RESTARTS, self.max_restarts.to_string()),
            (RUN_ID, self.run_id.clone()),
        ];
        if let Some(master) = &self.torch_master {
            vars.push((MASTER_ADDR, master.host.clone()));
            vars.push((MASTER_PORT, master.port.to_string()));
        }
        if let Some(store) = &self.store {
            vars.push((STORE_ADDR, store.host.clone()));
            vars.push((STORE_PORT, store.port.to_string()));
        }
        if let Some(token) = &self.store_token {
            vars.push((STORE_TOKEN, token.clone()));
        }
        if self.store_host == StoreHost::Rank0 {
            vars.push((HOST_STORE, "1".to_string()));
        }
        vars
    }
}

/// A host/port pair from two variables; one without the other is an error when the world has several workers.
fn endpoint(
    get: &impl Fn(&str) -> Option<String>,
    addr_var: &str,
    port_var: &str,
    world_size: usize,
) -> Result<Option<MasterAddr>, DistError> {
    let addr = get(addr_var);
    let port = get(port_var)
        .map(|v| parse_port(port_var, &v))
        .transpose()?;
    match (addr, port) {
        (Some(host), Some(port)) => Ok(Some(MasterAddr {
            host: host.trim().to_string(),
            port,
        })),
        (Some(_), None) if world_size > 1 => Err(missing(
            port_var,
            &format!("{addr_var} is set, so the port is needed too"),
        )),
        (None, Some(_)) if world_size > 1 => Err(missing(
            addr_var,
            &format!("{port_var} is set, so the host is needed too"),
        )),
        _ => Ok(None),
    }
}

/// The CUDA ordinal of local worker `local_rank` given `CUDA_VISIBLE_DEVICES`.
///
/// Unset: every GPU is visible and worker `LOCAL_RANK` takes device `LOCAL_RANK` (one `launch` per node). One
/// entry: Slurm (`--gpus-per-task=1`, or `--gpu-bind`) or the user bound this process to a single GPU, which CUDA
/// renumbers as device 0, so `LOCAL_RANK` (`SLURM_LOCALID`) must not be used. Several entries: device `LOCAL_RANK`
/// among them, which must exist.
pub fn cuda_device(local_rank: usize, visible: Option<&str>) -> Result<usize, DistError> {
    let Some(list) = visible else {
        return Ok(local_rank);
    };
    let entries = list
        .split(',')
        .map(str::trim)
        .take_while(|s| !s.is_empty() && *s != "-1" && *s != "NoDevFiles")
        .count();
    match entries {
        // No GPU visible: a CPU run; the ordinal is never used.
        0 => Ok(0),
        1 => Ok(0),
        n if local_rank < n => Ok(local_rank),
        n => Err(invalid(
            CUDA_VISIBLE_DEVICES,
            list,
            &format!(
                "lists {n} GPUs but LOCAL_RANK is {local_rank}: give each worker one GPU or make all of the node's \
                 GPUs visible"
            ),
        )),
    }
}

/// Rank numbers read from one naming scheme.
struct RankVars {
    rank: usize,
    local_rank: usize,
    world_size: usize,
    local_world_size: usize,
    group_rank: usize,
    source: EnvSource,
}

/// Variable names of one naming scheme: rank, world, local rank, local world.
struct Scheme {
    rank: &'static str,
    world: &'static str,
    local_rank: &'static str,
    local_world: &'static str,
    source: EnvSource,
}

const SCHEMES: [Scheme; 3] = [
    Scheme {
        rank: RANK,
        world: WORLD_SIZE,
        local_rank: LOCAL_RANK,
        local_world: LOCAL_WORLD_SIZE,
        source: EnvSource::Torchrun,
    },
    Scheme {
        rank: "OMPI_COMM_WORLD_RANK",
        world: "OMPI_COMM_WORLD_SIZE",
        local_rank: "OMPI_COMM_WORLD_LOCAL_RANK",
        local_world: "OMPI_COMM_WORLD_LOCAL_SIZE",
        source: EnvSource::OpenMpi,
    },
    Scheme {
        rank: "PMI_RANK",
        world: "PMI_SIZE",
        local_rank: "MPI_LOCALRANKID",
        local_world: "MPI_LOCALNRANKS",
        source: EnvSource::Pmi,
    },
];

impl RankVars {
    /// The first scheme with a rank or world variable wins; `None` when none has any.
    fn read(get: &impl Fn(&str) -> Option<String>) -> Result<Option<Self>, DistError> {
        for scheme in &SCHEMES {
            let rank = get(scheme.rank);
            let world = get(scheme.world);
            if rank.is_none() && world.is_none() {
                continue;
            }
            let world_size = match &world {
                Some(v) => parse_usize(scheme.world, v)?,
                None => return Err(missing(scheme.world, &format!("{} is set", scheme.rank))),
            };
            if world_size == 0 {
                return Err(invalid(
                    scheme.world,
                    world.as_deref().unwrap_or(""),
                    "must be at least 1",
                ));
            }
            let rank = match &rank {
                Some(v) => parse_usize(scheme.rank, v)?,
                None if world_size == 1 => 0,
                None => {
                    return Err(missing(
                        scheme.rank,
                        &format!("{} is {world_size}", scheme.world),
                    ))
                }
            };
            if rank >= world_size {
                return Err(invalid(
                    scheme.rank,
                    &rank.to_string(),
                    &format!("must be below {}={world_size}", scheme.world),
                ));
            }
            let local_world_size = match get(scheme.local_world) {
                Some(v) => parse_usize(scheme.local_world, &v)?,
                None => world_size,
            };
            if local_world_size == 0 || local_world_size > world_size {
                return Err(invalid(
                    scheme.local_world,
                    &local_world_size.to_string(),
                    &format!(
                        "must be in 1..={world_size} ({}={world_size})",
                        scheme.world
                    ),
                ));
            }
            let local_rank = match get(scheme.local_rank) {
                Some(v) => parse_usize(scheme.local_rank, &v)?,
                None => rank % local_world_size,
            };
            if local_rank >= local_world_size {
                return Err(invalid(
                    scheme.local_rank,
                    &local_rank.to_string(),
                    &format!("must be below {}={local_world_size}", scheme.local_world),
                ));
            }
            let group_rank = match get(GROUP_RANK) {
                Some(v) if scheme.source == EnvSource::Torchrun => parse_usize(GROUP_RANK, &v)?,
                _ => rank / local_world_size,
            };
            return Ok(Some(RankVars {
                rank,
                local_rank,
                world_size,
                local_world_size,
                group_rank,
                source: scheme.source,
            }));
        }
        Ok(None)
    }
}

fn invalid(var: &str, value: &str, reason: &str) -> DistError {
    DistError::EnvInvalid {
        var: var.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

fn missing(var: &str, reason: &str) -> DistError {
    DistError::EnvMissing {
        var: var.to_string(),
        reason: reason.to_string(),
    }
}

fn parse_usize(var: &str, value: &str) -> Result<usize, DistError> {
    value
        .trim()
        .parse::<usize>()
        .map_err(|_| invalid(var, value, "not a non-negative integer"))
}

fn parse_u32(var: &str, value: &str) -> Result<u32, DistError> {
    value
        .trim()
        .parse::<u32>()
        .map_err(|_| invalid(var, value, "not a non-negative integer"))
}

fn parse_port(var: &str, value: &str) -> Result<u16, DistError> {
    match value.trim().parse::<u16>() {
        Ok(0) => Err(invalid(var, value, "port 0 cannot be connected to")),
        Ok(port) => Ok(port),
        Err(_) => Err(invalid(var, value, "not a TCP port (1-65535)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Result<DistEnv, DistError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        DistEnv::from_map(&map)
    }

    const FULL: [(&str, &str); 8] = [
        ("RANK", "3"),
        ("LOCAL_RANK", "1"),
        ("WORLD_SIZE", "4"),
        ("LOCAL_WORLD_SIZE", "2"),
        ("GROUP_RANK", "1"),
        ("MASTER_ADDR", "node01"),
        ("MASTER_PORT", "29500"),
        ("RANKER_STORE_TOKEN", "s3cret"),
    ];

    #[test]
    fn absent_means_world_of_one() {
        let e = env(&[]).unwrap();
        assert_eq!(e, DistEnv::standalone());
        assert!(!e.must_host_store());
    }

    #[test]
    fn full_torchrun_contract_round_trips() {
        let mut pairs = FULL.to_vec();
        pairs.extend([
            ("TORCHELASTIC_RESTART_COUNT", "2"),
            ("TORCHELASTIC_MAX_RESTARTS", "3"),
            ("TORCHELASTIC_RUN_ID", "job7"),
        ]);
        let e = env(&pairs).unwrap();
        assert_eq!(
            (
                e.rank,
                e.local_rank,
                e.world_size,
                e.local_world_size,
                e.group_rank
            ),
            (3, 1, 4, 2, 1)
        );
        assert_eq!(
            e.store,
            Some(MasterAddr {
                host: "node01".into(),
                port: 29500
            })
        );
        assert_eq!(
            e.torch_master, e.store,
            "a hand-made setup: MASTER_* is the store"
        );
        assert_eq!(
            (e.restart_count, e.max_restarts, e.run_id.as_str()),
            (2, 3, "job7")
        );
        assert_eq!(e.source, EnvSource::Torchrun);
        let vars: HashMap<String, String> = e
            .to_vars()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(DistEnv::from_map(&vars).unwrap(), e);
    }

    #[test]
    fn rank_not_below_world_is_named() {
        let err = env(&[("RANK", "4"), ("WORLD_SIZE", "4")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("RANK=\"4\"") && err.contains("WORLD_SIZE=4"),
            "{err}"
        );
    }

    #[test]
    fn non_numeric_is_named() {
        let err = env(&[("RANK", "one"), ("WORLD_SIZE", "2")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "environment variable RANK=\"one\": not a non-negative integer"
        );
        let mut pairs = FULL.to_vec();
        pairs[6] = ("MASTER_PORT", "70000");
        let err = env(&pairs).unwrap_err().to_string();
        assert!(
            err.starts_with("environment variable MASTER_PORT=\"70000\""),
            "{err}"
        );
    }

    #[test]
    fn missing_master_addr_when_world_above_one() {
        let err = env(&[
            ("RANK", "0"),
            ("WORLD_SIZE", "2"),
            ("RANKER_STORE_TOKEN", "t"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("environment variable MASTER_ADDR is not set"),
            "{err}"
        );
        let err = env(&[("RANK", "0"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "h")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("environment variable MASTER_PORT is not set"),
            "{err}"
        );
    }

    #[test]
    fn missing_token_when_world_above_one() {
        let pairs: Vec<_> = FULL
            .iter()
            .copied()
            .filter(|(k, _)| *k != "RANKER_STORE_TOKEN")
            .collect();
        let err = env(&pairs).unwrap_err().to_string();
        assert!(
            err.starts_with("environment variable RANKER_STORE_TOKEN is not set"),
            "{err}"
        );
    }

    #[test]
    fn rank_without_world_and_world_without_rank() {
        let err = env(&[("RANK", "0")]).unwrap_err().to_string();
        assert!(
            err.starts_with("environment variable WORLD_SIZE is not set"),
            "{err}"
        );
        let err = env(&[("WORLD_SIZE", "3")]).unwrap_err().to_string();
        assert!(
            err.starts_with("environment variable RANK is not set"),
            "{err}"
        );
        assert_eq!(env(&[("WORLD_SIZE", "1")]).unwrap().world_size, 1);
        let err = env(&[("RANK", "0"), ("WORLD_SIZE", "0")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("WORLD_SIZE=\"0\": must be at least 1"),
            "{err}"
        );
    }

    #[test]
    fn local_rank_checks() {
        let mut pairs = FULL.to_vec();
        pairs[1] = ("LOCAL_RANK", "2");
        let err = env(&pairs).unwrap_err().to_string();
        assert!(
            err.contains("LOCAL_RANK=\"2\": must be below LOCAL_WORLD_SIZE=2"),
            "{err}"
        );
        let mut pairs = FULL.to_vec();
        pairs[3] = ("LOCAL_WORLD_SIZE", "8");
        assert!(env(&pairs)
            .unwrap_err()
            .to_string()
            .contains("LOCAL_WORLD_SIZE=\"8\""));
    }

    #[test]
    fn defaults_for_partial_manual_setup() {
        let e = env(&[
            ("RANK", "1"),
            ("WORLD_SIZE", "2"),
            ("MASTER_ADDR", "127.0.0.1"),
            ("MASTER_PORT", "1234"),
            ("RANKER_STORE_TOKEN", "t"),
        ])
        .unwrap();
        assert_eq!((e.local_rank, e.local_world_size, e.group_rank), (1, 2, 0));
    }

    #[test]
    fn open_mpi_and_pmi_fallbacks() {
        let e = env(&[
            ("OMPI_COMM_WORLD_RANK", "5"),
            ("OMPI_COMM_WORLD_SIZE", "8"),
            ("OMPI_COMM_WORLD_LOCAL_RANK", "1"),
            ("OMPI_COMM_WORLD_LOCAL_SIZE", "4"),
            ("MASTER_ADDR", "h"),
            ("MASTER_PORT", "1"),
            ("RANKER_STORE_TOKEN", "t"),
        ])
        .unwrap();
        assert_eq!(
            (
                e.rank,
                e.local_rank,
                e.world_size,
                e.local_world_size,
                e.group_rank
            ),
            (5, 1, 8, 4, 1)
        );
        assert_eq!(e.source, EnvSource::OpenMpi);
        let e = env(&[("PMI_RANK", "0"), ("PMI_SIZE", "1")]).unwrap();
        assert_eq!(e.source, EnvSource::Pmi);
        // torchrun names take precedence over MPI names.
        let e = env(&[
            ("RANK", "0"),
            ("WORLD_SIZE", "1"),
            ("PMI_RANK", "3"),
            ("PMI_SIZE", "4"),
        ])
        .unwrap();
        assert_eq!(
            (e.rank, e.world_size, e.source),
            (0, 1, EnvSource::Torchrun)
        );
    }

    #[test]
    fn host_store_flag() {
        let mut pairs = FULL.to_vec();
        pairs.push(("RANKER_HOST_STORE", "1"));
        pairs[0] = ("RANK", "0");
        pairs[1] = ("LOCAL_RANK", "0");
        pairs[4] = ("GROUP_RANK", "0");
        let e = env(&pairs).unwrap();
        assert_eq!(e.store_host, StoreHost::Rank0);
        assert!(e.must_host_store());
        pairs.pop();
        pairs.push(("RANKER_HOST_STORE", "maybe"));
        assert!(env(&pairs)
            .unwrap_err()
            .to_string()
            .contains("RANKER_HOST_STORE=\"maybe\""));
    }

    #[test]
    fn store_vars_take_precedence_over_master() {
        let mut pairs = FULL.to_vec();
        pairs.extend([
            ("RANKER_STORE_ADDR", "node01"),
            ("RANKER_STORE_PORT", "40000"),
        ]);
        let e = env(&pairs).unwrap();
        assert_eq!(e.store.as_ref().map(|s| s.port), Some(40000));
        assert_eq!(e.torch_master.as_ref().map(|s| s.port), Some(29500));
        let vars: HashMap<String, String> = e
            .to_vars()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(vars["MASTER_PORT"], "29500");
        assert_eq!(vars["RANKER_STORE_PORT"], "40000");
        assert_eq!(DistEnv::from_map(&vars).unwrap(), e);
        // Only the store given: no torch endpoint is invented.
        let pairs: Vec<_> = FULL
            .iter()
            .copied()
            .filter(|(k, _)| !k.starts_with("MASTER_"))
            .chain([("RANKER_STORE_ADDR", "n"), ("RANKER_STORE_PORT", "7")])
            .collect();
        let e = env(&pairs).unwrap();
        assert_eq!((e.store.map(|s| s.port), e.torch_master), (Some(7), None));
        let mut pairs = FULL.to_vec();
        pairs.push(("RANKER_STORE_ADDR", "n"));
        assert!(env(&pairs)
            .unwrap_err()
            .to_string()
            .starts_with("environment variable RANKER_STORE_PORT is not set"));
    }

    /// One `launch` per node: every GPU visible, worker `LOCAL_RANK` takes device `LOCAL_RANK`.
    #[test]
    fn cuda_device_per_node_binding() {
        let mut pairs = FULL.to_vec(); // LOCAL_RANK 1 of 2
        assert_eq!(env(&pairs).unwrap().cuda_device, 1);
        pairs.push(("CUDA_VISIBLE_DEVICES", "0,1"));
        assert_eq!(env(&pairs).unwrap().cuda_device, 1);
        pairs.pop();
        pairs.push(("CUDA_VISIBLE_DEVICES", "4,5,6,7"));
        assert_eq!(env(&pairs).unwrap().cuda_device, 1);
    }

    /// Slurm per-task mode with `--gpus-per-task=1`: task `SLURM_LOCALID` 3 sees only its own GPU (physical 3,
    /// renumbered 0 by CUDA), so it must use device 0, not 3.
    #[test]
    fn cuda_device_per_task_binding() {
        let e = env(&[
            ("RANK", "7"),
            ("LOCAL_RANK", "3"),
            ("WORLD_SIZE", "8"),
            ("LOCAL_WORLD_SIZE", "4"),
            ("RANKER_STORE_ADDR", "gpu01"),
            ("RANKER_STORE_PORT", "15001"),
            ("RANKER_STORE_TOKEN", "t"),
            ("CUDA_VISIBLE_DEVICES", "3"),
        ])
        .unwrap();
        assert_eq!((e.local_rank, e.cuda_device), (3, 0));
        // UUID form, as some Slurm versions export it.
        assert_eq!(cuda_device(5, Some("GPU-8f2a")).unwrap(), 0);
        // Two GPUs for four local ranks: the binding is inconsistent and said so.
        let err = cuda_device(3, Some("0,1")).unwrap_err().to_string();
        assert!(
            err.contains("CUDA_VISIBLE_DEVICES=\"0,1\"") && err.contains("LOCAL_RANK is 3"),
            "{err}"
        );
        // No GPU visible (a CPU job): never an error.
        assert_eq!(cuda_device(3, Some("")).unwrap(), 0);
        assert_eq!(cuda_device(3, Some("-1")).unwrap(), 0);
    }

    #[test]
    fn ipv6_master_display() {
        let m = MasterAddr {
            host: "::1".into(),
            port: 80,
        };
        assert_eq!(m.to_string(), "[::1]:80");
    }
}
