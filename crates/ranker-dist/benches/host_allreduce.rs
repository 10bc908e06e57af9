//! Host all-reduce bandwidth between 2 processes on loopback, 1–256 MiB (not a test).
//!
//! `cargo bench -p ranker-dist --bench host_allreduce [-- MAX_MB [ITERS]]`. The parent process hosts the store
//! and re-runs this executable as rank 1; both ranks time `ITERS` all-reduces per size. Reported like
//! nccl-tests: `algbw = bytes / time`, `busbw = algbw * 2(n-1)/n`.

use std::process::Command;
use std::time::{Duration, Instant};

use ranker_dist::{Collective, HostCollective, ReduceOp, StoreClient, StoreServer};

const TOKEN: &str = "bench";
const WORLD: usize = 2;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let Ok(addr) = std::env::var("HOST_ALLREDUCE_STORE") {
        let max_mb: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(256);
        let iters: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
        worker(&addr, 1, max_mb, iters);
        return;
    }
    let max_mb: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(256);
    let iters: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let server = StoreServer::bind("127.0.0.1:0", TOKEN).expect("store");
    let addr = server.local_addr().to_string();
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .args([max_mb.to_string(), iters.to_string()])
        .env("HOST_ALLREDUCE_STORE", &addr)
        .spawn()
        .expect("spawn rank 1");
    println!(
        "{:>10} {:>12} {:>12} {:>12}",
        "size_MiB", "time_ms", "algbw_GB/s", "busbw_GB/s"
    );
    worker(&addr, 0, max_mb, iters);
    assert!(child.wait().expect("rank 1").success(), "rank 1 failed");
}

fn worker(addr: &str, rank: usize, max_mb: usize, iters: usize) {
    let store = StoreClient::connect(addr, TOKEN, Duration::from_secs(60)).expect("connect");
    let mut coll = HostCollective::connect(
        &store,
        "bench",
        rank,
        WORLD,
        TOKEN,
        Duration::from_secs(120),
    )
    .expect("ring");
    let mut mb = 1;
    while mb <= max_mb {
        let len = mb * (1 << 20) / 4;
        let mut buf = vec![1.0f32; len];
        coll.all_reduce(&mut buf, ReduceOp::Sum).expect("warm-up");
        coll.barrier().expect("barrier");
        let start = Instant::now();
        for _ in 0..iters {
            coll.all_reduce(&mut buf, ReduceOp::Sum)
                .expect("all_reduce");
        }
        let secs = start.elapsed().as_secs_f64() / iters as f64;
        if rank == 0 {
            let algbw = (len * 4) as f64 / secs / 1e9;
            let busbw = algbw * 2.0 * (WORLD as f64 - 1.0) / WORLD as f64;
            println!("{mb:>10} {:>12.2} {algbw:>12.3} {busbw:>12.3}", secs * 1e3);
        }
        mb *= 2;
    }
}
