//! Reading the `SLURM_*` environment: which mode we are in and the topology it implies.

use super::hostlist::{self, HostlistError};

/// How Slurm started us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlurmMode {
    /// One `launch` per node (`srun --ntasks-per-node=1 launch …`, or directly in the batch script on one node):
    /// `launch` supervises the node's workers.
    PerNode,
    /// One task per GPU (`srun --ntasks-per-node=8 launch …`): Slurm spawned the ranks, `launch` only sets the env
    /// contract and execs the worker.
    PerTask,
}

/// What the Slurm environment says about this job step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmInfo {
    /// The mode (see [`SlurmMode`]).
    pub mode: SlurmMode,
    /// `SLURM_JOB_ID` (or `ARRAYJOB_TASK` for array jobs): the run id.
    pub run_id: String,
    /// Numeric job id (for the port).
    pub job_id: u64,
    /// Hosts of the step (or job), in order.
    pub hosts: Vec<String>,
    /// Nodes taking part in this step.
    pub nnodes: usize,
    /// This node's index.
    pub node_rank: usize,
    /// `SLURM_PROCID`.
    pub procid: usize,
    /// `SLURM_LOCALID`.
    pub localid: usize,
    /// Tasks in the step.
    pub ntasks: usize,
    /// Tasks on each node of the step.
    pub tasks_per_node: Vec<usize>,
    /// GPUs on this node (`SLURM_GPUS_ON_NODE`, else the length of `SLURM_STEP_GPUS`/`SLURM_JOB_GPUS`).
    pub gpus_on_node: Option<usize>,
    /// `SLURM_CPUS_PER_TASK`.
    pub cpus_per_task: Option<usize>,
}

/// A `SLURM_*` value we cannot use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SlurmError {
    /// A variable is malformed.
    #[error("environment variable {var}={value:?}: {reason}")]
    Invalid {
        /// Name.
        var: &'static str,
        /// Raw value.
        value: String,
        /// Why it is unusable.
        reason: String,
    },
    /// The node list does not parse.
    #[error("environment variable {var}")]
    Hostlist {
        /// Name.
        var: &'static str,
        /// The parse error.
        #[source]
        source: HostlistError,
    },
}

/// `MASTER_PORT` for a Slurm per-task job: `15000 + job_id % 10000` (Lightning's rule), so every task derives the
/// same port without talking and two jobs on one node rarely clash. A PyTorch rank 0 binds it.
pub fn port_for_job(job_id: u64) -> u16 {
    15000 + (job_id % 10000) as u16
}

/// Port of llm-ranker's rendezvous store under Slurm (per-node mode: node 0's `launch` hosts it; per-task mode:
/// rank 0's worker): `25000 + job % 7000`, a
/// range apart from [`port_for_job`] (handed to PyTorch programs as `MASTER_PORT`) and below Linux's ephemeral
/// ports (32768 and up).
pub fn store_port_for_job(job_id: u64) -> u16 {
    25000 + (job_id % 7000) as u16
}

/// Parses `SLURM_TASKS_PER_NODE`-style lists: `8(x4),4` → `[8, 8, 8, 8, 4]`.
pub fn parse_tasks_per_node(value: &str) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (count, repeat) = match item.split_once("(x") {
            Some((c, rest)) => {
                let r = rest
                    .strip_suffix(')')
                    .ok_or_else(|| format!("{item:?}: missing ')'"))?;
                (
                    c,
                    r.parse::<usize>()
                        .map_err(|_| format!("{item:?}: repeat {r:?} is not a number"))?,
                )
            }
            None => (item, 1),
        };
        let count = count
            .parse::<usize>()
            .map_err(|_| format!("{item:?}: {count:?} is not a number"))?;
        out.extend(std::iter::repeat_n(count, repeat));
    }
    if out.is_empty() {
        return Err("no task counts".into());
    }
    Ok(out)
}

/// Reads the Slurm environment through `get`. `Ok(None)` when not inside a Slurm job.
pub fn detect(get: &impl Fn(&str) -> Option<String>) -> Result<Option<SlurmInfo>, SlurmError> {
    let Some(job) = get("SLURM_JOB_ID").or_else(|| get("SLURM_JOBID")) else {
        return Ok(None);
    };
    let job_id = parse_num("SLURM_JOB_ID", &job)? as u64;
    let run_id = match (get("SLURM_ARRAY_JOB_ID"), get("SLURM_ARRAY_TASK_ID")) {
        (Some(a), Some(t)) => format!("{a}_{t}"),
        _ => job.clone(),
    };
    // Inside an srun step the STEP_* names describe the step; in the batch script only the job's exist, and
    // `launch` runs on the first node alone.
    let in_step = get("SLURM_STEP_ID").is_some() || get("SLURM_STEPID").is_some();
    let (nodelist_var, nodelist) = [
        ("SLURM_STEP_NODELIST", in_step),
        ("SLURM_JOB_NODELIST", true),
        ("SLURM_NODELIST", true),
    ]
    .into_iter()
    .filter(|(_, ok)| *ok)
    .find_map(|(v, _)| get(v).map(|val| (v, val)))
    .unwrap_or(("SLURM_JOB_NODELIST", String::new()));
    let hosts = hostlist::expand(&nodelist).map_err(|source| SlurmError::Hostlist {
        var: nodelist_var,
        source,
    })?;
    let opt_num = |var: &'static str| get(var).map(|v| parse_num(var, &v)).transpose();
    let nnodes = if in_step {
        opt_num("SLURM_STEP_NUM_NODES")?
            .or(opt_num("SLURM_NNODES")?)
            .unwrap_or(1)
    } else {
        1
    };
    let ntasks = if in_step {
        opt_num("SLURM_STEP_NUM_TASKS")?
            .or(opt_num("SLURM_NTASKS")?)
            .unwrap_or(1)
    } else {
        1
    };
    let tasks_var = if in_step {
        "SLURM_STEP_TASKS_PER_NODE"
    } else {
        "SLURM_TASKS_PER_NODE"
    };
    let tasks_per_node = match get(tasks_var).or_else(|| get("SLURM_TASKS_PER_NODE")) {
        Some(v) if in_step => parse_tasks_per_node(&v).map_err(|reason| SlurmError::Invalid {
            var: "SLURM_STEP_TASKS_PER_NODE",
            value: v.clone(),
            reason,
        })?,
        _ => vec![ntasks.div_ceil(nnodes.max(1)); nnodes],
    };
    let node_rank = if in_step {
        opt_num("SLURM_NODEID")?.unwrap_or(0)
    } else {
        0
    };
    let procid = if in_step {
        opt_num("SLURM_PROCID")?.unwrap_or(0)
    } else {
        0
    };
    let localid = if in_step {
        opt_num("SLURM_LOCALID")?.unwrap_or(0)
    } else {
        0
    };
    let gpus_on_node = match opt_num("SLURM_GPUS_ON_NODE")? {
        Some(n) => Some(n),
        None => ["SLURM_STEP_GPUS", "SLURM_JOB_GPUS", "GPU_DEVICE_ORDINAL"]
            .iter()
            .find_map(|v| get(v))
            .map(|list| list.split(',').filter(|s| !s.trim().is_empty()).count()),
    };
    let cpus_per_task = opt_num("SLURM_CPUS_PER_TASK")?;
    let mode = if in_step && ntasks > nnodes {
        SlurmMode::PerTask
    } else {
        SlurmMode::PerNode
    };
    if node_rank >= nnodes.max(1) {
        return Err(SlurmError::Invalid {
            var: "SLURM_NODEID",
            value: node_rank.to_string(),
            reason: format!("not below the step's {nnodes} nodes"),
        });
    }
    Ok(Some(SlurmInfo {
        mode,
        run_id,
        job_id,
        hosts,
        nnodes,
        node_rank,
        procid,
        localid,
        ntasks,
        tasks_per_node,
        gpus_on_node,
        cpus_per_task,
    }))
}

fn parse_num(var: &'static str, value: &str) -> Result<usize, SlurmError> {
    value
        .trim()
        .parse::<usize>()
        .map_err(|_| SlurmError::Invalid {
            var,
            value: value.to_string(),
            reason: "not a non-negative integer".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn detect_from(pairs: &[(&str, &str)]) -> Result<Option<SlurmInfo>, SlurmError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        detect(&|k: &str| map.get(k).cloned())
    }

    #[test]
    fn tasks_per_node_forms() {
        assert_eq!(parse_tasks_per_node("8(x4)").unwrap(), [8, 8, 8, 8]);
        assert_eq!(parse_tasks_per_node("2(x2),1").unwrap(), [2, 2, 1]);
        assert_eq!(parse_tasks_per_node("4").unwrap(), [4]);
        assert!(parse_tasks_per_node("8(x4")
            .unwrap_err()
            .contains("missing ')'"));
        assert!(parse_tasks_per_node("a")
            .unwrap_err()
            .contains("not a number"));
        assert!(parse_tasks_per_node("").is_err());
    }

    #[test]
    fn port_from_job_id() {
        assert_eq!(port_for_job(123_456), 18456);
        assert_eq!(port_for_job(7), 15007);
        assert_eq!(store_port_for_job(123_456), 25000 + 4456);
        assert_eq!(store_port_for_job(6999), 31999);
    }

    #[test]
    fn outside_slurm() {
        assert!(detect_from(&[]).unwrap().is_none());
    }

    #[test]
    fn batch_script_is_one_node_per_node_mode() {
        let info = detect_from(&[
            ("SLURM_JOB_ID", "42"),
            ("SLURM_JOB_NODELIST", "gpu[01-02]"),
            ("SLURM_NNODES", "2"),
            ("SLURM_GPUS_ON_NODE", "8"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(info.mode, SlurmMode::PerNode);
        assert_eq!((info.nnodes, info.node_rank), (1, 0));
        assert_eq!(info.hosts, ["gpu01", "gpu02"]);
        assert_eq!(info.gpus_on_node, Some(8));
    }

    #[test]
    fn srun_one_task_per_node() {
        let info = detect_from(&[
            ("SLURM_JOB_ID", "1001"),
            ("SLURM_STEP_ID", "0"),
            ("SLURM_STEP_NODELIST", "n[3-4]"),
            ("SLURM_STEP_NUM_NODES", "2"),
            ("SLURM_STEP_NUM_TASKS", "2"),
            ("SLURM_STEP_TASKS_PER_NODE", "1(x2)"),
            ("SLURM_NODEID", "1"),
            ("SLURM_PROCID", "1"),
            ("SLURM_STEP_GPUS", "0,1,2,3"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(info.mode, SlurmMode::PerNode);
        assert_eq!(
            (info.nnodes, info.node_rank, info.gpus_on_node),
            (2, 1, Some(4))
        );
        assert_eq!(info.hosts[0], "n3");
    }

    #[test]
    fn srun_one_task_per_gpu() {
        let info = detect_from(&[
            ("SLURM_JOB_ID", "77"),
            ("SLURM_ARRAY_JOB_ID", "70"),
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_STEP_ID", "0"),
            ("SLURM_STEP_NODELIST", "a[1-2]"),
            ("SLURM_STEP_NUM_NODES", "2"),
            ("SLURM_STEP_NUM_TASKS", "8"),
            ("SLURM_STEP_TASKS_PER_NODE", "4(x2)"),
            ("SLURM_NODEID", "1"),
            ("SLURM_PROCID", "6"),
            ("SLURM_LOCALID", "2"),
            ("SLURM_CPUS_PER_TASK", "6"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(info.mode, SlurmMode::PerTask);
        assert_eq!((info.procid, info.localid, info.ntasks), (6, 2, 8));
        assert_eq!(info.tasks_per_node, [4, 4]);
        assert_eq!(info.run_id, "70_3");
        assert_eq!(info.cpus_per_task, Some(6));
    }

    #[test]
    fn bad_values_are_named() {
        let err = detect_from(&[("SLURM_JOB_ID", "x")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "environment variable SLURM_JOB_ID=\"x\": not a non-negative integer"
        );
        let err =
            detect_from(&[("SLURM_JOB_ID", "1"), ("SLURM_JOB_NODELIST", "n[1-")]).unwrap_err();
        assert!(
            format!("{err}: {}", std::error::Error::source(&err).unwrap())
                .contains("SLURM_JOB_NODELIST: hostlist")
        );
    }
}
