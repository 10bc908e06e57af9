//! Gathering [`HostFacts`] from the real system (the impure half of planning).

use std::fs;
use std::path::PathBuf;

use crate::plan::HostFacts;

/// Reads the environment, GPUs, CPU affinity, host name and the executable's directory.
pub fn gather() -> HostFacts {
    HostFacts {
        env: std::env::vars().collect(),
        nvidia_gpus: fs::read_dir("/proc/driver/nvidia/gpus")
            .ok()
            .map(|d| d.filter_map(Result::ok).count()),
        affinity_cpus: affinity_cpus(),
        hostname: ranker_dist::hostname(),
        ranker_next_to_exe: ranker_next_to_exe(),
        fresh_token: random_hex(16),
        fresh_run_id: format!("launch-{}", random_hex(6)),
        temp_dir: std::env::temp_dir(),
    }
}

/// CPUs this process may run on (its affinity mask), at least 1.
pub fn affinity_cpus() -> usize {
    // SAFETY: a zeroed cpu_set_t is valid; sched_getaffinity writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            let n = libc::CPU_COUNT(&set);
            if n > 0 {
                return n as usize;
            }
        }
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn ranker_next_to_exe() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.join("ranker");
    candidate.is_file().then_some(candidate)
}

/// `bytes` random bytes from the kernel, hex-encoded.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    let mut filled = 0;
    while filled < bytes {
        // SAFETY: writes at most bytes - filled bytes into buf[filled..].
        let n = unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), bytes - filled, 0) };
        if n <= 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            use std::io::Read;
            let mut f = fs::File::open("/dev/urandom").expect("/dev/urandom is readable on Linux");
            f.read_exact(&mut buf[filled..])
                .expect("/dev/urandom is readable on Linux");
            break;
        }
        filled += n as usize;
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_differ_and_have_the_right_length() {
        let a = random_hex(16);
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_hex(16));
        assert!(affinity_cpus() >= 1);
    }
}
