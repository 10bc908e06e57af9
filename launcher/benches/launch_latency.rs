//! Launcher latency (not a test): start → all workers running, and kill of one worker → launcher exit.
//!
//! `cargo bench -p launcher --bench launch_latency [-- NPROC [REPEATS]]`. Builds on the `launch` binary of the
//! same profile (`cargo build -p launcher` first for the dev profile; `cargo bench` builds it).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn launch_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join("launch")
}

fn wait_for_files(dir: &std::path::Path, n: usize, timeout: Duration) -> Vec<i32> {
    let deadline = Instant::now() + timeout;
    loop {
        let pids: Vec<i32> = (0..n)
            .filter_map(|r| {
                std::fs::read_to_string(dir.join(format!("pid.{r}")))
                    .ok()?
                    .trim()
                    .parse()
                    .ok()
            })
            .collect();
        if pids.len() == n {
            return pids;
        }
        assert!(Instant::now() < deadline, "workers did not start");
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let nproc: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(4);
    let repeats: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let bin = launch_bin();
    assert!(bin.exists(), "{} not built", bin.display());
    println!("{:>6} {:>16} {:>16}", "run", "start_ms", "teardown_ms");
    for run in 0..repeats {
        let dir = std::env::temp_dir().join(format!("launch-bench-{}-{run}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let script = format!(
            "echo $$ > {}/pid.$RANK.tmp && mv {0}/pid.$RANK.tmp {0}/pid.$RANK; exec sleep 100",
            dir.display()
        );
        let start = Instant::now();
        let mut child = Command::new(&bin)
            .args([
                "--nproc",
                &nproc.to_string(),
                "--term-timeout",
                "5",
                "--",
                "sh",
                "-c",
                &script,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn launch");
        let pids = wait_for_files(&dir, nproc, Duration::from_secs(30));
        let started = start.elapsed();
        // SAFETY: plain kill of a worker we started.
        unsafe { libc::kill(pids[0], libc::SIGKILL) };
        let killed = Instant::now();
        child.wait().expect("launch exit");
        let teardown = killed.elapsed();
        println!(
            "{run:>6} {:>16.2} {:>16.2}",
            started.as_secs_f64() * 1e3,
            teardown.as_secs_f64() * 1e3
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
