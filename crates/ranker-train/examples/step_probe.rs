//! Time and peak memory of PairRanker training steps (or inference forwards) on one device, for the GPU
//! scripts: `experiments/gpu/memory.sh` runs it once per cell of its memory table, `experiments/gpu/bench.sh`
//! for its throughput table next to PyTorch (`experiments/bench/pair_ranker_bench.py` on the same config).
//!
//! The model is a random-init PairRanker on the DeBERTa-v3 backbone of a benchmark config
//! (`experiments/gpu/pair_ranker_large.json`: DeBERTa-v3-large's shape, 24 layers, hidden 1024, 16 heads,
//! ffn 4096, vocab 128100, 256 position buckets; `pair_ranker_smoke.json`: the same at tiny dimensions for a
//! CPU smoke run). A training step is what the trainer does: forward + backward of the pair rows on the
//! mixed-precision view of the f32 model, the f32 gradient flattened, and an AdamW update with f32 state
//! (over the flat buffer on a GPU, per tensor on the CPU, as the trainer does; one device: no
//! all-reduce). The first step is reported apart (`first_step_s`: on CUDA it includes compiling the
//! kernels); `step_s` is the median of the others.
//!
//! Peak: on CUDA, the bytes cubecl's memory pools hold after the steps (pools only grow between cleanups,
//! so this is their high-water mark); on CPU, the process's `VmHWM`.
//! Output: one JSON line with the settings (`backend`: burn's name for it, `fusion<..>` when fused),
//! `first_step_s`, `step_s`, `pairs_per_s`, with `--split` the medians `forward_s`, `backward_s`, `optimizer_s`
//! (the device synchronised between them, which the plain step does not do), `peak_bytes`, `peak_source` and
//! `params`.
//!
//! Usage: `step_probe [--config FILE] [--seq N] [--pairs N] [--precision fp32|bf16|fp16]
//! [--checkpointing on|off] [--steps N] [--split] [--mode train|infer] [--device cuda|cpu]`
//! (`--seq` and `--pairs` override the config's; cuda needs `--features cuda`, and runs burn's operation
//! fusion with `--features cuda,fusion`).

use std::path::PathBuf;
use std::time::Instant;

use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, NoCheckpointing};
use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use ranker_models::collate::{PairBatch, TokenMatrix};
use ranker_models::ranker::{PairInput, PairRanker, PairRankerConfig};
use ranker_models::{loss::PairLoss, BackboneConfig};
use ranker_train::config::Precision;
use ranker_train::optim::{Optimizer, OptimizerRule, ParamTable};
use ranker_train::precision::MixedPrecision;

struct Args {
    config: PathBuf,
    seq: Option<usize>,
    pairs: Option<usize>,
    precision: Precision,
    checkpointing: bool,
    steps: usize,
    split: bool,
    infer: bool,
    cuda: bool,
    kernel_log: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        config: PathBuf::from("experiments/gpu/pair_ranker_large.json"),
        seq: None,
        pairs: None,
        precision: Precision::Fp32,
        checkpointing: false,
        steps: 2,
        split: false,
        infer: false,
        cuda: false,
        kernel_log: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |flag: &str, v: String| v.parse().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--config" => args.config = PathBuf::from(value()?),
            "--seq" => args.seq = Some(number("--seq", value()?)?),
            "--pairs" => args.pairs = Some(number("--pairs", value()?)?),
            "--steps" => args.steps = number("--steps", value()?)?,
            "--precision" => {
                args.precision = match value()?.as_str() {
                    "fp32" => Precision::Fp32,
                    "bf16" => Precision::Bf16,
                    "fp16" => Precision::Fp16,
                    other => return Err(format!("--precision: {other} (fp32, bf16, fp16)")),
                }
            }
            "--checkpointing" => args.checkpointing = on_off("--checkpointing", &value()?)?,
            "--split" => args.split = true,
            "--mode" => {
                args.infer = match value()?.as_str() {
                    "train" => false,
                    "infer" => true,
                    other => return Err(format!("--mode: {other} (train, infer)")),
                }
            }
            "--device" => {
                args.cuda = match value()?.as_str() {
                    "cuda" => true,
                    "cpu" => false,
                    other => return Err(format!("--device: {other} (cuda, cpu)")),
                }
            }
            "--kernel-log" => args.kernel_log = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.steps < 2 {
        return Err("--steps: at least 2 (the first is timed apart)".into());
    }
    if args.kernel_log.is_some() && !args.cuda {
        return Err("--kernel-log: only with --device cuda (cubecl logs the launches)".into());
    }
    Ok(args)
}

fn on_off(flag: &str, v: &str) -> Result<bool, String> {
    match v {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("{flag}: {other} (on, off)")),
    }
}

/// The benchmark config: pair rows per step, tokens per row and the DeBERTa-v3 backbone.
struct Shape {
    pairs: usize,
    seq: usize,
    backbone: BackboneConfig,
}

fn read_shape(args: &Args) -> Result<Shape, String> {
    let path = &args.config;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let field = |key: &str| {
        json[key]
            .as_u64()
            .map(|v| v as usize)
            .ok_or(format!("{}: `{key}` must be a number", path.display()))
    };
    let backbone = BackboneConfig::from_json(json["backbone"].clone(), path)
        .map_err(|e| format!("{}: backbone: {e}", path.display()))?;
    Ok(Shape {
        pairs: args.pairs.map_or_else(|| field("pairs"), Ok)?,
        seq: args.seq.map_or_else(|| field("seq_len"), Ok)?,
        backbone,
    })
}

/// Deterministic token ids and the three markers where a PairRanker row has them (source, candidate 1,
/// candidate 2: thirds of the row, as 128 + 2 × 128).
fn pair_batch(rows: usize, seq: usize, vocab: usize) -> PairBatch {
    let ids = (0..rows * seq)
        .map(|i| 5 + (i as u32).wrapping_mul(7919) % (vocab as u32 - 5))
        .collect();
    PairBatch {
        tokens: TokenMatrix {
            ids,
            mask: vec![1; rows * seq],
            rows,
            cols: seq,
        },
        source_pos: vec![1; rows],
        candidate1_pos: vec![1 + seq / 3; rows],
        candidate2_pos: vec![1 + 2 * seq / 3; rows],
    }
}

/// A random-init one-task PairRanker of the benchmark's shape.
fn random_model<B: Backend>(shape: &Shape, device: &B::Device) -> PairRanker<B> {
    PairRankerConfig::new()
        .with_n_tasks(1)
        .init(shape.backbone.init::<B>(device), device)
}

#[derive(Default)]
struct Timings {
    steps: Vec<f64>,
    forward: Vec<f64>,
    backward: Vec<f64>,
    optimizer: Vec<f64>,
    kernels: KernelCount,
}

impl Timings {
    fn new(args: &Args) -> Self {
        Self {
            kernels: KernelCount::new(args.kernel_log.as_ref()),
            ..Self::default()
        }
    }
}

/// The kernel launches of the second step, read from cubecl's launch log (`--kernel-log`).
#[derive(Default)]
struct KernelCount {
    log: Option<PathBuf>,
    /// Log lines written when the first step ended.
    after_first: usize,
    /// Kernel names launched during the second step.
    second: Option<Vec<String>>,
}

impl KernelCount {
    fn new(log: Option<&PathBuf>) -> Self {
        Self {
            log: log.cloned(),
            ..Self::default()
        }
    }

    /// Called after step `step` has finished on the device.
    fn step_done(&mut self, step: usize) {
        let Some(log) = &self.log else { return };
        match step {
            0 => self.after_first = settled_lines(log).len(),
            1 => {
                let lines = settled_lines(log);
                let names = lines.get(self.after_first..).unwrap_or_default();
                self.second = Some(
                    names
                        .iter()
                        .map(|l| l.strip_prefix("Executing ").unwrap_or(l).to_string())
                        .collect(),
                );
            }
            _ => {}
        }
    }

    /// `kernels_per_step` and the eight most launched kernels of the second step.
    fn report(&self) -> (Option<usize>, Option<Vec<serde_json::Value>>) {
        let Some(names) = &self.second else {
            return (None, None);
        };
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for name in names {
            *counts.entry(name.as_str()).or_default() += 1;
        }
        let mut top: Vec<_> = counts.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let top = top
            .into_iter()
            .take(8)
            .map(|(name, n)| serde_json::json!({ "kernel": name, "launches": n }))
            .collect();
        (Some(names.len()), Some(top))
    }
}

/// The lines of cubecl's launch log once its writer thread has caught up: the line count unchanged
/// for 200 ms (at most 10 s of waiting).
fn settled_lines(log: &std::path::Path) -> Vec<String> {
    let read = || {
        std::fs::read_to_string(log)
            .map(|t| t.lines().map(str::to_string).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    let mut lines = read();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let now = read();
        if now.len() == lines.len() || Instant::now() > deadline {
            return now;
        }
        lines = now;
    }
}

fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Seconds since `since`, after the device finished its queued work.
fn lap<B: Backend>(since: Instant, device: &B::Device) -> f64 {
    B::sync(device).expect("device sync");
    since.elapsed().as_secs_f64()
}

fn train_steps<B: AutodiffBackend>(
    args: &Args,
    shape: &Shape,
    device: &B::Device,
) -> (Timings, usize) {
    let mut model = random_model::<B>(shape, device);
    let table = ParamTable::of(&model);
    let mut optimizer = Optimizer::<B::InnerBackend>::new(OptimizerRule::from_config(
        ranker_train::config::OptimizerKind::Adamw,
        0.01,
    ));
    let mixed = MixedPrecision::new(args.precision);
    let batch = pair_batch(shape.pairs, shape.seq, shape.backbone.vocab_size());
    let mut t = Timings::new(args);
    for step in 0..args.steps {
        let started = Instant::now();
        let input = PairInput::from_batch(&batch, device);
        let scores = |v: f32| Tensor::<B, 2>::full([shape.pairs, 1], v, device);
        let compute = mixed.compute_model(model.clone());
        let (_, loss) =
            compute.forward_loss(input, scores(0.7), scores(0.3), PairLoss::InstructGpt);
        let forward = args.split.then(|| lap::<B>(started, device));
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let flat = table.flatten::<B::InnerBackend>(&grads, device);
        let backward = args.split.then(|| lap::<B>(started, device));
        // The training loop's choice: the flat AdamW step on a GPU, per tensor on the CPU.
        model = if args.cuda {
            optimizer.step_flat(model, &table, flat, 1e-5)
        } else {
            optimizer.step(model, &table.unflatten(flat), 1e-5)
        };
        let total = lap::<B>(started, device);
        t.kernels.step_done(step);
        t.steps.push(total);
        if let (Some(f), Some(b)) = (forward, backward) {
            t.forward.push(f);
            t.backward.push(b - f);
            t.optimizer.push(total - b);
        }
    }
    (t, table.numel())
}

fn infer_steps<B: AutodiffBackend>(
    args: &Args,
    shape: &Shape,
    device: &B::Device,
) -> (Timings, usize) {
    let model = random_model::<B>(shape, device);
    let params = ParamTable::of(&model).numel();
    let model = MixedPrecision::new(args.precision).compute_model(model.valid());
    let batch = pair_batch(shape.pairs, shape.seq, shape.backbone.vocab_size());
    let mut t = Timings::new(args);
    for step in 0..args.steps {
        let started = Instant::now();
        let scores = model.score_pairs(&batch, device);
        drop(scores);
        t.steps.push(lap::<B::InnerBackend>(started, device));
        t.kernels.step_done(step);
    }
    (t, params)
}

fn run<B: AutodiffBackend>(args: &Args, shape: &Shape, device: &B::Device) -> serde_json::Value {
    let (t, params) = if args.infer {
        infer_steps::<B>(args, shape, device)
    } else {
        train_steps::<B>(args, shape, device)
    };
    let (peak, source) = peak_memory::<B>(args, device);
    let step_s = median(&t.steps[1..]).expect("at least two steps");
    let (kernels_per_step, top_kernels) = t.kernels.report();
    serde_json::json!({
        "mode": if args.infer { "infer" } else { "train" },
        "seq": shape.seq,
        "pairs": shape.pairs,
        "precision": args.precision.as_str(),
        "checkpointing": args.checkpointing,
        "device": if args.cuda { "cuda" } else { "cpu" },
        "backend": B::name(device),
        "steps": args.steps,
        "first_step_s": t.steps[0],
        "step_s": step_s,
        "pairs_per_s": shape.pairs as f64 / step_s,
        "forward_s": median(t.forward.get(1..).unwrap_or_default()),
        "backward_s": median(t.backward.get(1..).unwrap_or_default()),
        "optimizer_s": median(t.optimizer.get(1..).unwrap_or_default()),
        "peak_bytes": peak,
        "peak_source": source,
        "params": params,
        "kernels_per_step": kernels_per_step,
        "top_kernels": top_kernels,
    })
}

fn peak_memory<B: AutodiffBackend>(args: &Args, device: &B::Device) -> (u64, &'static str) {
    #[cfg(feature = "cuda")]
    if args.cuda {
        return (cuda_pool_bytes::<B>(device), "cubecl_pool_reserved");
    }
    let _ = (args, device);
    let peak = ranker_train::memory::peak_rss_bytes().unwrap_or(0);
    (peak, "vm_hwm")
}

#[cfg(feature = "cuda")]
fn cuda_pool_bytes<B: AutodiffBackend>(device: &B::Device) -> u64 {
    use burn::backend::cuda::CudaDevice;
    use burn_cubecl::cubecl::cuda::CudaRuntime;
    use burn_cubecl::cubecl::Runtime;
    // burn-cuda's device, fused or not; cubecl's client for it owns the memory pools.
    let any: &dyn std::any::Any = device;
    let device = any
        .downcast_ref::<CudaDevice>()
        .expect("a burn-cuda device");
    CudaRuntime::client(device)
        .memory_usage()
        .map(|u| u.bytes_reserved)
        .unwrap_or(0)
}

fn main() {
    let fail = |e: String| -> ! {
        eprintln!("step_probe: {e}");
        std::process::exit(2);
    };
    let args = parse_args().unwrap_or_else(|e| fail(e));
    let shape = read_shape(&args).unwrap_or_else(|e| fail(e));
    #[cfg(feature = "cuda")]
    if args.cuda {
        // Compiled kernels persist in RANKER_KERNEL_CACHE: only a process with an empty cache starts cold.
        ranker_train::kernel_cache::configure_with(|config| {
            if let Some(path) = &args.kernel_log {
                use burn_cubecl::cubecl::config::profiling::ProfilingLogLevel;
                config.profiling.logger.level = ProfilingLogLevel::Minimal;
                config.profiling.logger.file = Some(path.clone());
                config.profiling.logger.append = false;
            }
        });
    }
    let line = match (args.cuda, args.checkpointing) {
        (false, false) => {
            run::<Autodiff<Flex, NoCheckpointing>>(&args, &shape, &Default::default())
        }
        (false, true) => {
            run::<Autodiff<Flex, BalancedCheckpointing>>(&args, &shape, &Default::default())
        }
        #[cfg(feature = "cuda")]
        (true, false) => run::<Autodiff<burn::backend::Cuda, NoCheckpointing>>(
            &args,
            &shape,
            &Default::default(),
        ),
        #[cfg(feature = "cuda")]
        (true, true) => run::<Autodiff<burn::backend::Cuda, BalancedCheckpointing>>(
            &args,
            &shape,
            &Default::default(),
        ),
        #[cfg(not(feature = "cuda"))]
        (true, _) => fail("--device cuda needs a build with --features cuda".into()),
    };
    println!("{line}");
}
