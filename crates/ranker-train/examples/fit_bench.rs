//! CPU cost of the memory savers on the quickstart model: peak RSS and training pairs/s of
//! `configs/quickstart.yaml` (tiny DeBERTa-v3 PairRanker, 8 examples ≈ 80 pairs per step) for
//! fp32, bf16, fp16, fp32 with `train.max_pairs_per_forward` and fp32 with activation checkpointing.
//!
//! Every measurement is its own child process (this binary re-run with `--one VARIANT`), so each
//! peak RSS (`VmHWM`) is that variant's alone. The variants run alternately, `--rounds` times
//! (default 3), and the table reports medians. A run trains `--steps` steps (default 12) on
//! synthetic data with no dev or test split; pairs/s is the median of the per-step throughputs
//! after the first two steps, peak RSS the last step's `peak_rss_mib`.
//!
//! Usage (repository root): `cargo build --workspace --examples` then
//! `target/debug/examples/fit_bench [--rounds 3] [--steps 12] [--chunk 16]`; prints a Markdown table.

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::backend::Flex;
use ranker_data::{synth_file, SynthOptions};
use ranker_dist::{DistEnv, DistOptions};
use ranker_train::config::{Config, Override};
use ranker_train::{train_on, Resume, TrainObserver};

/// One configuration measured.
struct Variant {
    name: &'static str,
    /// `--set` overrides on top of the quickstart config (`{chunk}` is replaced by `--chunk`).
    sets: &'static [&'static str],
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: "fp32",
        sets: &[],
    },
    Variant {
        name: "bf16",
        sets: &["train.precision=bf16"],
    },
    Variant {
        name: "fp16",
        sets: &["train.precision=fp16"],
    },
    Variant {
        name: "fp32, max_pairs_per_forward {chunk}",
        sets: &["train.max_pairs_per_forward={chunk}"],
    },
    Variant {
        name: "fp32, activation_checkpointing",
        sets: &["train.activation_checkpointing=true"],
    },
];

struct Options {
    rounds: usize,
    steps: usize,
    chunk: usize,
    one: Option<usize>,
    data: Option<PathBuf>,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        rounds: 3,
        steps: 12,
        chunk: 16,
        one: None,
        data: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number = || value.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--rounds" => o.rounds = number()?,
            "--steps" => o.steps = number()?,
            "--chunk" => o.chunk = number()?,
            "--one" => o.one = Some(number()?),
            "--data" => o.data = Some(PathBuf::from(&value)),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(o)
}

struct Quiet;
impl TrainObserver for Quiet {}

/// What one child measured.
struct Measurement {
    pairs_per_s: f64,
    peak_rss_mib: f64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Trains variant `index` in this process and prints `pairs_per_s peak_rss_mib`.
fn run_one(o: &Options, index: usize, data: &Path) -> Result<(), String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let yaml = std::fs::read_to_string(repo.join("configs/quickstart.yaml"))
        .map_err(|e| format!("configs/quickstart.yaml: {e}"))?;
    let out = tempfile::tempdir().map_err(|e| e.to_string())?;
    let model = repo.join("configs/models/deberta-v3-tiny");
    let mut sets = vec![
        format!("data.train={}", data.display()),
        "data.dev=null".into(),
        "data.test=null".into(),
        format!("model.backbone.path={}", model.display()),
        format!("train.max_steps={}", o.steps),
        "train.log_every=1".into(),
        format!("run.output_dir={}", out.path().display()),
    ];
    sets.extend(
        VARIANTS[index]
            .sets
            .iter()
            .map(|s| s.replace("{chunk}", &o.chunk.to_string())),
    );
    let overrides: Vec<Override> = sets
        .iter()
        .map(|s| s.parse().map_err(|e| format!("{s}: {e}")))
        .collect::<Result<_, String>>()?;
    let config = Config::from_yaml_str(&yaml, Path::new("quickstart.yaml"), &overrides)
        .map_err(|e| e.to_string())?;
    let env = DistEnv::from_map(&Default::default()).map_err(|e| e.to_string())?;
    let mut pg = ranker_dist::init(env, &DistOptions::default()).map_err(|e| e.to_string())?;
    train_on::<Flex>(
        &config,
        &mut pg,
        &Default::default(),
        Resume::Auto,
        &mut Quiet,
    )
    .map_err(|e| e.to_string())?;
    let metrics = std::fs::read_to_string(out.path().join("metrics.jsonl"))
        .map_err(|e| format!("metrics.jsonl: {e}"))?;
    let steps: Vec<serde_json::Value> = metrics
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v.get("loss").is_some())
        .collect();
    let field = |v: &serde_json::Value, key: &str| v[key].as_f64().unwrap_or(f64::NAN);
    let throughput = median(
        steps
            .iter()
            .skip(2)
            .map(|v| field(v, "pairs_per_s"))
            .collect(),
    );
    let peak = steps.last().map_or(f64::NAN, |v| field(v, "peak_rss_mib"));
    println!("{throughput} {peak}");
    Ok(())
}

fn measure(o: &Options, index: usize, data: &Path) -> Result<Measurement, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new(exe)
        .env("RANKER_LOG", "warn")
        .args(["--one", &index.to_string(), "--steps", &o.steps.to_string()])
        .args(["--chunk", &o.chunk.to_string()])
        .arg("--data")
        .arg(data)
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "{}: {}",
            VARIANTS[index].name,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    match (fields.next(), fields.next()) {
        (Some(Ok(pairs_per_s)), Some(Ok(peak_rss_mib))) => Ok(Measurement {
            pairs_per_s,
            peak_rss_mib,
        }),
        _ => Err(format!(
            "{}: unexpected output {text:?}",
            VARIANTS[index].name
        )),
    }
}

fn main() -> Result<(), String> {
    let o = parse()?;
    if let (Some(index), Some(data)) = (o.one, o.data.as_deref()) {
        return run_one(&o, index, data);
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data = dir.path().join("train.jsonl");
    let items = (o.steps * 8 + 8).max(64);
    let synth = SynthOptions {
        n_items: items,
        n_candidates: 11,
        seed: 1,
        ..SynthOptions::default()
    };
    synth_file(&data, synth, &|_| {}).map_err(|e| e.to_string())?;
    let mut results: Vec<Vec<Measurement>> = VARIANTS.iter().map(|_| Vec::new()).collect();
    for round in 0..o.rounds {
        for (index, variant) in VARIANTS.iter().enumerate() {
            let m = measure(&o, index, &data)?;
            eprintln!(
                "round {}: {}: {:.1} pairs/s, peak RSS {:.1} MiB",
                round + 1,
                variant.name.replace("{chunk}", &o.chunk.to_string()),
                m.pairs_per_s,
                m.peak_rss_mib
            );
            results[index].push(m);
        }
    }
    println!(
        "| variant | pairs/s (median of {}) | peak RSS MiB (median) |",
        o.rounds
    );
    println!("| --- | --- | --- |");
    for (variant, ms) in VARIANTS.iter().zip(&results) {
        println!(
            "| {} | {:.1} | {:.1} |",
            variant.name.replace("{chunk}", &o.chunk.to_string()),
            median(ms.iter().map(|m| m.pairs_per_s).collect()),
            median(ms.iter().map(|m| m.peak_rss_mib).collect()),
        );
    }
    Ok(())
}
