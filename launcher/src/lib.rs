//! `launch`: starts one worker process per GPU (or CPU slot) on each node, hosts the rendezvous store, and
//! supervises the workers like torchrun, with the failure modes torchrun users complain about fixed.
//!
//! It does not train anything and does not know what the workers do: by default each runs `ranker run CONFIG`,
//! with `-- CMD ARGS…` any command.
//!
//! # Theory of Operation
//!
//! **Planning.** [`args::LaunchArgs`] is what the user typed. [`plan::build_plan`] combines it with
//! [`plan::HostFacts`] (environment, GPUs, CPU affinity, host name; gathered once by [`host::gather`]) into a
//! validated [`plan::LaunchPlan`]. It is a pure function with unit tests; nothing is spawned before it succeeded.
//! Under Slurm the defaults come from `SLURM_*` ([`slurm`]): one `launch` per node (per-node mode) supervises
//! that node's workers; one task per GPU (per-task mode) makes `launch` set the env contract and run the worker as
//! its only child ([`pertask`]), and rank 0's worker then hosts the store itself (`RANKER_HOST_STORE=1`).
//!
//! **Rendezvous.** Node 0 binds the store (single node: `127.0.0.1:0`, so the OS picks a free port and the
//! listener stays open: no reserve-then-bind race; multi-node: `0.0.0.0:master_port`). Every launcher connects
//! with the job token (`RANKER_STORE_TOKEN`, generated on a single node). For each attempt the nodes register
//! their worker counts and node 0 assigns base ranks (torchrun's scheme); see [`rendezvous`].
//!
//! **Supervision.** All handled signals (`CHLD INT TERM HUP QUIT USR1 USR2`) are blocked before any thread exists
//! and collected by one `sigwait` thread, which turns them into events; the failure watcher (a blocking store
//! wait on `launch/{attempt}/failed`) adds failures of other nodes. The supervisor loop dispatches each event to
//! one method; nothing polls. Each worker runs in its own process group with `PR_SET_PDEATHSIG=SIGKILL` (set
//! between fork and exec, with a `getppid` check for the race), so killing `launch` with SIGKILL kills its
//! workers. `launch` is `PR_SET_CHILD_SUBREAPER`: orphaned grandchildren are re-parented to it and reaped.
//!
//! **Teardown.** The first worker that exits non-zero (or dies by a signal) starts the teardown at once: the
//! failure is published to the store (every other node's watcher wakes and tears down too), SIGTERM goes to each
//! worker's process group, and after `--term-timeout` SIGKILL. At the end of every attempt whatever is left in
//! the workers' process groups, and any re-parented orphan, is SIGKILLed. `INT/TERM/HUP/QUIT` are forwarded to
//! every worker group and end the job (a second one escalates to SIGKILL at once); `USR1/USR2` are forwarded
//! without teardown (Slurm's pre-timeout signal: the workers checkpoint and exit 75, `STOPPED_FOR_REQUEUE`; when
//! every worker ended with 0 or 75 and one with 75, `launch` exits 75 so that the batch script requeues and Slurm
//! does not record a finished job; no restart).
//!
//! **Restarts.** With `--max-restarts K` a failed attempt is followed by a new one with
//! `TORCHELASTIC_RESTART_COUNT` incremented, after a fresh rank assignment; workers resume from their latest
//! checkpoint. Signals never restart.
//!
//! **Output.** Each worker's stdout and stderr are pipes read by pump threads: lines go to the console with a
//! `[host:rN] ` prefix, written whole under one lock (never broken mid-line; lines over 1 MiB are cut into
//! prefixed pieces; a last line without newline is kept), to `--log-dir/attempt_<k>/rank_<r>/{stdout,stderr}.log`
//! unchanged, and the last 20 stderr lines are kept for the failure summary. `--ranks-filter` limits the console.
//!
//! **Summary and exit code.** On failure a table lists rank, host, pid, exit code or signal, and who ended it:
//! itself, the launcher, the OOM killer (a SIGKILL we did not send while the cgroup v2 `memory.events`
//! `oom_kill` counter rose — best effort, cgroup v1 is not read), or an outside signal; then the first failing
//! rank's stderr tail. The exit code follows srun: the highest exit code (or 128 + signal) among ranks that ended
//! by themselves; 128 + signal when a signal stopped the job.

pub mod args;
pub mod host;
pub mod pertask;
pub mod plan;
pub mod rendezvous;
pub mod slurm;
pub mod supervisor;

use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;

use anyhow::{Context, Result};
use ranker_dist::FailureRecord;

use crate::args::LaunchArgs;
use crate::plan::{LaunchPlan, SupervisePlan};
use crate::rendezvous::Rendezvous;
use crate::supervisor::logs::Console;
use crate::supervisor::{run_attempt, AttemptOutcome, AttemptSpec, Control, Event, WorkerSpec};

/// Parses the command line, plans, and runs. Returns the process exit code.
pub fn run() -> Result<u8> {
    let args = LaunchArgs::parse_argv(std::env::args_os()).unwrap_or_else(|e| e.exit());
    let facts = host::gather();
    let planned = plan::build_plan(&args, &facts)?;
    let console = Arc::new(Console::default());
    for w in &planned.warnings {
        console.say(&format!("warning: {w}"));
    }
    match planned.plan {
        LaunchPlan::PerTask(p) => pertask::run(&p),
        LaunchPlan::Supervise(p) => {
            let result = supervise(&p, &console);
            if p.error_dir_is_temp {
                let _ = std::fs::remove_dir_all(&p.error_dir);
            }
            result
        }
    }
}

struct StoreControl<'a> {
    rendezvous: &'a Rendezvous,
    attempt: u32,
    node_rank: usize,
    console: &'a Console,
}

impl Control for StoreControl<'_> {
    fn local_failure(&self, record: &FailureRecord) {
        let record = FailureRecord {
            node: self.node_rank,
            ..record.clone()
        };
        if let Err(e) = self.rendezvous.publish_failure(self.attempt, &record) {
            self.console.say(&format!(
                "could not publish the failure to the other nodes: {e:#}"
            ));
        }
    }
}

fn supervise(plan: &SupervisePlan, console: &Arc<Console>) -> Result<u8> {
    supervisor::block_handled().context("blocking signals")?;
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer flag.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        console.say(&format!(
            "warning: cannot become child subreaper: {}",
            std::io::Error::last_os_error()
        ));
    }
    let (tx, rx) = mpsc::channel();
    supervisor::spawn_intake(tx.clone()).context("starting the signal thread")?;
    let refusal_console = Arc::clone(console);
    let on_refused: ranker_dist::store::RefusalHook = Arc::new(move |peer| {
        refusal_console.say(&format!(
            "refused a store connection from {peer}: wrong job token (RANKER_STORE_TOKEN)"
        ));
    });
    let rendezvous = Rendezvous::start(plan, on_refused)?;
    let mut attempt = 0u32;
    loop {
        let ranks = rendezvous.assign_ranks(attempt, plan.nproc, plan.rdzv_timeout)?;
        let (base, world) = (ranks.base, ranks.world);
        let watcher = rendezvous.watch(attempt, tx.clone())?;
        let log_dir = plan
            .log_dir
            .as_ref()
            .map(|d| d.join(format!("attempt_{attempt}")));
        if let (Some(root), Some(_)) = (&plan.log_dir, &log_dir) {
            link_latest(root, attempt);
        }
        console.say(&format!(
            "attempt {attempt}: ranks {base}..{} of {world} on {} (node {}/{}), store {}:{}, MASTER_PORT {}",
            base + plan.nproc,
            plan.host,
            plan.node_rank,
            plan.nnodes,
            plan.store.host,
            rendezvous.port(),
            ranks.torch_port
        ));
        let filter = plan.console_filter.clone();
        let spec = AttemptSpec {
            attempt,
            workers: (0..plan.nproc)
                .map(|local| WorkerSpec {
                    rank: base + local,
                    command: plan.command.clone(),
                    env: plan.worker_env(local, &ranks, attempt, rendezvous.port()),
                    error_file: Some(plan.error_file(attempt, base + local)),
                })
                .collect(),
            host: plan.host.clone(),
            term_timeout: plan.term_timeout,
            log_dir,
            shows: Box::new(move |rank| filter.as_ref().is_none_or(|f| f.shows(rank))),
        };
        let control = StoreControl {
            rendezvous: &rendezvous,
            attempt,
            node_rank: plan.node_rank,
            console,
        };
        let outcome = run_attempt(spec, &rx, console, &control)?;
        watcher.stop();
        let pending_signal = drain_between_attempts(&rx);
        let success = matches!(outcome, AttemptOutcome::Succeeded);
        if let Err(e) = rendezvous.finish(attempt, success) {
            console.say(&format!("{e:#}"));
        }
        match outcome {
            AttemptOutcome::Succeeded => return Ok(0),
            AttemptOutcome::StoppedForRequeue => {
                return Ok(exit_byte(ranker_dist::signals::STOPPED_FOR_REQUEUE))
            }
            AttemptOutcome::Interrupted { signal } => return Ok(exit_byte(128 + signal)),
            AttemptOutcome::Failed { exit_code, cause } => {
                if let Some(sig) = pending_signal {
                    return Ok(exit_byte(128 + sig));
                }
                if attempt >= plan.max_restarts {
                    return Ok(exit_byte(exit_code));
                }
                attempt += 1;
                console.say(&format!(
                    "restarting the worker group (restart {attempt}/{}) after: {cause}",
                    plan.max_restarts
                ));
            }
        }
    }
}

/// Drops stale events of the finished attempt; returns a terminating signal that arrived meanwhile.
fn drain_between_attempts(rx: &Receiver<Event>) -> Option<libc::c_int> {
    let mut terminating = None;
    while let Ok(ev) = rx.try_recv() {
        if let Event::Signal(sig @ (libc::SIGINT | libc::SIGTERM | libc::SIGHUP | libc::SIGQUIT)) =
            ev
        {
            terminating = Some(sig);
        }
    }
    terminating
}

fn exit_byte(code: i32) -> u8 {
    code.clamp(0, 255) as u8
}

/// Points `<log_dir>/latest` at the current attempt's directory (best effort).
fn link_latest(root: &std::path::Path, attempt: u32) {
    let link = root.join("latest");
    let _ = std::fs::create_dir_all(root);
    let _ = std::fs::remove_file(&link);
    let _ = std::os::unix::fs::symlink(format!("attempt_{attempt}"), &link);
}
