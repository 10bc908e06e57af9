//! The library side of `ranker data synth | stats | score`, end to end through files.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use ranker_data::{
    count_items, rescore_file, synth_file, synth_items, DataStats, Dataset, LoadOptions, MixItem,
    SynthOptions,
};
use ranker_metrics::{TextMetric, TextScorer};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn synth_writes_a_set_the_loader_reads_in_either_format() {
    let dir = tempfile::tempdir().unwrap();
    let options = SynthOptions {
        n_items: 1500,
        n_candidates: 8,
        cmp_fraction: 0.3,
        ..Default::default()
    };
    let calls = AtomicUsize::new(0);
    let last = AtomicUsize::new(0);
    let progress = |done: usize| {
        calls.fetch_add(1, Ordering::Relaxed);
        last.store(done, Ordering::Relaxed);
    };
    let jsonl = dir.path().join("synth.jsonl");
    assert_eq!(
        synth_file(&jsonl, options.clone(), &progress).unwrap(),
        1500
    );
    assert_eq!(
        (calls.load(Ordering::Relaxed), last.load(Ordering::Relaxed)),
        (2, 1500),
        "one call per chunk"
    );
    let json = dir.path().join("synth.json");
    synth_file(&json, options.clone(), &|_| {}).unwrap();

    let load = LoadOptions::with_metrics(["rougeL", "bleu"]);
    let from_jsonl = Dataset::load(&jsonl, &load).unwrap();
    let from_json = Dataset::load(&json, &load).unwrap();
    assert_eq!(from_jsonl.examples, from_json.examples);
    assert_eq!(from_jsonl.check_rectangular().unwrap(), 8);
    let with_cmp = from_jsonl
        .examples
        .iter()
        .filter(|e| e.cmp_results.is_some())
        .count();
    assert!(
        (350..550).contains(&with_cmp),
        "{with_cmp} of 1500 have cmp_results"
    );
    // What was written is what the generator makes in memory.
    let first: MixItem = serde_json::from_str(
        std::fs::read_to_string(&jsonl)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        first,
        synth_items(SynthOptions {
            n_items: 1,
            ..options
        })
        .unwrap()[0]
    );
}

#[test]
fn stats_of_a_synthetic_set_show_an_oracle_gap_and_model_spread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synth.jsonl");
    synth_file(
        &path,
        SynthOptions {
            n_items: 300,
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    let dataset = Dataset::load(&path, &LoadOptions::default()).unwrap();
    let stats = DataStats::of(&dataset);
    assert_eq!(
        stats.metrics,
        ["rouge1", "rouge2", "rougeL", "rougeLsum", "bleu"]
    );
    assert_eq!(
        (stats.n_examples, stats.min_candidates, stats.max_candidates),
        (300, 11, 11)
    );
    assert_eq!(stats.by_model.len(), 11);
    assert_eq!(stats.by_position.len(), 11);
    for task in 0..stats.metrics.len() {
        let best_model = stats
            .by_model
            .iter()
            .map(|g| g.mean[task])
            .fold(f64::MIN, f64::max);
        assert!(
            stats.oracle[task] > best_model,
            "choosing per item beats any one model"
        );
        assert!(best_model > stats.mean[task] + 0.2, "models differ clearly");
    }
    assert!(stats.oracle[4] <= 1.0, "bleu is weighted by 0.01");
}

#[test]
fn rescore_replaces_and_adds_metrics_and_keeps_everything_else() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("rescored.jsonl");
    let scorer = TextScorer::new(&[TextMetric::Rouge1, TextMetric::Rouge2]).unwrap();
    let done = AtomicUsize::new(0);
    let written = rescore_file(&data("mini.json"), &output, &scorer, &|n| {
        done.fetch_max(n, Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!((written, done.load(Ordering::Relaxed)), (3, 3));
    assert_eq!(count_items(&output).unwrap(), 3);

    let before: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(data("mini.json")).unwrap()).unwrap();
    let after: Vec<serde_json::Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (old, new) in before.iter().zip(&after) {
        for key in ["id", "input", "output", "cmp_results", "source_dataset"] {
            assert_eq!(old.get(key), new.get(key), "{key} kept");
        }
        for (old_c, new_c) in old["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .zip(new["candidates"].as_array().unwrap())
        {
            assert_eq!(old_c["text"], new_c["text"]);
            assert_eq!(
                old_c.get("gen_len"),
                new_c.get("gen_len"),
                "unknown candidate fields kept"
            );
            assert_eq!(
                old_c["scores"]["bleu"], new_c["scores"]["bleu"],
                "other metrics kept"
            );
            assert!(new_c["scores"]["rouge2"].is_number(), "new metric added");
        }
    }
    // "An apple." against the reference "An apple." — rouge1 was 1.0 and is recomputed as 1.0.
    assert_eq!(after[0]["candidates"][1]["scores"]["rouge1"], 1.0);
    // Scores keep their written order with new metrics appended.
    let names: Vec<&str> = after[0]["candidates"][0]["scores"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect::<Vec<_>>();
    assert_eq!(names.len(), 4);
}

#[test]
fn rescore_in_place_is_atomic_and_a_bad_input_leaves_the_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.json");
    std::fs::copy(data("mini.json"), &path).unwrap();
    let scorer = TextScorer::new(&[TextMetric::Bleu]).unwrap();
    rescore_file(&path, &path, &scorer, &|_| {}).unwrap();
    let reloaded = Dataset::load(&path, &LoadOptions::with_metrics(["bleu"])).unwrap();
    assert_eq!(reloaded.len(), 3);

    let output = dir.path().join("out.jsonl");
    std::fs::write(&output, "previous").unwrap();
    let err = rescore_file(&data("bad/malformed.jsonl"), &output, &scorer, &|_| {}).unwrap_err();
    assert!(
        err.to_string()
            .contains("malformed.jsonl:3:30: malformed JSON"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "previous");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "no temporary file left: {leftovers:?}");
}
