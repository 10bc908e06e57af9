//! Peak memory of PairRanker training steps at one sequence length, precision and checkpointing
//! setting (`experiments/gpu/memory.sh` runs it once per cell of its table).
//!
//! The model is a random-init PairRanker on a DeBERTa-v3 backbone: `--size large` is
//! DeBERTa-v3-large's shape (24 layers, hidden 1024, 16 heads, ffn 4096, vocab 128100, 256 position
//! buckets; 435M parameters), `--size tiny` the bundled quickstart shape for a CPU smoke run. A step
//! is what the trainer does: forward + backward of `--pairs` pair rows of `--seq` tokens (one PairRM
//! example's 5 pairs by default) on the mixed-precision view of the f32 model, the f32 gradient
//! flattened, and an AdamW update with f32 state. Two steps run (the second holds the optimiser
//! state); the peak is measured over both.
//!
//! Peak: on CUDA, the bytes cubecl's memory pools hold after the steps (pools only grow between
//! cleanups, so this is their high-water mark); on CPU, the process's `VmHWM`.
//! Output: one JSON line `{"seq", "pairs", "precision", "checkpointing", "device", "peak_bytes",
//! "peak_source", "step_s", "params"}`.
//!
//! Usage: `memory_probe --seq 2048 --precision bf16 --checkpointing on [--pairs 5] [--size large]
//! [--device cuda|cpu]` (cuda needs `--features cuda`).

use std::time::Instant;

use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, NoCheckpointing};
use burn::backend::{Autodiff, Flex};
use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use ranker_models::collate::{PairBatch, TokenMatrix};
use ranker_models::ranker::{PairInput, PairRankerConfig};
use ranker_models::{loss::PairLoss, BackboneConfig};
use ranker_train::config::Precision;
use ranker_train::optim::{Optimizer, OptimizerRule, ParamTable};
use ranker_train::precision::MixedPrecision;

struct Args {
    seq: usize,
    pairs: usize,
    precision: Precision,
    checkpointing: bool,
    large: bool,
    cuda: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seq: 384,
        pairs: 5,
        precision: Precision::Fp32,
        checkpointing: false,
        large: true,
        cuda: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--seq" => args.seq = value()?.parse().map_err(|e| format!("--seq: {e}"))?,
            "--pairs" => args.pairs = value()?.parse().map_err(|e| format!("--pairs: {e}"))?,
            "--precision" => {
                args.precision = match value()?.as_str() {
                    "fp32" => Precision::Fp32,
                    "bf16" => Precision::Bf16,
                    "fp16" => Precision::Fp16,
                    other => return Err(format!("--precision: {other} (fp32, bf16, fp16)")),
                }
            }
            "--checkpointing" => args.checkpointing = value()? == "on",
            "--size" => args.large = value()? == "large",
            "--device" => args.cuda = value()? == "cuda",
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn backbone_config(large: bool) -> BackboneConfig {
    let (layers, hidden, heads, ffn, vocab) = if large {
        (24, 1024, 16, 4096, 128_100)
    } else {
        (2, 32, 2, 64, 128_100)
    };
    let json = serde_json::json!({
        "model_type": "deberta-v2",
        "vocab_size": vocab,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 512,
        "type_vocab_size": 0,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-7,
        "relative_attention": true,
        "max_relative_positions": -1,
        "position_buckets": 256,
        "pad_token_id": 0,
        "position_biased_input": false,
        "pos_att_type": ["p2c", "c2p"],
        "share_att_key": true,
        "norm_rel_ebd": "layer_norm"
    });
    BackboneConfig::from_json(json, std::path::Path::new("memory_probe"))
        .expect("a valid DeBERTa-v3 config")
}

struct Measured {
    step_s: f64,
    params: usize,
}

fn steps<B: AutodiffBackend>(args: &Args, device: &B::Device) -> Measured {
    let config = backbone_config(args.large);
    let vocab = config.vocab_size();
    let model = PairRankerConfig::new()
        .with_n_tasks(1)
        .init(config.init::<B>(device), device);
    let table = ParamTable::of(&model);
    let mut model = model;
    let mut optimizer = Optimizer::<B::InnerBackend>::new(OptimizerRule::from_config(
        ranker_train::config::OptimizerKind::Adamw,
        0.01,
    ));
    let mixed = MixedPrecision::new(args.precision);
    let (rows, seq) = (args.pairs, args.seq);
    // Deterministic token ids; markers where a PairRM row has them (source, candidate 1, candidate 2).
    let ids: Vec<u32> = (0..rows * seq)
        .map(|i| 5 + (i as u32).wrapping_mul(7919) % (vocab as u32 - 5))
        .collect();
    let batch = PairBatch {
        tokens: TokenMatrix {
            ids,
            mask: vec![1; rows * seq],
            rows,
            cols: seq,
        },
        source_pos: vec![0; rows],
        candidate1_pos: vec![seq / 2; rows],
        candidate2_pos: vec![3 * seq / 4; rows],
    };
    let mut elapsed = 0.0;
    for step in 0..2 {
        let started = Instant::now();
        let input = PairInput::from_batch(&batch, device);
        let scores = |v: f32| Tensor::<B, 2>::full([rows, 1], v, device);
        let compute = mixed.compute_model(model.clone());
        let (_, loss) =
            compute.forward_loss(input, scores(0.7), scores(0.3), PairLoss::InstructGpt);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let flat = table.flatten::<B::InnerBackend>(&grads, device);
        model = optimizer.step(model, &table.unflatten(flat), 1e-5);
        // Wait for the device before reading the clock.
        B::sync(device).expect("device sync");
        if step == 1 {
            elapsed = started.elapsed().as_secs_f64();
        }
    }
    Measured {
        step_s: elapsed,
        params: table.numel(),
    }
}

fn run<B: AutodiffBackend>(args: &Args, device: &B::Device) -> (Measured, u64, &'static str) {
    let measured = steps::<B>(args, device);
    #[cfg(feature = "cuda")]
    if args.cuda {
        return (
            measured,
            cuda_pool_bytes::<B>(device),
            "cubecl_pool_reserved",
        );
    }
    let _ = device;
    let peak = ranker_train::memory::peak_rss_bytes().unwrap_or(0);
    (measured, peak, "vm_hwm")
}

#[cfg(feature = "cuda")]
fn cuda_pool_bytes<B: AutodiffBackend>(device: &B::Device) -> u64 {
    use burn::tensor::TensorPrimitive;
    use burn_cubecl::cubecl::cuda::CudaRuntime;
    use burn_cubecl::tensor::CubeTensor;
    let probe = Tensor::<B::InnerBackend, 1>::zeros([1], device);
    let TensorPrimitive::Float(primitive) = probe.into_primitive() else {
        unreachable!("a float tensor");
    };
    let any: Box<dyn std::any::Any> = Box::new(primitive);
    let cube = any
        .downcast::<CubeTensor<CudaRuntime>>()
        .expect("burn-cuda float tensor");
    cube.client
        .memory_usage()
        .map(|u| u.bytes_reserved)
        .unwrap_or(0)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("memory_probe: {e}");
            std::process::exit(2);
        }
    };
    let (measured, peak, source) = match (args.cuda, args.checkpointing) {
        (false, false) => run::<Autodiff<Flex, NoCheckpointing>>(&args, &Default::default()),
        (false, true) => run::<Autodiff<Flex, BalancedCheckpointing>>(&args, &Default::default()),
        #[cfg(feature = "cuda")]
        (true, false) => {
            run::<Autodiff<burn::backend::Cuda, NoCheckpointing>>(&args, &Default::default())
        }
        #[cfg(feature = "cuda")]
        (true, true) => {
            run::<Autodiff<burn::backend::Cuda, BalancedCheckpointing>>(&args, &Default::default())
        }
        #[cfg(not(feature = "cuda"))]
        (true, _) => {
            eprintln!("memory_probe: --device cuda needs a build with --features cuda");
            std::process::exit(2);
        }
    };
    println!(
        "{}",
        serde_json::json!({
            "seq": args.seq,
            "pairs": args.pairs,
            "precision": args.precision.as_str(),
            "checkpointing": args.checkpointing,
            "device": if args.cuda { "cuda" } else { "cpu" },
            "peak_bytes": peak,
            "peak_source": source,
            "step_s": measured.step_s,
            "params": measured.params,
        })
    );
}
