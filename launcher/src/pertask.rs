//! Slurm per-task mode: Slurm already started one task per rank, so `launch` only translates `SLURM_*` into the
//! env contract (with `RANKER_HOST_STORE=1`: rank 0's worker hosts the store) and execs the worker in place.

use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::{bail, Result};

use crate::plan::PerTaskPlan;

/// Replaces this process with the worker. Returns only on failure.
pub fn exec(plan: &PerTaskPlan) -> Result<()> {
    let Some((program, args)) = plan.command.split_first() else {
        bail!("empty worker command")
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(plan.env.to_vars())
        .envs(plan.extra_env.iter().map(|(k, v)| (k, v)));
    let err = cmd.exec();
    bail!("exec {program:?} for rank {}: {err}", plan.env.rank)
}
