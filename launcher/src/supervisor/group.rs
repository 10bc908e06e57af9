//! One attempt of the worker group: spawn, watch, tear down, summarise.
//!
//! The loop only dispatches; each event has its own method. Worker exits come from `SIGCHLD` (reaped with
//! `waitpid(-1, WNOHANG)`, which also reaps grandchildren re-parented to us as child subreaper), failures of other
//! nodes from the store watcher, and signals from the intake thread.

use std::fs;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ranker_dist::signals::STOPPED_FOR_REQUEUE;
use ranker_dist::FailureRecord;

use super::event::{Event, StopReason};
use super::logs::{pump, Console, PumpTarget, RankOutput, Stream};
use super::signals::signal_name;
use super::spawn::{signal_group, spawn, WorkerSpec};
use super::summary::{oom_kill_count, render, EndedBy, ErrorFile, Row, Termination};

/// Lifecycle of one worker.
#[derive(Debug, Clone, Copy)]
pub enum WorkerState {
    /// Running since `started`.
    Running {
        /// Spawn time.
        started: Instant,
    },
    /// Ended.
    Exited {
        /// How.
        status: Termination,
        /// When.
        finished: Instant,
    },
}

struct Worker {
    rank: usize,
    pid: i32,
    error_file: Option<PathBuf>,
    state: WorkerState,
    signalled_by_us: bool,
    output: Arc<RankOutput>,
    pumps: Vec<JoinHandle<()>>,
}

/// What the caller provides for an attempt.
pub struct AttemptSpec {
    /// Attempt number (`TORCHELASTIC_RESTART_COUNT`).
    pub attempt: u32,
    /// One spec per local worker.
    pub workers: Vec<WorkerSpec>,
    /// Host name for prefixes and the summary.
    pub host: String,
    /// Grace between SIGTERM and SIGKILL.
    pub term_timeout: Duration,
    /// Log directory of this attempt.
    pub log_dir: Option<PathBuf>,
    /// Which ranks reach the console.
    pub shows: Box<dyn Fn(usize) -> bool>,
}

/// How an attempt ended.
#[derive(Debug)]
pub enum AttemptOutcome {
    /// Every worker exited 0.
    Succeeded,
    /// A worker (here or elsewhere) failed; restartable.
    Failed {
        /// srun-style exit code.
        exit_code: i32,
        /// The root cause to publish/print.
        cause: String,
    },
    /// Every worker ended with 0 or [`ranker_dist::signals::STOPPED_FOR_REQUEUE`], at least one with the latter:
    /// the run stopped at a checkpoint on request and must be requeued, not restarted nor taken as finished.
    StoppedForRequeue,
    /// A terminating signal ended the job; not restartable.
    Interrupted {
        /// The signal.
        signal: libc::c_int,
    },
}

/// Hooks into the control channel.
pub trait Control {
    /// A local worker failed first: publish it.
    fn local_failure(&self, record: &FailureRecord);
}

/// Runs one attempt to completion.
pub fn run_attempt(
    spec: AttemptSpec,
    events: &Receiver<Event>,
    console: &Arc<Console>,
    control: &dyn Control,
) -> Result<AttemptOutcome> {
    let mut group = Group::start(&spec, console)?;
    group.supervise(events, control);
    // Every pipe is drained before the summary, so a failing rank's last stderr lines are in its tail and are
    // printed before the summary, not after it.
    group.cleanup();
    Ok(group.outcome())
}

struct Group<'a> {
    spec: &'a AttemptSpec,
    console: Arc<Console>,
    workers: Vec<Worker>,
    stop: Option<StopReason>,
    kill_at: Option<Instant>,
    oom_before: Option<u64>,
    first_failed: Option<usize>,
    stopped_for_requeue: usize,
}

impl<'a> Group<'a> {
    fn start(spec: &'a AttemptSpec, console: &Arc<Console>) -> Result<Group<'a>> {
        let mut group = Group {
            spec,
            console: Arc::clone(console),
            workers: Vec::with_capacity(spec.workers.len()),
            stop: None,
            kill_at: None,
            oom_before: oom_kill_count(),
            first_failed: None,
            stopped_for_requeue: 0,
        };
        for w in &spec.workers {
            match group.spawn_one(w) {
                Ok(worker) => group.workers.push(worker),
                Err(e) => {
                    // Tear down what already started before reporting.
                    group.begin_stop(StopReason::WorkerFailed { rank: w.rank }, libc::SIGKILL);
                    group.cleanup();
                    return Err(e);
                }
            }
        }
        Ok(group)
    }

    fn spawn_one(&self, w: &WorkerSpec) -> Result<Worker> {
        let files = match &self.spec.log_dir {
            Some(dir) => {
                let d = dir.join(format!("rank_{}", w.rank));
                fs::create_dir_all(&d)
                    .with_context(|| format!("creating log directory {}", d.display()))?;
                let open = |name: &str| {
                    let p = d.join(name);
                    fs::File::create(&p).with_context(|| format!("creating {}", p.display()))
                };
                Some((open("stdout.log")?, open("stderr.log")?))
            }
            None => None,
        };
        if let Some(f) = &w.error_file {
            if let Some(dir) = f.parent() {
                fs::create_dir_all(dir)
                    .with_context(|| format!("creating error-file directory {}", dir.display()))?;
            }
            // A file left by an earlier run with the same directory would be taken for this worker's error.
            match fs::remove_file(f) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", f.display())),
            }
        }
        let child = spawn(w).with_context(|| format!("rank {}", w.rank))?;
        let output = Arc::new(RankOutput::default());
        let prefix = format!("[{}:r{}] ", self.spec.host, w.rank);
        let to_console = (self.spec.shows)(w.rank);
        let (out_file, err_file) = match files {
            Some((o, e)) => (Some(o), Some(e)),
            None => (None, None),
        };
        let pumps = vec![
            pump(
                child.stdout,
                PumpTarget {
                    prefix: prefix.clone(),
                    to_console,
                    file: out_file,
                    stream: Stream::Out,
                },
                Arc::clone(&self.console),
                Arc::clone(&output),
            )?,
            pump(
                child.stderr,
                PumpTarget {
                    prefix,
                    to_console,
                    file: err_file,
                    stream: Stream::Err,
                },
                Arc::clone(&self.console),
                Arc::clone(&output),
            )?,
        ];
        Ok(Worker {
            rank: w.rank,
            pid: child.pid,
            error_file: w.error_file.clone(),
            state: WorkerState::Running {
                started: Instant::now(),
            },
            signalled_by_us: false,
            output,
            pumps,
        })
    }

    fn running(&self) -> usize {
        self.workers
            .iter()
            .filter(|w| matches!(w.state, WorkerState::Running { .. }))
            .count()
    }

    fn supervise(&mut self, events: &Receiver<Event>, control: &dyn Control) {
        // Exits that happened before the first SIGCHLD was collected are reaped here too.
        self.on_child_exit(control);
        while self.running() > 0 {
            let event = match self.kill_at {
                Some(at) => match events.recv_timeout(at.saturating_duration_since(Instant::now()))
                {
                    Ok(e) => Some(e),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match events.recv() {
                    Ok(e) => Some(e),
                    Err(_) => break,
                },
            };
            match event {
                None => self.on_grace_expired(),
                Some(Event::Signal(libc::SIGCHLD)) => self.on_child_exit(control),
                Some(Event::Signal(sig @ (libc::SIGUSR1 | libc::SIGUSR2))) => self.on_forward(sig),
                Some(Event::Signal(sig)) => self.on_terminate_signal(sig),
                Some(Event::RemoteFailure(record)) => self.on_remote_failure(record),
                Some(Event::StoreLost(why)) => self.on_store_lost(why),
            }
        }
    }

    fn on_child_exit(&mut self, control: &dyn Control) {
        loop {
            let mut status: libc::c_int = 0;
            // SAFETY: status is a valid out-pointer; WNOHANG never blocks.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            let Some(w) = self.workers.iter_mut().find(|w| w.pid == pid) else {
                continue; // a re-parented grandchild: reaped, nothing else to do
            };
            let term = Termination::from_wait_status(status);
            w.state = WorkerState::Exited {
                status: term,
                finished: Instant::now(),
            };
            if term.success() || self.stop.is_some() {
                continue;
            }
            if term == Termination::Code(STOPPED_FOR_REQUEUE) {
                // A requested stop at a checkpoint: the others are stopping too; not a failure.
                self.stopped_for_requeue += 1;
                continue;
            }
            let rank = w.rank;
            // Its last lines first, then our verdict (bounded: a grandchild may hold the pipes open).
            w.output.wait_closed(Duration::from_millis(500));
            self.first_failed = Some(rank);
            let record = FailureRecord {
                rank: Some(rank),
                node: 0,
                host: self.spec.host.clone(),
                pid: Some(pid as u32),
                exit: term.describe(),
                reason: String::new(),
            };
            self.console.say(&format!(
                "rank {rank} (pid {pid}) failed with {}; stopping all workers",
                term.describe()
            ));
            self.begin_stop(StopReason::WorkerFailed { rank }, libc::SIGTERM);
            control.local_failure(&record);
        }
    }

    fn on_forward(&mut self, sig: libc::c_int) {
        self.console
            .say(&format!("forwarding {} to all workers", signal_name(sig)));
        for w in &self.workers {
            if let WorkerState::Running { started } = w.state {
                wait_for_handler(w.pid, sig, started + HANDLER_GRACE);
                signal_group(w.pid, sig);
            }
        }
    }

    fn on_terminate_signal(&mut self, sig: libc::c_int) {
        if matches!(self.stop, Some(StopReason::Signal(_))) {
            self.console.say(&format!(
                "second {}: killing all workers now",
                signal_name(sig)
            ));
            self.kill_all(libc::SIGKILL);
            self.kill_at = None;
            return;
        }
        self.console.say(&format!(
            "received {}: stopping all workers",
            signal_name(sig)
        ));
        self.stop = Some(StopReason::Signal(sig));
        self.signal_running(sig);
        self.arm_grace();
    }

    fn on_remote_failure(&mut self, record: FailureRecord) {
        if self.stop.is_some() {
            return;
        }
        self.console.say(&format!(
            "failure elsewhere: {}; stopping all workers",
            record.describe()
        ));
        self.begin_stop(StopReason::Remote(record), libc::SIGTERM);
    }

    fn on_store_lost(&mut self, why: String) {
        if self.stop.is_some() {
            return;
        }
        self.console.say(&format!(
            "lost the rendezvous store ({why}); stopping all workers"
        ));
        self.begin_stop(StopReason::StoreLost(why), libc::SIGTERM);
    }

    fn on_grace_expired(&mut self) {
        self.console.say(&format!(
            "workers still running {:.1}s after SIGTERM: sending SIGKILL",
            self.spec.term_timeout.as_secs_f64()
        ));
        self.kill_all(libc::SIGKILL);
        self.kill_at = None;
    }

    fn begin_stop(&mut self, reason: StopReason, sig: libc::c_int) {
        self.stop = Some(reason);
        self.signal_running(sig);
        self.arm_grace();
    }

    fn arm_grace(&mut self) {
        if self.spec.term_timeout.is_zero() {
            self.kill_all(libc::SIGKILL);
        } else {
            self.kill_at = Some(Instant::now() + self.spec.term_timeout);
        }
    }

    fn signal_running(&mut self, sig: libc::c_int) {
        for w in &mut self.workers {
            if matches!(w.state, WorkerState::Running { .. }) {
                w.signalled_by_us = true;
                signal_group(w.pid, sig);
            }
        }
    }

    fn kill_all(&mut self, sig: libc::c_int) {
        for w in &mut self.workers {
            if matches!(w.state, WorkerState::Running { .. }) {
                w.signalled_by_us = true;
            }
            // Also reaches leftovers in the group of a leader that already exited.
            signal_group(w.pid, sig);
        }
    }

    /// Kills whatever is left of every worker's process group and any re-parented orphan, then reaps.
    fn cleanup(&mut self) {
        for w in &self.workers {
            signal_group(w.pid, libc::SIGKILL);
        }
        kill_orphans();
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let mut status = 0;
            // SAFETY: as in on_child_exit.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid > 0 {
                continue;
            }
            // pid == 0: children remain (dying); -1: none left.
            if pid < 0 || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        for w in &mut self.workers {
            if !w.output.wait_closed(Duration::from_secs(2)) {
                continue; // a pipe held open by an escaped process: leave its pump detached
            }
            for p in w.pumps.drain(..) {
                let _ = p.join();
            }
        }
    }

    fn ended_by(&self, w: &Worker) -> EndedBy {
        match w.state {
            WorkerState::Exited {
                status: Termination::Signal(sig),
                ..
            } => {
                if w.signalled_by_us {
                    EndedBy::Launcher
                } else if sig == libc::SIGKILL
                    && oom_kill_count()
                        .zip(self.oom_before)
                        .is_some_and(|(a, b)| a > b)
                {
                    EndedBy::OomKiller
                } else {
                    EndedBy::Outside
                }
            }
            WorkerState::Exited { .. } if w.signalled_by_us => EndedBy::Launcher,
            _ => EndedBy::Itself,
        }
    }

    fn outcome(&self) -> AttemptOutcome {
        let rows: Vec<Row> = self
            .workers
            .iter()
            .map(|w| Row {
                rank: w.rank,
                host: self.spec.host.clone(),
                pid: w.pid,
                ended: match w.state {
                    WorkerState::Exited { status, .. } => Some(status),
                    WorkerState::Running { .. } => None,
                },
                by: self.ended_by(w),
            })
            .collect();
        let logs = self.spec.log_dir.as_ref().map(|d| d.display().to_string());
        let (headline, outcome) = match &self.stop {
            None if self.stopped_for_requeue > 0 => {
                self.console.say(&format!(
                    "{} of {} workers stopped at a checkpoint for requeue (exit {STOPPED_FOR_REQUEUE}); the others \
                     finished; requeue or resubmit the job to resume",
                    self.stopped_for_requeue,
                    self.workers.len()
                ));
                return AttemptOutcome::StoppedForRequeue;
            }
            None => return AttemptOutcome::Succeeded,
            Some(StopReason::Signal(sig)) => (
                format!("stopped by {}", signal_name(*sig)),
                AttemptOutcome::Interrupted { signal: *sig },
            ),
            Some(reason) => {
                let cause = match reason {
                    StopReason::WorkerFailed { rank } => {
                        let row = rows.iter().find(|r| r.rank == *rank);
                        let how = row
                            .and_then(|r| r.ended)
                            .map(Termination::describe)
                            .unwrap_or_default();
                        format!("rank {rank} on {} failed first ({how})", self.spec.host)
                    }
                    StopReason::Remote(rec) => format!("failure elsewhere: {}", rec.describe()),
                    StopReason::StoreLost(why) => format!("rendezvous store lost: {why}"),
                    StopReason::Signal(_) => unreachable!("handled above"),
                };
                // srun's convention over the ranks that ended by themselves; all ours were stopped by us when the
                // failure was elsewhere, then their highest code stands.
                let own: Vec<i32> = rows
                    .iter()
                    .filter(|r| r.by != EndedBy::Launcher)
                    .filter_map(|r| r.ended.map(Termination::exit_code))
                    .collect();
                let all = rows
                    .iter()
                    .filter_map(|r| r.ended.map(Termination::exit_code));
                let exit_code = own
                    .into_iter()
                    .max()
                    .or_else(|| all.max())
                    .filter(|&c| c != 0)
                    .unwrap_or(1);
                (
                    format!("worker group failed: {cause}"),
                    AttemptOutcome::Failed { exit_code, cause },
                )
            }
        };
        let tail_rank = self.first_failed;
        let failed = tail_rank.and_then(|r| self.workers.iter().find(|w| w.rank == r));
        let tail = failed.map(|w| w.output.tail()).unwrap_or_default();
        let error = failed
            .and_then(|w| w.error_file.as_deref())
            .and_then(ErrorFile::read);
        self.console.say(&render(
            &rows,
            &headline,
            tail_rank,
            error.as_ref(),
            &tail,
            logs.as_deref(),
        ));
        outcome
    }
}

/// How long after a worker's start a forwarded USR1/USR2 waits for the worker to install its handler.
const HANDLER_GRACE: Duration = Duration::from_secs(5);

/// Waits (until `deadline`) for process `pid` to catch `sig` (`SigCgt` in /proc), so a USR1 forwarded just after a
/// worker started does not kill it with the default action before its handler is installed. A program that
/// never installs one gets the signal at the deadline, with the default action, as it would without launch.
pub fn wait_for_handler(pid: i32, sig: libc::c_int, deadline: Instant) {
    while Instant::now() < deadline {
        match catches(pid, sig) {
            Some(false) => std::thread::sleep(Duration::from_millis(2)),
            _ => return,
        }
    }
}

/// Whether `pid` has a handler for `sig`; `None` when /proc cannot tell (the process is gone).
fn catches(pid: i32, sig: libc::c_int) -> Option<bool> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())?;
    Some(mask & (1u64 << (sig - 1)) != 0)
}

/// SIGKILLs every process whose parent is this launcher (grandchildren re-parented to us as subreaper).
fn kill_orphans() {
    let me = std::process::id();
    let Ok(dir) = fs::read_dir("/proc") else {
        return;
    };
    for entry in dir.filter_map(Result::ok) {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Format: pid (comm) state ppid … — comm may contain spaces and parentheses, so split after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if ppid == Some(me) {
            // SAFETY: plain kill of a child process.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}
