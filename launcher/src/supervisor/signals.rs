//! Signal intake: the handled signals are blocked in every thread and collected by one thread with `sigwait`,
//! which turns them into [`Event::Signal`]s. `SIGCHLD` arrives the same way, so worker exits are events too
//! (no polling).

use std::io;
use std::sync::mpsc::Sender;
use std::thread;

use super::event::Event;

/// The signals `launch` takes over.
pub const HANDLED: [libc::c_int; 7] = [
    libc::SIGCHLD,
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

fn handled_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in HANDLED {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

/// Blocks the handled signals in the calling thread; threads spawned afterwards inherit the mask. Call it before
/// any other thread exists. Workers get a clean mask (std resets it between fork and exec).
pub fn block_handled() -> io::Result<()> {
    let set = handled_set();
    // SAFETY: set is initialised; a null old-mask pointer is allowed.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// Starts the thread that forwards every handled signal to `tx`.
pub fn spawn_intake(tx: Sender<Event>) -> io::Result<thread::JoinHandle<()>> {
    thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let set = handled_set();
            loop {
                let mut sig: libc::c_int = 0;
                // SAFETY: set is initialised and blocked in this thread; sig is a valid out-pointer.
                let rc = unsafe { libc::sigwait(&set, &mut sig) };
                if rc != 0 {
                    continue;
                }
                if tx.send(Event::Signal(sig)).is_err() {
                    return;
                }
            }
        })
}

/// `SIGTERM`-style name of a signal number.
pub fn signal_name(sig: libc::c_int) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGSYS => "SIGSYS",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(signal_name(libc::SIGKILL), "SIGKILL");
        assert_eq!(signal_name(libc::SIGUSR1), "SIGUSR1");
        assert_eq!(signal_name(64), "signal 64");
    }
}
