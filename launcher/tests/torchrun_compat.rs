//! `launch` as a drop-in for torchrun: a program that rendezvouses like torch's `env://` (rank 0 binds
//! `MASTER_ADDR:MASTER_PORT`, the others connect) runs under `launch` on one node and on two simulated nodes.
//! The program (tests/fixtures/env_rendezvous.py) uses only Python's standard library, so CI needs no torch.
#![cfg(unix)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const LAUNCH: &str = env!("CARGO_BIN_EXE_launch");

fn program() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/env_rendezvous.py")
        .display()
        .to_string()
}

fn launch(args: &[&str]) -> Command {
    let mut c = Command::new(LAUNCH);
    c.args(args)
        .env_remove("RANKER_STORE_TOKEN")
        .env_remove("OMP_NUM_THREADS")
        .env_remove("PYTHONUNBUFFERED")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for k in std::env::vars()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("SLURM_"))
    {
        c.env_remove(k);
    }
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts that every rank of `world` printed the full peer list.
fn assert_rendezvous(out: &str, world: usize) {
    let peers: Vec<String> = (0..world).map(|r| r.to_string()).collect();
    for r in 0..world {
        let line = format!(
            "rendezvous rank={r} world={world} peers={}",
            peers.join(",")
        );
        assert!(out.contains(&line), "missing {line:?} in:\n{out}");
    }
}

fn python_available() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn env_rendezvous_on_one_node() {
    if !python_available() {
        eprintln!("SKIPPED: python3 is not installed");
        return;
    }
    // torchrun's own command line: the script runs as `python3 -u SCRIPT ARGS`.
    let o: Output = launch(&[
        "--standalone",
        "--nproc-per-node",
        "3",
        &program(),
        "--marker",
    ])
    .output()
    .unwrap();
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "stdout:\n{out}\nstderr:\n{err}");
    assert_rendezvous(&out, 3);
    assert_eq!(
        out.matches("unbuffered=1 args=--marker").count(),
        3,
        "{out}"
    );
    // torchrun's notice for the OMP_NUM_THREADS default.
    assert!(
        err.contains("Setting OMP_NUM_THREADS environment variable for each process to be 1"),
        "{err}"
    );
}

#[test]
fn env_rendezvous_on_two_simulated_nodes() {
    if !python_available() {
        eprintln!("SKIPPED: python3 is not installed");
        return;
    }
    // The launchers' store port; workers get a different MASTER_PORT chosen by node 0.
    let store_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let prog = program();
    let node = |rank: &str| {
        launch(&[
            "--nnodes",
            "2",
            "--node-rank",
            rank,
            "--nproc",
            "2",
            "--master-addr",
            "127.0.0.1",
            "--master-port",
            &store_port,
            "--",
            "python3",
            &prog,
        ])
        .env("RANKER_STORE_TOKEN", "two-node-test")
        .spawn()
        .unwrap()
    };
    let n1 = node("1");
    let n0 = node("0");
    let (o0, o1) = (
        n0.wait_with_output().unwrap(),
        n1.wait_with_output().unwrap(),
    );
    let out = text(&o0.stdout) + &text(&o1.stdout);
    for o in [&o0, &o1] {
        assert_eq!(
            o.status.code(),
            Some(0),
            "stdout:\n{}\nstderr:\n{}",
            text(&o.stdout),
            text(&o.stderr)
        );
    }
    assert_rendezvous(&out, 4);
    // Rank 0 (node 0) hosted the torch-style store, ranks 2 and 3 (node 1) reached it.
    assert!(text(&o0.stdout).contains("rendezvous rank=0 "), "{out}");
    assert!(text(&o1.stdout).contains("rendezvous rank=3 "), "{out}");
}

#[test]
fn error_file_message_and_traceback_are_in_the_summary() {
    if !python_available() {
        eprintln!("SKIPPED: python3 is not installed");
        return;
    }
    let o = launch(&[
        "--nproc",
        "2",
        "--term-timeout",
        "2",
        "--",
        "python3",
        &program(),
        "--fail-rank",
        "1",
    ])
    .output()
    .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("ValueError: rank 1 was told to fail"),
        "no error-file message in:\n{err}"
    );
    assert!(
        err.contains("  | Traceback (most recent call last):"),
        "no traceback in:\n{err}"
    );
    let summary = err.split("worker group failed").nth(1).unwrap_or_default();
    assert!(
        summary.contains("rank 1 failing on purpose"),
        "stderr tail missing from the summary:\n{err}"
    );
}
