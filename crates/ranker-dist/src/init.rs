//! Building a worker's process group from the env contract.

use std::sync::Arc;
use std::time::Duration;

use crate::collective::{Collective, HostCollective, SingleCollective};
use crate::env::DistEnv;
use crate::error::DistError;
use crate::failure::{self, FailureRecord};
use crate::store::{StoreClient, StoreServer};

/// The `dist.backend` config value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// NCCL when the worker runs on a CUDA device and NCCL is usable, else the host ring.
    #[default]
    Auto,
    /// NCCL (needs the `nccl` feature, libcuda and libnccl).
    Nccl,
    /// The host TCP ring.
    Tcp,
}

impl std::str::FromStr for BackendChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(BackendChoice::Auto),
            "nccl" => Ok(BackendChoice::Nccl),
            "tcp" | "host" => Ok(BackendChoice::Tcp),
            other => Err(format!(
                "unknown dist backend {other:?} (expected auto, nccl or tcp)"
            )),
        }
    }
}

/// How to build the process group (the `dist` config section plus the trainer's device).
#[derive(Debug, Clone)]
pub struct DistOptions {
    /// Backend choice.
    pub backend: BackendChoice,
    /// Bound on every store call and every collective socket operation (`dist.timeout_s`).
    pub timeout: Duration,
    /// The CUDA device ordinal the worker computes on (`None`: CPU). `Auto` picks NCCL only when this is set.
    pub cuda_device: Option<usize>,
}

impl Default for DistOptions {
    fn default() -> Self {
        DistOptions {
            backend: BackendChoice::Auto,
            timeout: Duration::from_secs(300),
            cuda_device: None,
        }
    }
}

/// A worker's process group: its env, its store connection and its collective.
pub struct ProcessGroup {
    env: DistEnv,
    store: Option<Arc<StoreClient>>,
    // Kept alive for the process's lifetime when this rank hosts the store (Slurm per-task mode).
    server: Option<StoreServer>,
    collective: Box<dyn Collective>,
    timeout: Duration,
}

impl std::fmt::Debug for ProcessGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessGroup")
            .field("env", &self.env)
            .field("backend", &self.collective.backend())
            .field("hosts_store", &self.server.is_some())
            .finish()
    }
}

/// Reads the env contract from the process environment and builds the process group.
pub fn init_from_env(options: &DistOptions) -> Result<ProcessGroup, DistError> {
    init(DistEnv::from_process_env()?, options)
}

/// The store prefix of this attempt's worker keys (`w{restart_count}`), so restarts never see stale keys.
pub fn worker_prefix(env: &DistEnv) -> String {
    format!("w{}", env.restart_count)
}

/// Builds the process group for `env`: hosts the store if this rank must (per-task mode), connects to it,
/// and builds the collective.
pub fn init(env: DistEnv, options: &DistOptions) -> Result<ProcessGroup, DistError> {
    let timeout = options.timeout;
    let wants_nccl = match options.backend {
        BackendChoice::Nccl => true,
        BackendChoice::Tcp => false,
        BackendChoice::Auto => options.cuda_device.is_some() && nccl_usable(),
    };
    if env.world_size == 1 && !wants_nccl {
        return Ok(ProcessGroup {
            env,
            store: None,
            server: None,
            collective: Box::new(SingleCollective),
            timeout,
        });
    }
    // A world-size-1 NCCL run started without a launcher needs no store: the unique id stays local.
    let (store, server) = if env.world_size == 1 && env.store.is_none() {
        (None, None)
    } else {
        let (client, server) = connect_store(&env, timeout)?;
        (Some(client), server)
    };
    let prefix = worker_prefix(&env);
    let collective: Box<dyn Collective> = match (&store, wants_nccl) {
        (_, true) => nccl_collective(&env, store.as_ref(), &prefix, options)?,
        (Some(store), false) => {
            let token = env.store_token.clone().unwrap_or_default();
            Box::new(HostCollective::connect(
                store,
                &prefix,
                env.rank,
                env.world_size,
                &token,
                timeout,
            )?)
        }
        (None, false) => Box::new(SingleCollective),
    };
    Ok(ProcessGroup {
        env,
        store: store.map(Arc::new),
        server,
        collective,
        timeout,
    })
}

fn connect_store(
    env: &DistEnv,
    timeout: Duration,
) -> Result<(StoreClient, Option<StoreServer>), DistError> {
    let master = env.store.clone().ok_or_else(|| DistError::EnvMissing {
        var: crate::env::STORE_ADDR.to_string(),
        reason: "the chosen backend needs the store".into(),
    })?;
    let token = env.store_token.clone().unwrap_or_default();
    let server = if env.must_host_store() {
        // All interfaces: the store address is this host's name, which other nodes resolve to a routable address.
        Some(StoreServer::bind(
            &format!("0.0.0.0:{}", master.port),
            &token,
        )?)
    } else {
        None
    };
    let client = StoreClient::connect(&master.to_string(), &token, timeout)?;
    Ok((client, server))
}

#[cfg(feature = "nccl")]
fn nccl_usable() -> bool {
    crate::collective::NcclCollective::libraries_present()
}

#[cfg(not(feature = "nccl"))]
fn nccl_usable() -> bool {
    false
}

#[cfg(feature = "nccl")]
fn nccl_collective(
    env: &DistEnv,
    store: Option<&StoreClient>,
    prefix: &str,
    options: &DistOptions,
) -> Result<Box<dyn Collective>, DistError> {
    let device = options.cuda_device.unwrap_or(env.cuda_device);
    Ok(Box::new(crate::collective::NcclCollective::connect(
        store,
        prefix,
        env.rank,
        env.world_size,
        device,
        options.timeout,
    )?))
}

#[cfg(not(feature = "nccl"))]
fn nccl_collective(
    env: &DistEnv,
    _store: Option<&StoreClient>,
    _prefix: &str,
    _options: &DistOptions,
) -> Result<Box<dyn Collective>, DistError> {
    Err(DistError::BackendUnavailable {
        rank: env.rank,
        backend: "nccl",
        detail: "this binary was built without the `nccl` feature".into(),
    })
}

impl ProcessGroup {
    /// The env contract this group was built from.
    pub fn env(&self) -> &DistEnv {
        &self.env
    }

    /// This worker's global rank.
    pub fn rank(&self) -> usize {
        self.env.rank
    }

    /// Number of workers.
    pub fn world_size(&self) -> usize {
        self.env.world_size
    }

    /// The collective (all-reduce, broadcast, …).
    pub fn collective(&mut self) -> &mut dyn Collective {
        self.collective.as_mut()
    }

    /// The store connection (`None` for a lone worker that needs no store).
    pub fn store(&self) -> Option<&Arc<StoreClient>> {
        self.store.as_ref()
    }

    /// Whether this process hosts the store (rank 0 in Slurm per-task mode).
    pub fn hosts_store(&self) -> bool {
        self.server.is_some()
    }

    /// Publishes a fatal error of this worker on the failure channel so every node tears down now instead of
    /// waiting for a collective timeout. Best effort: without a store it does nothing.
    pub fn report_failure(&self, reason: &str) -> Result<(), DistError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let record = FailureRecord {
            rank: Some(self.env.rank),
            node: self.env.group_rank,
            host: hostname(),
            pid: Some(std::process::id()),
            exit: "error".into(),
            reason: reason.to_string(),
        };
        failure::publish_failure(store, self.env.restart_count, &record).map(|_| ())
    }

    /// Records progress (`step`) on the heartbeat channel. Without a store it does nothing.
    pub fn heartbeat(&self, step: u64) -> Result<(), DistError> {
        match &self.store {
            Some(store) => {
                failure::publish_heartbeat(store, self.env.restart_count, self.env.rank, step)
            }
            None => Ok(()),
        }
    }

    /// Ends the group cleanly: a final store barrier, so that a rank hosting the store outlives every client.
    /// Call it once at the end of a successful run.
    pub fn finish(self) -> Result<(), DistError> {
        if let Some(store) = &self.store {
            store.barrier(
                &format!("{}/exit", worker_prefix(&self.env)),
                0,
                self.env.world_size,
                self.timeout,
            )?;
        }
        Ok(())
    }
}

/// This machine's host name (`"localhost"` if it cannot be read).
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_choice_parses_config_values() {
        assert_eq!(
            "auto".parse::<BackendChoice>().unwrap(),
            BackendChoice::Auto
        );
        assert_eq!("tcp".parse::<BackendChoice>().unwrap(), BackendChoice::Tcp);
        assert_eq!(
            "nccl".parse::<BackendChoice>().unwrap(),
            BackendChoice::Nccl
        );
        assert!("gloo"
            .parse::<BackendChoice>()
            .unwrap_err()
            .contains("\"gloo\""));
    }

    #[test]
    fn standalone_needs_no_store() {
        let mut pg = init(DistEnv::standalone(), &DistOptions::default()).unwrap();
        assert!(pg.store().is_none());
        let mut v = vec![2.0f32];
        pg.collective()
            .all_reduce(&mut v, crate::ReduceOp::Mean)
            .unwrap();
        assert_eq!(v, [2.0]);
        pg.report_failure("nothing to report to").unwrap();
        pg.finish().unwrap();
    }

    #[test]
    fn hostname_is_not_empty() {
        assert!(!hostname().is_empty());
    }
}
