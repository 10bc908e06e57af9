//! PairRanker throughput on CPU (burn Flex): forward-only (inference, `.valid()`) and forward+backward (training,
//! `Autodiff<Flex>`, instructgpt loss) pairs per second for the small DeBERTa-v3 configuration in
//! `experiments/bench/pair_ranker_config.json`. `experiments/bench/pair_ranker_bench.py` measures transformers +
//! the PyTorch head on the same configuration; run both with the same thread count:
//!
//! ```text
//! RAYON_NUM_THREADS=4 BENCH_ITERS=10 cargo bench -p ranker-models --bench pair_ranker
//! python3 experiments/bench/pair_ranker_bench.py --threads 4 --iters 10
//! ```
//! `BENCH_CONFIG=path.json` reads another configuration; `BENCH_WARMUP` sets the untimed iterations (default 1);
//! `BENCH_ONLY=forward` or `BENCH_ONLY=train` runs one of the two measurements.
//! glibc's malloc returns big blocks to the kernel after every op; like the `ranker` binary, this benchmark tells
//! it to keep them (`mallopt`, as `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=…`
//! would), which measured +37–65 % forward, +15–28 % forward+backward (4–8 threads); `BENCH_DEFAULT_MALLOC=1`
//! measures glibc's defaults instead.
//! This is a benchmark, not a test: it prints numbers and asserts nothing about them.

use std::path::Path;
use std::time::Instant;

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use ranker_models::collate::{PairBatch, PairRow};
use ranker_models::loss::PairLoss;
use ranker_models::ranker::{PairInput, PairRankerConfig};
use ranker_models::BackboneConfig;

type Train = Autodiff<Flex>;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A deterministic pseudo-random id stream (splitmix64), so both sides can use any ids without sharing a RNG.
fn ids(n: usize, vocab: u32, seed: u64) -> Vec<u32> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            5 + ((z ^ (z >> 31)) % u64::from(vocab - 5)) as u32
        })
        .collect()
}

/// What `ranker_cli`'s `tune_allocator` does at the start of the `ranker` binary.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("BENCH_DEFAULT_MALLOC").is_none() {
        // SAFETY: mallopt only changes allocator parameters; called before any threads start.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        }
    }
}

fn main() {
    tune_allocator();
    let path = std::env::var_os("BENCH_CONFIG")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../experiments/bench/pair_ranker_config.json")
        });
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("benchmark config")).unwrap();
    let pairs = config["pairs"].as_u64().unwrap() as usize;
    let seq = config["seq_len"].as_u64().unwrap() as usize;
    let marks: Vec<usize> = config["marker_positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap() as usize)
        .collect();
    let backbone = BackboneConfig::from_json(config["backbone"].clone(), &path).unwrap();
    let iters = env_usize("BENCH_ITERS", 5);
    let warmup = env_usize("BENCH_WARMUP", 1);
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "(all cores)".into());

    let device = Default::default();
    Train::seed(&device, 0);
    let model = PairRankerConfig::new()
        .with_n_tasks(config["n_tasks"].as_u64().unwrap() as usize)
        .with_drop_out(config["drop_out"].as_f64().unwrap())
        .init::<Train>(backbone.init(&device), &device);
    let vocab = backbone.vocab_size() as u32;
    let rows = (0..pairs)
        .map(|p| PairRow {
            ids: ids(seq, vocab, p as u64),
            source_pos: marks[0],
            candidate1_pos: marks[1],
            candidate2_pos: marks[2],
        })
        .collect();
    let batch = PairBatch::from_rows(rows, 0);
    let scores = || {
        Tensor::<Train, 2>::random(
            [pairs, model.n_tasks()],
            Distribution::Uniform(0.0, 1.0),
            &device,
        )
    };

    let inference = model.valid();
    let forward_input = PairInput::<Flex>::from_batch(&batch, &device);
    let time = |label: &str, step: &mut dyn FnMut()| {
        for _ in 0..warmup {
            step();
        }
        let start = Instant::now();
        for _ in 0..iters {
            step();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{label:<17} {:>9.2} pairs/s  ({:.1} ms/batch of {pairs}, {iters} iters, threads {threads})",
            (iters * pairs) as f64 / secs,
            1e3 * secs / iters as f64,
        );
    };
    println!(
        "burn Flex PairRanker: hidden {}, layers {}, seq {seq}, batch {pairs} pairs",
        backbone.hidden_size(),
        config["backbone"]["num_hidden_layers"]
    );
    // BENCH_ONLY=forward|train runs one of the two measurements (e.g. under a profiler).
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only != "train" {
        time("forward", &mut || {
            let logits = inference.forward(forward_input.clone()).logits;
            std::hint::black_box(logits.into_data());
        });
    }
    if only == "forward" {
        return;
    }
    let train_input = PairInput::<Train>::from_batch(&batch, &device);
    time("forward+backward", &mut || {
        let (_, loss) = model.forward_loss(
            train_input.clone(),
            scores(),
            scores(),
            PairLoss::InstructGpt,
        );
        std::hint::black_box(loss.backward());
    });
}
