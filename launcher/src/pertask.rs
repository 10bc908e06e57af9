//! Slurm per-task mode: Slurm already started one task per rank, so `launch` translates `SLURM_*` into the env
//! contract (with `RANKER_HOST_STORE=1`: rank 0's worker hosts the store) and runs the worker as its only child.
//!
//! It stays the worker's parent instead of `exec`ing it for one reason: srun reports the highest exit code of its
//! tasks, so when one rank fails with 3 and srun then terminates the others (SIGTERM, `--kill-on-bad-exit`), their
//! 143 would hide the 3. A worker that ends because launch forwarded it a terminating signal makes launch exit 1,
//! which never outranks a real failure. slurmstepd signals every process of the step at once, so a worker that
//! dies of SIGTERM before launch has seen its own SIGTERM counts as terminated when that signal follows shortly. Signals are forwarded; SIGUSR1/SIGUSR2 wait for the worker's handler (a
//! signal right after the start would otherwise kill it).

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::plan::PerTaskPlan;
use crate::supervisor::{self, signal_name, Event};

/// Exit code of a worker that a forwarded terminating signal ended (see the module docs).
pub const TERMINATED_EXIT: u8 = 1;

/// How long a worker's death by SIGTERM/SIGINT/SIGHUP waits for launch's own copy of a step-wide teardown signal.
const TEARDOWN_WINDOW: Duration = Duration::from_millis(500);

fn is_terminating(sig: libc::c_int) -> bool {
    matches!(sig, libc::SIGTERM | libc::SIGINT | libc::SIGHUP)
}

/// The first terminating signal that reaches launch within `window`, if any.
fn terminating_signal_within(rx: &mpsc::Receiver<Event>, window: Duration) -> Option<libc::c_int> {
    let deadline = Instant::now() + window;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match rx.recv_timeout(left) {
            Ok(Event::Signal(sig)) if is_terminating(sig) => return Some(sig),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

/// Runs the worker to completion; returns launch's exit code.
pub fn run(plan: &PerTaskPlan) -> Result<u8> {
    let Some((program, args)) = plan.command.split_first() else {
        bail!("empty worker command")
    };
    supervisor::block_handled().context("blocking signals")?;
    let (tx, rx) = mpsc::channel();
    supervisor::spawn_intake(tx).context("starting the signal thread")?;
    // SAFETY: getpid has no preconditions.
    let launcher_pid = unsafe { libc::getpid() };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(plan.env.to_vars())
        .envs(plan.extra_env.iter().map(|(k, v)| (k, v)));
    // SAFETY: only async-signal-safe calls between fork and exec (as in supervisor::spawn).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != launcher_pid {
                libc::raise(libc::SIGKILL);
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {program:?} for rank {}", plan.env.rank))?;
    let pid = child.id() as i32;
    let started = Instant::now();
    let mut terminating: Option<libc::c_int> = None;
    loop {
        let Ok(Event::Signal(sig)) = rx.recv() else {
            continue;
        };
        match sig {
            libc::SIGCHLD => {
                let mut status = 0;
                // SAFETY: status is a valid out-pointer; WNOHANG never blocks.
                if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } != pid {
                    continue;
                }
                if libc::WIFEXITED(status) {
                    return Ok(libc::WEXITSTATUS(status) as u8);
                }
                let by = libc::WTERMSIG(status);
                if terminating.is_none() && is_terminating(by) {
                    // slurmstepd tears a step down by signalling every process in it, so the worker may die
                    // before our own copy of the signal has reached this loop.
                    terminating = terminating_signal_within(&rx, TEARDOWN_WINDOW);
                }
                if let Some(ours) = terminating {
                    eprintln!(
                        "launch: rank {} stopped by {} (forwarded {}: another task failed, or the job was \
                         cancelled); exit {TERMINATED_EXIT}",
                        plan.env.rank,
                        signal_name(by),
                        signal_name(ours)
                    );
                    return Ok(TERMINATED_EXIT);
                }
                return Ok((128 + by).clamp(0, 255) as u8);
            }
            libc::SIGUSR1 | libc::SIGUSR2 => {
                crate::supervisor::wait_for_handler(pid, sig, started + Duration::from_secs(5));
                // SAFETY: plain kill of our child.
                unsafe { libc::kill(pid, sig) };
            }
            _ => {
                terminating = Some(sig);
                // SAFETY: plain kill of our child.
                unsafe { libc::kill(pid, sig) };
            }
        }
    }
}
