//! Starting one worker: its own process group, a parent-death signal, piped output.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{ChildStderr, ChildStdout, Command, Stdio};

/// What to run for one worker.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    /// Global rank.
    pub rank: usize,
    /// Program and arguments.
    pub command: Vec<String>,
    /// Variables added to the inherited environment.
    pub env: Vec<(String, String)>,
    /// Its `TORCHELASTIC_ERROR_FILE` (created directory, stale file removed before the start).
    pub error_file: Option<std::path::PathBuf>,
}

/// A started worker.
pub struct Spawned {
    /// Process id (also its process group id).
    pub pid: i32,
    /// Its stdout pipe.
    pub stdout: ChildStdout,
    /// Its stderr pipe.
    pub stderr: ChildStderr,
}

/// Spawns `spec` in a new process group with `PR_SET_PDEATHSIG = SIGKILL`.
///
/// The death signal fires when the *thread* that forked exits, so call this from the supervisor's main thread.
/// The `getppid` check closes the race where the launcher dies between `fork` and `prctl`.
pub fn spawn(spec: &WorkerSpec) -> io::Result<Spawned> {
    let (program, args) = spec
        .command
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty worker command"))?;
    // SAFETY: getpid is async-signal-safe and has no preconditions.
    let launcher_pid = unsafe { libc::getpid() };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: the closure only calls async-signal-safe functions (prctl, getppid, raise) between fork and exec.
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
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != launcher_pid {
                libc::raise(libc::SIGKILL);
            }
            // The launcher blocks the signals it collects with sigwait; a blocked mask and ignored dispositions
            // are inherited across exec, so give the worker default handling and an empty mask.
            for sig in super::signals::HANDLED {
                libc::signal(sig, libc::SIG_DFL);
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("starting {program:?}: {e}")))?;
    let stdout = child.stdout.take().expect("stdout piped");
    let stderr = child.stderr.take().expect("stderr piped");
    // The supervisor reaps with waitpid(-1); `Child` is dropped without waiting.
    Ok(Spawned {
        pid: child.id() as i32,
        stdout,
        stderr,
    })
}

/// Sends `sig` to the whole process group `pgid`; a group that no longer exists is not an error.
pub fn signal_group(pgid: i32, sig: libc::c_int) {
    // SAFETY: kill with a negative pid signals a process group; no memory is touched.
    unsafe {
        libc::kill(-pgid, sig);
    }
}
