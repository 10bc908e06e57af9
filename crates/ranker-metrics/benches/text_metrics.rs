//! Throughput of the text metrics (pairs per second), single-threaded and on all threads.
//!
//! Driven by `experiments/bench/metrics_bench.py`, which writes the pairs and compares the
//! numbers with `rouge-score` and `sacrebleu`. By hand:
//!
//! ```text
//! cargo bench -p ranker-metrics --bench text_metrics -- PAIRS.jsonl [--min-seconds 2] [--scores-out OUT.jsonl]
//! ```
//!
//! `PAIRS.jsonl` has `ranker score` input lines (`{"prediction", "reference": str | [str]}`).
//! Prints one JSON object: pairs/s for ROUGE (4 types), BLEU and all five metrics, each
//! with 1 thread and with rayon's default thread count. `--scores-out` writes every
//! pair's scores so the driver can check them against the Python packages.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use ranker_metrics::{sentence_bleu, ScoreRequest, TextMetric, TextScorer};
use rayon::prelude::*;

struct Args {
    input: String,
    min_seconds: f64,
    scores_out: Option<String>,
}

fn parse_args() -> Args {
    let mut input = None;
    let mut min_seconds = 2.0;
    let mut scores_out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // cargo bench appends --bench to every bench target's arguments.
            "--bench" => {}
            "--min-seconds" => {
                min_seconds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--min-seconds needs a number")
            }
            "--scores-out" => scores_out = Some(args.next().expect("--scores-out needs a path")),
            other if !other.starts_with("--") && input.is_none() => input = Some(other.to_owned()),
            other => panic!("unexpected argument {other:?}"),
        }
    }
    Args {
        input: input.expect("usage: text_metrics PAIRS.jsonl [--min-seconds S] [--scores-out OUT]"),
        min_seconds,
        scores_out,
    }
}

fn read_pairs(path: &str) -> Vec<ScoreRequest> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("opening {path}: {e}"));
    std::io::BufReader::new(file)
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let line = line.unwrap_or_else(|e| panic!("{path}:{}: {e}", i + 1));
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{path}:{}: {e}", i + 1))
        })
        .collect()
}

/// Runs `pass` (one pass over all pairs) until `min_seconds` have elapsed; pairs/s.
fn throughput(pairs: usize, min_seconds: f64, mut pass: impl FnMut() -> f64) -> f64 {
    let mut checksum = pass(); // warm-up
    let start = Instant::now();
    let mut passes = 0u32;
    while passes == 0 || start.elapsed() < Duration::from_secs_f64(min_seconds) {
        checksum += pass();
        passes += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    std::hint::black_box(checksum);
    (pairs as f64 * f64::from(passes)) / elapsed
}

fn main() {
    let args = parse_args();
    let pairs = read_pairs(&args.input);
    let n = pairs.len();
    let rouge = TextScorer::new(&TextMetric::ALL[..4]).expect("rouge scorer");
    let all = TextScorer::new(&TextMetric::ALL).expect("all-metrics scorer");
    let threads = rayon::current_num_threads();
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("one-thread pool");

    let rouge_pair = |p: &ScoreRequest| -> f64 {
        let scores = rouge
            .score(&p.prediction, p.reference.as_slice())
            .expect("rouge");
        scores.values().iter().sum()
    };
    let bleu_pair = |p: &ScoreRequest| -> f64 {
        sentence_bleu(&p.prediction, p.reference.as_slice())
            .expect("bleu")
            .score
    };
    let all_pair = |p: &ScoreRequest| -> f64 {
        let scores = all
            .score(&p.prediction, p.reference.as_slice())
            .expect("all metrics");
        scores.values().iter().sum()
    };
    let min = args.min_seconds;
    let serial = |f: &(dyn Fn(&ScoreRequest) -> f64 + Sync)| {
        throughput(n, min, || pairs.iter().map(f).sum())
    };
    let parallel = |f: &(dyn Fn(&ScoreRequest) -> f64 + Sync)| {
        throughput(n, min, || pairs.par_iter().map(f).sum())
    };
    let report = serde_json::json!({
        "pairs": n,
        "threads": threads,
        "rouge_1t": single.install(|| serial(&rouge_pair)),
        "rouge_nt": parallel(&rouge_pair),
        "bleu_1t": single.install(|| serial(&bleu_pair)),
        "bleu_nt": parallel(&bleu_pair),
        "all_1t": single.install(|| serial(&all_pair)),
        "all_nt": parallel(&all_pair),
    });
    println!("{report}");

    if let Some(path) = args.scores_out {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(&path).unwrap_or_else(|e| panic!("creating {path}: {e}")),
        );
        for p in &pairs {
            let scores = all
                .score(&p.prediction, p.reference.as_slice())
                .expect("all metrics");
            writeln!(out, "{}", serde_json::to_string(&scores).expect("json"))
                .unwrap_or_else(|e| panic!("writing {path}: {e}"));
        }
        out.flush()
            .unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }
}
