//! Inference cost: full vs bubble forwards and pairs/s for n = 11 candidates, and 1 vs 2 workers.
//!
//! ```text
//! cargo bench -p ranker-eval --bench inference -- [--items 32] [--candidates 11] [--batch-size 32]
//!     [--scorer tiny|synthetic] [--work 20000] [--workers 1,2]
//! ```
//!
//! `--scorer tiny` (default) runs a random-init PairRanker on the tiny DeBERTa-v3-style fixture
//! (`tests/fixtures/models/deberta-v3-tiny`, hidden 32, 2 layers) on the Flex CPU backend; `--scorer synthetic`
//! runs [`SyntheticScorer`], a hash-based stand-in that spends `--work` hashing rounds per pair to simulate a
//! model's cost — its numbers measure the engine, not a model, and every line says which scorer it was.
//! Workers are threads of this process joined by the host (TCP loopback) collective, each with its own scorer,
//! exactly as `launch` ranks would be; on a CPU they share the cores. Prints one JSON object per measurement.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use burn::backend::Flex;
use burn::tensor::backend::Backend;
use ranker_data::{Dataset, LoadOptions, SynthOptions};
use ranker_dist::{Collective, HostCollective, StoreClient, StoreServer};
use ranker_eval::{
    evaluate_pairwise, predict_pairwise, Aggregation, BatchOptions, BubbleOptions, EvalOptions,
    ItemText, PairInference, PairRankerScorer, PairScorer, SyntheticScorer,
};
use ranker_models::collate::{PairCollator, PairTokenizer};
use ranker_models::ranker::{PairRanker, PairRankerConfig};
use ranker_models::BackboneConfig;

struct Args {
    items: usize,
    candidates: usize,
    batch_size: usize,
    scorer: String,
    work: u32,
    workers: Vec<usize>,
}

fn parse_args() -> Args {
    let mut args = Args {
        items: 32,
        candidates: 11,
        batch_size: 32,
        scorer: "tiny".into(),
        work: 20_000,
        workers: vec![1, 2],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            // cargo bench appends --bench to every bench target's arguments.
            "--bench" => {}
            "--items" => args.items = value().parse().expect("--items: a number"),
            "--candidates" => args.candidates = value().parse().expect("--candidates: a number"),
            "--batch-size" => args.batch_size = value().parse().expect("--batch-size: a number"),
            "--scorer" => args.scorer = value(),
            "--work" => args.work = value().parse().expect("--work: a number"),
            "--workers" => {
                args.workers = value()
                    .split(',')
                    .map(|w| w.parse().expect("--workers: numbers"))
                    .collect()
            }
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

fn dataset(dir: &Path, items: usize, candidates: usize) -> Dataset {
    let options = SynthOptions {
        n_items: items,
        n_candidates: candidates,
        seed: 3,
        ..Default::default()
    };
    let path = dir.join("bench.jsonl");
    ranker_data::atomic::write_jsonl(&path, ranker_data::synth_items(options).unwrap()).unwrap();
    Dataset::load(&path, &LoadOptions::default()).unwrap()
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/models/deberta-v3-tiny")
}

/// Builds a fresh scorer for one worker.
trait MakeScorer: Send + Sync {
    type Scorer: PairScorer;
    fn make(&self) -> Self::Scorer;
    fn label(&self) -> String;
}

struct Tiny {
    model: PairRanker<Flex>,
    tokenizer: PairTokenizer,
}

impl MakeScorer for Tiny {
    type Scorer = PairRankerScorer<Flex>;

    fn make(&self) -> PairRankerScorer<Flex> {
        let collator = PairCollator::new(self.tokenizer.clone(), 32, 16).unwrap();
        PairRankerScorer::new(self.model.clone(), collator, Default::default()).unwrap()
    }

    fn label(&self) -> String {
        "tiny PairRanker (random-init deberta-v3-tiny, Flex CPU)".into()
    }
}

struct Synthetic(u32);

impl MakeScorer for Synthetic {
    type Scorer = SyntheticScorer;

    fn make(&self) -> SyntheticScorer {
        SyntheticScorer::with_work(self.0)
    }

    fn label(&self) -> String {
        format!(
            "SYNTHETIC cost-simulating scorer ({} hash rounds/pair), not a model",
            self.0
        )
    }
}

fn tiny() -> Tiny {
    let device = Default::default();
    let tokenizer = PairTokenizer::from_dir(&fixture_dir()).unwrap();
    let config = BackboneConfig::from_file(&fixture_dir().join("config.json"))
        .unwrap()
        .with_vocab_size(tokenizer.vocab_size());
    Flex::seed(&device, 7);
    let model = PairRankerConfig::new().init::<Flex>(config.init(&device), &device);
    // Clones go to several workers: fix the lazily initialized weights first.
    ranker_eval::model::materialize_params(&model);
    Tiny { model, tokenizer }
}

fn run<M: MakeScorer + 'static>(make: M, args: &Args) {
    let tmp = tempfile::tempdir().unwrap();
    let data = Arc::new(dataset(tmp.path(), args.items, args.candidates));
    let items = ItemText::from_examples(&data.examples);
    let batch = BatchOptions::with_batch_size(args.batch_size);
    let modes = [
        ("full", PairInference::Full(Aggregation::MaxLogits)),
        ("bubble", PairInference::Bubble(BubbleOptions::default())),
    ];
    for (name, mode) in modes {
        let mut scorer = make.make();
        let started = Instant::now();
        let (_, stats) = predict_pairwise(&mut scorer, &items, &mode, &batch, false).unwrap();
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{{\"measure\":\"mode\",\"scorer\":{:?},\"mode\":\"{name}\",\"items\":{},\"candidates\":{},\
             \"batch_size\":{},\"forwards\":{},\"forwards_per_item\":{},\"seconds\":{seconds:.4},\
             \"pairs_per_s\":{:.1}}}",
            make.label(),
            args.items,
            args.candidates,
            args.batch_size,
            stats.forwards,
            stats.forwards / args.items as u64,
            stats.forwards as f64 / seconds
        );
    }
    let make = Arc::new(make);
    for &workers in &args.workers {
        let seconds = workers_wall_time(workers, Arc::clone(&make), Arc::clone(&data), batch);
        println!(
            "{{\"measure\":\"workers\",\"scorer\":{:?},\"mode\":\"full\",\"workers\":{workers},\"items\":{},\
             \"seconds\":{seconds:.4}}}",
            make.label(),
            args.items
        );
    }
}

fn workers_wall_time<M: MakeScorer + 'static>(
    world: usize,
    make: Arc<M>,
    data: Arc<Dataset>,
    batch: BatchOptions,
) -> f64 {
    const TOKEN: &str = "bench";
    let server = StoreServer::bind("127.0.0.1:0", TOKEN).unwrap();
    let addr = server.local_addr().to_string();
    let started = Instant::now();
    let handles: Vec<_> = (0..world)
        .map(|rank| {
            let (addr, make, data) = (addr.clone(), Arc::clone(&make), Arc::clone(&data));
            std::thread::spawn(move || {
                let store = StoreClient::connect(&addr, TOKEN, Duration::from_secs(30)).unwrap();
                let mut coll: Box<dyn Collective> = Box::new(
                    HostCollective::connect(
                        &store,
                        "bench",
                        rank,
                        world,
                        TOKEN,
                        Duration::from_secs(600),
                    )
                    .unwrap(),
                );
                let options = EvalOptions {
                    mode: PairInference::Full(Aggregation::MaxLogits),
                    batch,
                    ..EvalOptions::default()
                };
                let mut scorer = make.make();
                evaluate_pairwise(coll.as_mut(), &data, &mut scorer, &options, None).unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    started.elapsed().as_secs_f64()
}

fn main() {
    let args = parse_args();
    match args.scorer.as_str() {
        "tiny" => run(tiny(), &args),
        "synthetic" => run(Synthetic(args.work), &args),
        other => panic!("--scorer {other}: expected tiny or synthetic"),
    }
}
