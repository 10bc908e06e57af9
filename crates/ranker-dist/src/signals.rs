//! The worker's side of the preemption flow: `launch` forwards SIGUSR1 (Slurm's `--signal=B:USR1@120`) to every
//! worker without tearing the job down; the worker notices [`checkpoint_requested`] at its next step boundary,
//! writes a checkpoint and exits with [`STOPPED_FOR_REQUEUE`] so the job requeues and resumes.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::DistError;

/// Exit code of a worker that stopped at a checkpoint because a stop was requested (SIGUSR1), so that the job can be
/// requeued and resume. Not 0: a run that stopped at step 73 of 300 must not look finished to `launch`, srun or
/// Slurm (which would record COMPLETED and never requeue it). 75 is `EX_TEMPFAIL` (sysexits.h: "try again later").
pub const STOPPED_FOR_REQUEUE: i32 = 75;

static CHECKPOINT_REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_usr1(_sig: libc::c_int) {
    // Only async-signal-safe work here: one atomic store.
    CHECKPOINT_REQUESTED.store(true, Ordering::SeqCst);
}

/// Installs the SIGUSR1 handler that sets the checkpoint flag (idempotent). Without it SIGUSR1 would kill the
/// worker (the default action).
pub fn install_checkpoint_handler() -> Result<(), DistError> {
    // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the handler only touches an atomic.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_usr1 as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()) != 0 {
            return Err(DistError::SignalHandler {
                signal: "SIGUSR1",
                source: std::io::Error::last_os_error(),
            });
        }
    }
    Ok(())
}

/// Whether a SIGUSR1 arrived since the handler was installed (or since [`clear_checkpoint_request`]).
pub fn checkpoint_requested() -> bool {
    CHECKPOINT_REQUESTED.load(Ordering::SeqCst)
}

/// Clears the flag (after the checkpoint was written, if the worker keeps running).
pub fn clear_checkpoint_request() {
    CHECKPOINT_REQUESTED.store(false, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usr1_sets_the_flag() {
        install_checkpoint_handler().unwrap();
        clear_checkpoint_request();
        assert!(!checkpoint_requested());
        // SAFETY: raising a signal whose handler we installed above.
        unsafe { libc::raise(libc::SIGUSR1) };
        assert!(checkpoint_requested());
        clear_checkpoint_request();
        assert!(!checkpoint_requested());
    }
}
