//! Process-level tests: the real `launch` binary with `sh -c` workers.
#![cfg(unix)]

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const LAUNCH: &str = env!("CARGO_BIN_EXE_launch");

fn launch(args: &[&str]) -> Command {
    let mut c = Command::new(LAUNCH);
    c.args(args)
        .env_remove("RANKER_STORE_TOKEN")
        .stdin(Stdio::null());
    for k in std::env::vars()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("SLURM_"))
    {
        c.env_remove(k);
    }
    c
}

fn run(args: &[&str]) -> Output {
    launch(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn spawn(args: &[&str]) -> Child {
    launch(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (bounded) until `path` exists and holds a number.
fn read_pid(path: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(pid) = fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// Alive and not a zombie.
fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next())
                != Some("Z")
        }
        Err(_) => false,
    }
}

fn wait_dead(pid: i32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    !alive(pid)
}

fn kill(pid: i32, sig: i32) {
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill {pid}");
}

fn wait_with_output(mut child: Child) -> (Option<i32>, String, String) {
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code(), out, err)
}

// Exit codes and the env contract.
#[test]
fn success_exit_code_and_worker_env() {
    let o = run(&["--nproc", "3", "--", "sh", "-c", "echo rank=$RANK/$WORLD_SIZE local=$LOCAL_RANK/$LOCAL_WORLD_SIZE port=$MASTER_PORT tok=${#RANKER_STORE_TOKEN} omp=$OMP_NUM_THREADS"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    for r in 0..3 {
        assert!(
            out.contains(&format!("r{r}] rank={r}/3 local={r}/3 port=")),
            "{out}"
        );
    }
    assert!(out.contains("tok=32"), "a 16-byte hex token: {out}");
    assert!(!out.contains("omp= ") && !out.contains("omp=\n"), "{out}");
}

#[test]
fn failing_rank_sets_exit_code_and_summary() {
    let o = run(&[
        "--nproc",
        "2",
        "--",
        "sh",
        "-c",
        "if [ $RANK = 1 ]; then echo boom-line >&2; exit 7; fi; sleep 30",
    ]);
    assert_eq!(o.status.code(), Some(7));
    let err = text(&o.stderr);
    assert!(
        err.contains("rank 1 on") && err.contains("failed first (exit code 7)"),
        "{err}"
    );
    assert!(
        err.contains("exit code 7") && err.contains("itself"),
        "{err}"
    );
    assert!(
        err.contains("signal SIGTERM") && err.contains("launcher"),
        "{err}"
    );
    assert!(
        err.contains("stderr lines of rank 1:") && err.contains("| boom-line"),
        "{err}"
    );
}

#[test]
fn missing_program_is_a_clear_error() {
    let o = run(&["--", "/nonexistent/worker"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("/nonexistent/worker"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn kill_9_of_one_worker_tears_all_down_within_2s() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let script = format!("echo $$ > {d}/pid.$RANK; exec sleep 100");
    let child = spawn(&["--nproc", "3", "--", "sh", "-c", &script]);
    let pids: Vec<i32> = (0..3)
        .map(|r| read_pid(&dir.path().join(format!("pid.{r}"))))
        .collect();
    kill(pids[1], libc::SIGKILL);
    let killed_at = Instant::now();
    for &pid in &pids {
        assert!(
            wait_dead(pid, Duration::from_secs(2)),
            "pid {pid} alive 2 s after the kill"
        );
    }
    let (code, _, err) = wait_with_output(child);
    let elapsed = killed_at.elapsed();
    assert!(
        elapsed < Duration::from_secs(2),
        "launcher took {elapsed:?} to finish after the kill"
    );
    assert_eq!(code, Some(137), "{err}");
    assert!(err.contains("signal SIGKILL"), "{err}");
    assert!(
        err.contains("outside signal") || err.contains("OOM killer"),
        "{err}"
    );
}

#[test]
fn kill_9_of_the_launcher_kills_workers_via_pdeathsig() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let script = format!("echo $$ > {d}/pid.$RANK; exec sleep 100");
    let mut child = spawn(&["--nproc", "2", "--", "sh", "-c", &script]);
    let pids: Vec<i32> = (0..2)
        .map(|r| read_pid(&dir.path().join(format!("pid.{r}"))))
        .collect();
    kill(child.id() as i32, libc::SIGKILL);
    child.wait().unwrap();
    for pid in pids {
        assert!(
            wait_dead(pid, Duration::from_secs(2)),
            "worker {pid} survived the launcher"
        );
    }
}

#[test]
fn grandchildren_do_not_survive_teardown() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    // Rank 1 leaves a background grandchild in its group and, if setsid exists, one in a session of its own.
    let script = format!(
        "if [ $RANK = 0 ]; then while [ ! -f {d}/gpid ]; do sleep 0.02; done; exit 1; fi; \
         sleep 100 & echo $! > {d}/gpid.tmp; \
         if command -v setsid >/dev/null; then setsid sleep 101 & echo $! > {d}/spid; fi; \
         mv {d}/gpid.tmp {d}/gpid; wait"
    );
    let o = run(&[
        "--nproc",
        "2",
        "--term-timeout",
        "1",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let gpid = read_pid(&dir.path().join("gpid"));
    assert!(
        wait_dead(gpid, Duration::from_secs(2)),
        "grandchild {gpid} survived"
    );
    if let Ok(spid) = fs::read_to_string(dir.path().join("spid")) {
        let spid: i32 = spid.trim().parse().unwrap();
        assert!(
            wait_dead(spid, Duration::from_secs(2)),
            "setsid grandchild {spid} survived"
        );
    }
}

#[test]
fn max_restarts_restarts_with_incremented_count() {
    let o = run(&[
        "--nproc",
        "2",
        "--max-restarts",
        "1",
        "--",
        "sh",
        "-c",
        "echo attempt=$TORCHELASTIC_RESTART_COUNT max=$TORCHELASTIC_MAX_RESTARTS; [ $TORCHELASTIC_RESTART_COUNT = 1 ] || { sleep 0.3; exit 5; }",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("r0] attempt=0 max=1") && out.contains("r0] attempt=1 max=1"),
        "{out}"
    );
    assert!(
        text(&o.stderr).contains("restarting the worker group (restart 1/1)"),
        "{}",
        text(&o.stderr)
    );
    // Without restarts the failure stands.
    let o = run(&[
        "--",
        "sh",
        "-c",
        "[ $TORCHELASTIC_RESTART_COUNT = 1 ] || { sleep 0.3; exit 5; }",
    ]);
    assert_eq!(o.status.code(), Some(5));
}

#[test]
fn sigterm_to_the_launcher_ends_all_workers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let script = format!("echo $$ > {d}/pid.$RANK; exec sleep 100");
    let child = spawn(&["--nproc", "2", "--", "sh", "-c", &script]);
    let pids: Vec<i32> = (0..2)
        .map(|r| read_pid(&dir.path().join(format!("pid.{r}"))))
        .collect();
    kill(child.id() as i32, libc::SIGTERM);
    let (code, _, err) = wait_with_output(child);
    assert_eq!(code, Some(128 + libc::SIGTERM), "{err}");
    assert!(err.contains("received SIGTERM"), "{err}");
    for pid in pids {
        assert!(!alive(pid));
    }
}

#[test]
fn usr1_reaches_workers_without_teardown() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let script = format!(
        "trap 'touch {d}/usr1.$RANK' USR1; echo $$ > {d}/pid.$RANK; \
         while [ ! -f {d}/usr1.$RANK ]; do sleep 0.02; done; echo checkpointed"
    );
    let child = spawn(&["--nproc", "2", "--", "sh", "-c", &script]);
    for r in 0..2 {
        read_pid(&dir.path().join(format!("pid.{r}")));
    }
    kill(child.id() as i32, libc::SIGUSR1);
    let (code, out, err) = wait_with_output(child);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("forwarding SIGUSR1"), "{err}");
    assert_eq!(out.matches("checkpointed").count(), 2, "{out}");
}

#[test]
fn prefixed_lines_are_never_broken_and_logs_are_per_rank() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let line = "x".repeat(300);
    let script =
        format!("yes \"r$RANK-{line}\" | head -n 3000; printf \"tail-without-newline-$RANK\"");
    let o = run(&[
        "--nproc",
        "3",
        "--log-dir",
        logs.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let mut counts = [0usize; 3];
    for l in out.lines() {
        let (prefix, body) = l
            .split_once("] ")
            .unwrap_or_else(|| panic!("unprefixed line {l:?}"));
        let rank: usize = prefix.rsplit_once(":r").unwrap().1.parse().unwrap();
        if body.starts_with("tail-without-newline-") {
            assert_eq!(body, format!("tail-without-newline-{rank}"));
            continue;
        }
        assert_eq!(body, format!("r{rank}-{line}"), "broken line");
        counts[rank] += 1;
    }
    assert_eq!(counts, [3000; 3]);
    for r in 0..3 {
        let f = fs::read_to_string(logs.join(format!("attempt_0/rank_{r}/stdout.log"))).unwrap();
        assert_eq!(f.lines().count(), 3001);
        assert!(f.ends_with(&format!("tail-without-newline-{r}")));
        assert!(logs.join(format!("attempt_0/rank_{r}/stderr.log")).exists());
    }
    assert!(logs.join("latest").exists());
}

#[test]
fn ranks_filter_limits_the_console_only() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let o = run(&[
        "--nproc",
        "3",
        "--ranks-filter",
        "1-2",
        "--log-dir",
        logs.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "echo hello-$RANK",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    assert!(
        !out.contains("hello-0") && out.contains("hello-1") && out.contains("hello-2"),
        "{out}"
    );
    assert_eq!(
        fs::read_to_string(logs.join("attempt_0/rank_0/stdout.log")).unwrap(),
        "hello-0\n"
    );
}

#[test]
fn bad_arguments_are_one_line_errors() {
    let o = run(&["--ranks-filter", "0,x", "--", "true"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o.stderr).trim(),
        "launch: error: --ranks-filter \"0,x\": \"x\" is not a rank or lo-hi range"
    );
    let o = run(&["--nnodes", "2", "--", "true"]);
    assert!(text(&o.stderr).contains("--master-addr is required"));
}

#[test]
fn wrong_store_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let script =
        format!("echo $RANKER_STORE_PORT > {d}/port; while [ ! -f {d}/done ]; do sleep 0.02; done");
    let child = spawn(&["--", "sh", "-c", &script]);
    let port = read_pid(&dir.path().join("port"));
    let addr = format!("127.0.0.1:{port}");
    let err = ranker_dist::StoreClient::connect(&addr, "not-the-token", Duration::from_secs(10))
        .unwrap_err();
    assert!(
        matches!(err, ranker_dist::DistError::TokenRefused { .. }),
        "{err}"
    );
    fs::write(dir.path().join("done"), "").unwrap();
    let (code, _, stderr) = wait_with_output(child);
    assert_eq!(code, Some(0));
    assert!(
        stderr.contains("refused a store connection from 127.0.0.1:"),
        "{stderr}"
    );
}

#[test]
fn multi_node_on_one_host_assigns_ranks_and_tears_down_across_nodes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    // Node 1's rank 3 fails once everyone is up; node 0's workers must be torn down through the store.
    let script = format!(
        "echo $$ > {d}/pid.$RANK; while [ $(ls {d} | grep -c pid) -lt 4 ]; do sleep 0.02; done; \
         if [ $RANK = 3 ]; then exit 9; fi; exec sleep 100"
    );
    let node = |rank: &str| {
        let mut c = launch(&[
            "--nproc",
            "2",
            "--nnodes",
            "2",
            "--node-rank",
            rank,
            "--master-addr",
            "127.0.0.1",
            "--master-port",
            &port,
            "--",
            "sh",
            "-c",
            &script,
        ]);
        c.env("RANKER_STORE_TOKEN", "shared")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let n0 = node("0");
    let n1 = node("1");
    let (c1, _, e1) = wait_with_output(n1);
    let (c0, _, e0) = wait_with_output(n0);
    assert_eq!(c1, Some(9), "{e1}");
    assert!(e0.contains("failure elsewhere: rank 3"), "{e0}");
    assert_ne!(c0, Some(0), "{e0}");
    assert!(
        e0.contains("ranks 0..2 of 4") && e1.contains("ranks 2..4 of 4"),
        "{e0}\n{e1}"
    );
}

/// The failing rank's last stderr line is drained before the summary: it is in the summary's tail and printed
/// before it, in every one of many runs (a race lost it in about 1 of 4 runs once).
#[test]
fn failure_summary_never_loses_the_stderr_tail() {
    for run_no in 0..25 {
        let o = run(&[
            "--nproc",
            "2",
            "--",
            "bash",
            "-c",
            "if [ $RANK = 1 ]; then seq 2000 >&2; echo boom >&2; exit 3; fi; sleep 30",
        ]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "run {run_no}: {err}");
        let summary_at = err
            .find("worker group failed")
            .unwrap_or_else(|| panic!("run {run_no}: no summary in {err}"));
        let (before, summary) = err.split_at(summary_at);
        assert!(
            summary.contains("stderr lines of rank 1:\n")
                && summary.contains("[launch]   | 2000\n[launch]   | boom\n"),
            "run {run_no}: tail missing from the summary:\n{err}"
        );
        assert!(
            before.contains("r1] boom"),
            "run {run_no}: the boom line came after the summary:\n{err}"
        );
    }
}

/// Exit 75 (`STOPPED_FOR_REQUEUE`) is a requested stop at a checkpoint: launch exits 75 (never 0, never a restart,
/// no failure table) so that Slurm neither records a finished job nor loses the requeue.
#[test]
fn workers_stopped_for_requeue_make_launch_exit_75() {
    let o = run(&[
        "--nproc",
        "2",
        "--max-restarts",
        "2",
        "--",
        "sh",
        "-c",
        "if [ $RANK = 1 ]; then sleep 0.2; exit 75; fi; exit 0",
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(75), "{err}");
    assert!(
        err.contains("1 of 2 workers stopped at a checkpoint for requeue"),
        "{err}"
    );
    assert!(
        !err.contains("restarting") && !err.contains("worker group failed"),
        "{err}"
    );
}

/// A USR1 forwarded right after the workers start waits for their handler instead of killing them.
#[test]
fn usr1_right_after_start_waits_for_the_workers_handler() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    // The handler is installed 0.3 s after start; the USR1 arrives before that.
    let script = format!(
        "sleep 0.3; trap 'echo got-usr1; exit 75' USR1; echo ready > {d}/ready_$RANK; \
         while :; do sleep 0.01; done"
    );
    let child = spawn(&["--nproc", "2", "--", "bash", "-c", &script]);
    thread::sleep(Duration::from_millis(50));
    kill(child.id() as i32, libc::SIGUSR1);
    let (code, out, err) = wait_with_output(child);
    assert_eq!(code, Some(75), "{out}\n{err}");
    assert_eq!(out.matches("got-usr1").count(), 2, "{out}\n{err}");
}
