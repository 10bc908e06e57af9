//! Shared helpers of the integration tests: fixture paths and a table-lookup pairwise scorer.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use ranker_eval::{EvalError, ItemText, PairRef, PairScorer};
use serde_json::Value;

/// `tests/fixtures/<rel>` at the repository root.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(rel)
}

/// A fixture JSON file.
pub fn load_json(rel: &str) -> Value {
    let path = fixture(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

pub fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

pub fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(f64s).collect()
}

/// `|a − b| ≤ tol · max(1, |b|)`, NaN equal to NaN.
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol * b.abs().max(1.0)
}

pub fn assert_close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(close(a, b, tol), "{what}: {a} vs {b}");
}

/// A scorer that looks `f(i, j)` up in a per-item table: the item is found by `key` (its id or its source), and
/// each candidate text by its position in the item's list of texts.
pub struct TableScorer {
    pub by_id: bool,
    pub tables: HashMap<String, (Vec<String>, Vec<Vec<f64>>)>,
    pub calls: u64,
}

impl TableScorer {
    pub fn new(by_id: bool) -> Self {
        Self {
            by_id,
            tables: HashMap::new(),
            calls: 0,
        }
    }

    pub fn insert(&mut self, key: &str, texts: Vec<String>, table: Vec<Vec<f64>>) {
        self.tables.insert(key.to_owned(), (texts, table));
    }
}

pub struct TableItem {
    key: String,
    codes: Vec<usize>,
}

impl PairScorer for TableScorer {
    type Prepared = TableItem;

    fn prepare(&mut self, item: &ItemText<'_>) -> Result<TableItem, EvalError> {
        let key = if self.by_id { item.id } else { item.source };
        let (texts, _) = &self.tables[key];
        let codes = item
            .candidates
            .iter()
            .map(|c| {
                texts
                    .iter()
                    .position(|t| t == c)
                    .unwrap_or_else(|| panic!("text {c:?}"))
            })
            .collect();
        Ok(TableItem {
            key: key.to_owned(),
            codes,
        })
    }

    fn score_pairs(&mut self, pairs: &[PairRef<'_, TableItem>]) -> Result<Vec<f64>, EvalError> {
        self.calls += pairs.len() as u64;
        Ok(pairs
            .iter()
            .map(|p| {
                let table = &self.tables[&p.item.key].1;
                table[p.item.codes[p.left]][p.item.codes[p.right]]
            })
            .collect())
    }
}

/// Runs `body(rank, collective)` on `world` threads joined by a [`ranker_dist::HostCollective`] ring over
/// loopback TCP (a real store server, as the launcher hosts it); returns each rank's result in rank order.
pub fn run_ring<R: Send + 'static>(
    world: usize,
    body: impl Fn(usize, &mut dyn ranker_dist::Collective) -> R + Send + Sync + 'static,
) -> Vec<R> {
    use std::sync::Arc;
    use std::time::Duration;

    use ranker_dist::{HostCollective, StoreClient, StoreServer};

    const TOKEN: &str = "eval-test";
    let server = StoreServer::bind("127.0.0.1:0", TOKEN).unwrap();
    let addr = server.local_addr().to_string();
    let body = Arc::new(body);
    let handles: Vec<_> = (0..world)
        .map(|rank| {
            let addr = addr.clone();
            let body = Arc::clone(&body);
            std::thread::spawn(move || {
                let store = StoreClient::connect(&addr, TOKEN, Duration::from_secs(30)).unwrap();
                let mut coll = HostCollective::connect(
                    &store,
                    "eval",
                    rank,
                    world,
                    TOKEN,
                    Duration::from_secs(60),
                )
                .unwrap();
                body(rank, &mut coll)
            })
        })
        .collect();
    let out = handles.into_iter().map(|h| h.join().unwrap()).collect();
    drop(server);
    out
}

/// A synthetic MixInstruct-format dataset (ranker-data's generator), loaded with every metric it has.
pub fn synth_dataset(
    dir: &std::path::Path,
    n_items: usize,
    n_candidates: usize,
) -> ranker_data::Dataset {
    let options = ranker_data::SynthOptions {
        n_items,
        n_candidates,
        seed: 7,
        cmp_fraction: 0.6,
        ..Default::default()
    };
    let items = ranker_data::synth_items(options).unwrap();
    let path = dir.join("synth.jsonl");
    ranker_data::atomic::write_jsonl(&path, &items).unwrap();
    ranker_data::Dataset::load(&path, &ranker_data::LoadOptions::default()).unwrap()
}

/// The report as JSON without its `timings` (the only part that may depend on the world size).
pub fn report_without_timings(report: &ranker_eval::Report) -> Value {
    let mut value = serde_json::to_value(report).unwrap();
    value
        .as_object_mut()
        .unwrap()
        .remove("timings")
        .expect("timings present");
    value
}
