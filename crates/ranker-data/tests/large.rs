//! A 100k-item JSONL file (11 candidates each, as MixInstruct's train split) loads as a stream: the peak memory
//! stays well below what holding the raw text next to the parsed items would take. Its own test binary, so no
//! other test shares the process's peak-memory counter.

use std::fs::File;
use std::io::{BufWriter, Write};

use ranker_data::{Dataset, LoadOptions};

const ITEMS: usize = 100_000;
const CANDIDATES: usize = 11;

fn write_items(path: &std::path::Path) -> u64 {
    let mut out = BufWriter::new(File::create(path).unwrap());
    for i in 0..ITEMS {
        write!(out, r#"{{"id": "train/{i}", "instruction": "", "input": "question number {i}", "output": "answer {i}", "candidates": ["#).unwrap();
        for c in 0..CANDIDATES {
            let separator = if c == 0 { "" } else { ", " };
            let (rouge, bleu, bart) = ((i + c) % 100, (i * 7 + c) % 100, (i + 3 * c) % 50);
            write!(
                out,
                r#"{separator}{{"model": "model-{c}", "decoding_method": "top_p_sampling", "text": "candidate {c} says {i}", "scores": {{"rouge1": 0.{rouge:02}, "bleu": {bleu}.5, "bartscore": -{bart}.25}}}}"#
            )
            .unwrap();
        }
        writeln!(out, "]}}").unwrap();
    }
    out.flush().unwrap();
    drop(out);
    std::fs::metadata(path).unwrap().len()
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`).
#[cfg(target_os = "linux")]
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

#[test]
fn hundred_thousand_items_load_as_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.jsonl");
    let file_bytes = write_items(&path);
    let options = LoadOptions::with_metrics(["bartscore", "bleu"]);
    let dataset = Dataset::load(&path, &options).unwrap();

    assert_eq!(dataset.len(), ITEMS);
    assert_eq!(dataset.check_rectangular().unwrap(), CANDIDATES);
    let last = &dataset.examples[ITEMS - 1];
    assert_eq!(last.id, "train/99999");
    assert_eq!(last.candidates[10], "candidate 10 says 99999");
    let (i, c) = (ITEMS - 1, 10);
    let bleu: f64 = format!("{}.5", (i * 7 + c) % 100).parse().unwrap();
    assert_eq!(
        last.scores.row(c),
        [-(((i + 3 * c) % 50) as f64 + 0.25), bleu * 0.01]
    );
    assert!(
        std::sync::Arc::ptr_eq(&dataset.examples[0].models[3], &last.models[3]),
        "model names are shared"
    );

    #[cfg(target_os = "linux")]
    {
        // Holding the raw text next to the items would peak above the file size; streaming keeps the peak at
        // about the size of the loaded items, which here is below the size of their JSON text.
        let peak = peak_rss();
        assert!(
            peak < file_bytes,
            "peak RSS {} MiB for a {} MiB file",
            peak >> 20,
            file_bytes >> 20
        );
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file_bytes;
}
