//! Optimiser step time: per tensor (`Optimizer::step`) vs over the flat parameter buffer
//! (`Optimizer::step_flat`) for AdamW and Adafactor, on the PairRanker of a benchmark config
//! (default `experiments/bench/pair_ranker_config.json`), with a fixed random gradient.
//!
//! The two paths alternate, `--rounds` rounds of `--steps` steps each; the output is the median step time
//! of each. A benchmark, not a test: it prints numbers and asserts nothing about them.
//!
//! Usage: `optim_bench [--config FILE] [--rounds N] [--steps N]` (`RAYON_NUM_THREADS` sets the threads).

use std::path::PathBuf;
use std::time::Instant;

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Distribution, Tensor};
use ranker_models::ranker::PairRankerConfig;
use ranker_models::BackboneConfig;
use ranker_train::config::OptimizerKind;
use ranker_train::optim::{Optimizer, OptimizerRule, ParamTable};

type Train = Autodiff<Flex>;

fn main() {
    let mut config = PathBuf::from("experiments/bench/pair_ranker_config.json");
    let (mut rounds, mut steps) = (5usize, 8usize);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--config" => config = PathBuf::from(value),
            "--rounds" => rounds = value.parse().expect("--rounds: a number"),
            "--steps" => steps = value.parse().expect("--steps: a number"),
            other => panic!("unknown argument {other}"),
        }
    }
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&config).unwrap_or_else(|e| panic!("{}: {e}", config.display())),
    )
    .expect("a JSON benchmark config");
    let backbone = BackboneConfig::from_json(json["backbone"].clone(), &config).expect("backbone");
    let device = Default::default();
    let model = PairRankerConfig::new()
        .with_n_tasks(1)
        .init::<Train>(backbone.init(&device), &device);
    let table = ParamTable::of(&model);
    let grad = Tensor::<Flex, 1>::random([table.numel()], Distribution::Normal(0.0, 1e-3), &device);
    println!(
        "{}: {} tensors, {} parameters; {rounds} rounds of {steps} steps, threads {}",
        config.display(),
        table.entries().len(),
        table.numel(),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "(all cores)".into())
    );
    for kind in [OptimizerKind::Adamw, OptimizerKind::Adafactor] {
        let mut times = [Vec::new(), Vec::new()];
        for _ in 0..rounds {
            for (flat, out) in [false, true].into_iter().zip(times.iter_mut()) {
                let mut optimizer = Optimizer::<Flex>::new(OptimizerRule::from_config(kind, 0.01));
                let mut m = model.clone();
                // The first step allocates the state; it is not timed.
                for step in 0..=steps {
                    let started = Instant::now();
                    m = if flat {
                        optimizer.step_flat(m, &table, grad.clone(), 1e-5)
                    } else {
                        optimizer.step(m, &table.unflatten(grad.clone()), 1e-5)
                    };
                    if step > 0 {
                        out.push(started.elapsed().as_secs_f64() * 1e3);
                    }
                }
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let [per_tensor, flat] = &mut times;
        println!(
            "{kind:?}: per tensor {:.1} ms, flat {:.1} ms (median step)",
            median(per_tensor),
            median(flat)
        );
    }
}
