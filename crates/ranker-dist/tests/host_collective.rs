//! The host (TCP ring) backend with one thread per rank over real loopback sockets.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ranker_dist::collective::segment_bounds;
use ranker_dist::{
    all_reduce_bucketed, broadcast_f32, Collective, DistError, HostCollective, ReduceOp,
    StoreClient, StoreServer,
};

const TOKEN: &str = "tok";

/// Runs `body(rank, collective)` on `world` threads that form one ring; returns each rank's result in rank order.
fn run_ring<R: Send + 'static>(
    world: usize,
    timeout: Duration,
    body: impl Fn(usize, HostCollective) -> R + Send + Sync + 'static,
) -> Vec<R> {
    let server = StoreServer::bind("127.0.0.1:0", TOKEN).unwrap();
    let addr = server.local_addr().to_string();
    let body = Arc::new(body);
    let handles: Vec<_> = (0..world)
        .map(|rank| {
            let addr = addr.clone();
            let body = Arc::clone(&body);
            thread::spawn(move || {
                let store = StoreClient::connect(&addr, TOKEN, Duration::from_secs(30)).unwrap();
                let coll =
                    HostCollective::connect(&store, "w0", rank, world, TOKEN, timeout).unwrap();
                body(rank, coll)
            })
        })
        .collect();
    let out = handles.into_iter().map(|h| h.join().unwrap()).collect();
    drop(server);
    out
}

/// Deterministic, awkward floats (different magnitudes so the summation order matters).
fn data(rank: usize, len: usize) -> Vec<f32> {
    let mut state = 0x9E37_79B9u64.wrapping_mul(rank as u64 + 1);
    (0..len)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let unit = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            unit * 10f32.powi((i % 7) as i32 - 3)
        })
        .collect()
}

/// The documented order: element of segment k = ((x_k + x_{k+1}) + …) + x_{k-1}.
fn expected_ring_sum(inputs: &[Vec<f32>]) -> Vec<f32> {
    let n = inputs.len();
    let len = inputs[0].len();
    let mut out = vec![0f32; len];
    for (k, seg) in segment_bounds(len, n).into_iter().enumerate() {
        for i in seg {
            let mut acc = inputs[k][i];
            for step in 1..n {
                acc += inputs[(k + step) % n][i];
            }
            out[i] = acc;
        }
    }
    out
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn all_reduce_sum_and_mean_world_1_to_4() {
    for world in 1..=4 {
        for len in [0usize, 1, 3, 1000, 300_007] {
            let results = run_ring(world, Duration::from_secs(30), move |rank, mut c| {
                let mut sum = data(rank, len);
                c.all_reduce(&mut sum, ReduceOp::Sum).unwrap();
                let mut mean = data(rank, len);
                c.all_reduce(&mut mean, ReduceOp::Mean).unwrap();
                (sum, mean)
            });
            let inputs: Vec<Vec<f32>> = (0..world).map(|r| data(r, len)).collect();
            let expected = expected_ring_sum(&inputs);
            let expected_mean: Vec<f32> = expected.iter().map(|x| x / world as f32).collect();
            for (rank, (sum, mean)) in results.iter().enumerate() {
                assert_eq!(
                    bits(sum),
                    bits(&expected),
                    "world {world} len {len} rank {rank} sum"
                );
                assert_eq!(
                    bits(mean),
                    bits(&expected_mean),
                    "world {world} len {len} rank {rank} mean"
                );
            }
            // And close to a plain f64 sum (the order only moves the last bits).
            for (i, got) in results[0].0.iter().enumerate() {
                let direct: f64 = inputs.iter().map(|v| f64::from(v[i])).sum();
                let scale: f64 = inputs
                    .iter()
                    .map(|v| f64::from(v[i]).abs())
                    .sum::<f64>()
                    .max(1e-30);
                assert!(
                    (f64::from(*got) - direct).abs() <= 4.0 * f64::from(f32::EPSILON) * scale,
                    "i {i}"
                );
            }
        }
    }
}

#[test]
fn integer_valued_sums_are_exact() {
    let results = run_ring(3, Duration::from_secs(30), |rank, mut c| {
        let mut v: Vec<f32> = (0..10).map(|i| (i * (rank + 1)) as f32).collect();
        c.all_reduce(&mut v, ReduceOp::Sum).unwrap();
        v
    });
    let expected: Vec<f32> = (0..10).map(|i| (i * 6) as f32).collect();
    for r in results {
        assert_eq!(r, expected);
    }
}

#[test]
fn bucketed_all_reduce_matches_per_bucket_ring_order() {
    let len = 10_000;
    let results = run_ring(3, Duration::from_secs(30), move |rank, mut c| {
        let mut v = data(rank, len);
        all_reduce_bucketed(&mut c, &mut v, 0.01, ReduceOp::Mean).unwrap();
        v
    });
    let inputs: Vec<Vec<f32>> = (0..3).map(|r| data(r, len)).collect();
    let mut expected = Vec::new();
    for range in ranker_dist::bucket_ranges(len, 0.01) {
        let bucket: Vec<Vec<f32>> = inputs.iter().map(|v| v[range.clone()].to_vec()).collect();
        expected.extend(expected_ring_sum(&bucket).into_iter().map(|x| x / 3.0));
    }
    for r in &results {
        assert_eq!(bits(r), bits(&expected));
    }
}

#[test]
fn broadcast_from_every_root_and_f32_helper() {
    for world in 1..=4 {
        let results = run_ring(world, Duration::from_secs(30), move |rank, mut c| {
            let mut seen = Vec::new();
            for root in 0..world {
                // Non-roots start with a different length: broadcast replaces it.
                let mut buf = if rank == root {
                    vec![root as u8; 3_000_000 + root]
                } else {
                    vec![9u8; rank]
                };
                c.broadcast(&mut buf, root).unwrap();
                seen.push(buf);
            }
            let mut params: Vec<f32> = if rank == 0 {
                vec![1.5, -2.25, 3.0]
            } else {
                vec![0.0; 3]
            };
            broadcast_f32(&mut c, &mut params, 0).unwrap();
            (seen, params)
        });
        for (seen, params) in results {
            for (root, buf) in seen.iter().enumerate() {
                assert_eq!(buf.len(), 3_000_000 + root);
                assert!(buf.iter().all(|&b| b == root as u8));
            }
            assert_eq!(params, [1.5, -2.25, 3.0]);
        }
    }
}

#[test]
fn all_gather_and_barrier() {
    for world in 1..=4 {
        let results = run_ring(world, Duration::from_secs(30), |rank, mut c| {
            let item = vec![rank as u8; rank * 1000];
            let gathered = c.all_gather(&item).unwrap();
            c.barrier().unwrap();
            c.barrier().unwrap();
            gathered
        });
        for gathered in results {
            assert_eq!(gathered.len(), world);
            for (r, item) in gathered.iter().enumerate() {
                assert_eq!(item, &vec![r as u8; r * 1000]);
            }
        }
    }
}

#[test]
fn silent_peer_is_named_within_the_timeout() {
    let timeout = Duration::from_millis(1500);
    let results = run_ring(3, timeout, move |rank, mut c| {
        if rank == 2 {
            // Alive but never enters the collective.
            thread::sleep(timeout * 3);
            return None;
        }
        let start = Instant::now();
        let err = c.all_reduce(&mut [1.0f32; 64], ReduceOp::Sum).unwrap_err();
        Some((err, start.elapsed()))
    });
    let (err, elapsed) = results[0].as_ref().unwrap();
    match err {
        DistError::PeerTimeout {
            rank: 0, peer: 2, ..
        } => {}
        other => panic!("rank 0 should blame silent rank 2, got {other}"),
    }
    assert!(err.to_string().contains("rank 2"), "{err}");
    // The timeout names the operation it was waiting in, not the ring's setup.
    assert!(err.to_string().contains("all_reduce"), "{err}");
    // Bounded (not a performance claim): the call must not hang far past its timeout.
    assert!(*elapsed < timeout * 10, "took {elapsed:?}");
    // Rank 1 also fails (rank 0 gave up and closed its sockets) instead of hanging.
    assert!(results[1].is_some());
}

#[test]
fn dead_peer_is_named_and_the_group_is_poisoned() {
    let results = run_ring(2, Duration::from_secs(30), |rank, mut c| {
        if rank == 1 {
            drop(c);
            return None;
        }
        let err = c
            .all_reduce(&mut [1.0f32; 1000], ReduceOp::Sum)
            .unwrap_err();
        let again = c.barrier().unwrap_err();
        assert!(
            matches!(again, DistError::Poisoned { rank: 0, .. }),
            "{again:?}"
        );
        Some((err.to_string(), again.to_string()))
    });
    let (err, again) = results[0].clone().unwrap();
    assert!(
        err.starts_with("rank 0: ") && err.contains("rank 1"),
        "{err}"
    );
    assert!(again.contains("an earlier collective failed"), "{again}");
    assert!(
        again.contains(&err),
        "the poisoned error carries the first one: {again}"
    );
}

#[test]
fn mismatched_sizes_are_reported_as_desync() {
    let results = run_ring(2, Duration::from_secs(30), |rank, mut c| {
        let mut v = vec![1.0f32; 10 + 2 * rank];
        c.all_reduce(&mut v, ReduceOp::Sum)
            .err()
            .map(|e| e.to_string())
    });
    let msgs: Vec<String> = results.into_iter().flatten().collect();
    assert!(
        msgs.iter().any(|m| m.contains("collectives out of step")),
        "{msgs:?}"
    );
}

#[test]
fn wrong_token_peer_cannot_join_the_ring() {
    let server = StoreServer::bind("127.0.0.1:0", TOKEN).unwrap();
    let addr = server.local_addr().to_string();
    let a = {
        let addr = addr.clone();
        thread::spawn(move || {
            let store = StoreClient::connect(&addr, TOKEN, Duration::from_secs(30)).unwrap();
            HostCollective::connect(&store, "w0", 0, 2, TOKEN, Duration::from_millis(800))
                .map(|_| ())
        })
    };
    let store = StoreClient::connect(&addr, TOKEN, Duration::from_secs(30)).unwrap();
    // Rank 1 presents another token to rank 0's listener.
    let b = HostCollective::connect(&store, "w0", 1, 2, "other", Duration::from_millis(800));
    let a = a.join().unwrap();
    assert!(
        a.is_err(),
        "rank 0 must not accept a peer with the wrong token"
    );
    assert!(b.is_err());
}
