//! ROUGE and BLEU against the scores `rouge-score` and `sacrebleu` gave on the fixture pairs.

mod common;

use common::{close, read_json, read_jsonl};
use ranker_metrics::text::{rouge_tokenize, tokenize_13a, BleuReferences};
use ranker_metrics::{corpus_bleu, rouge_scores, sentence_bleu, BleuScore, TextMetric, TextScorer};
use serde::Deserialize;

#[derive(Deserialize)]
struct Bleu {
    score: f64,
    counts: [u64; 4],
    totals: [u64; 4],
    precisions: [f64; 4],
    bp: f64,
    sys_len: u64,
    ref_len: u64,
}

#[derive(Deserialize)]
struct Pair {
    id: usize,
    kind: String,
    prediction: String,
    references: Vec<String>,
    rouge1: f64,
    rouge2: f64,
    #[serde(rename = "rougeL")]
    rouge_l: f64,
    #[serde(rename = "rougeLsum")]
    rouge_lsum: f64,
    bleu: Bleu,
}

#[derive(Deserialize)]
struct CorpusCase {
    hypotheses: Vec<String>,
    references: Vec<Vec<String>>,
    bleu: Bleu,
}

/// Differences between our BLEU and sacrebleu's, or an empty list.
fn bleu_mismatches(got: &BleuScore, want: &Bleu) -> Vec<String> {
    let mut out = Vec::new();
    if !close(got.score, want.score) {
        out.push(format!("score {} vs {}", got.score, want.score));
    }
    if got.counts != want.counts || got.totals != want.totals {
        out.push(format!(
            "counts/totals {:?}/{:?} vs {:?}/{:?}",
            got.counts, got.totals, want.counts, want.totals
        ));
    }
    if got
        .precisions
        .iter()
        .zip(&want.precisions)
        .any(|(g, w)| !close(*g, *w))
    {
        out.push(format!(
            "precisions {:?} vs {:?}",
            got.precisions, want.precisions
        ));
    }
    if !close(got.bp, want.bp) || got.sys_len != want.sys_len || got.ref_len != want.ref_len {
        out.push(format!(
            "bp/sys_len/ref_len {}/{}/{} vs {}/{}/{}",
            got.bp, got.sys_len, got.ref_len, want.bp, want.sys_len, want.ref_len
        ));
    }
    out
}

#[test]
fn fixtures_cover_what_they_claim() {
    let pairs: Vec<Pair> = read_jsonl("text_pairs.jsonl");
    assert!(pairs.len() >= 300, "only {} pairs", pairs.len());
    for kind in [
        "empty",
        "identical",
        "unicode",
        "punct",
        "numbers",
        "entities",
        "multiline",
        "whitespace",
        "stemming",
        "multiref",
        "long",
        "realistic",
    ] {
        assert!(pairs.iter().any(|p| p.kind == kind), "no '{kind}' pair");
    }
    assert!(pairs
        .iter()
        .any(|p| p.prediction.split_whitespace().count() >= 1000));
}

#[test]
fn rouge_matches_rouge_score() {
    let pairs: Vec<Pair> = read_jsonl("text_pairs.jsonl");
    let mut failures = Vec::new();
    for p in &pairs {
        let got = rouge_scores(&p.prediction, &p.references).unwrap();
        let checks = [
            ("rouge1", got.rouge1, p.rouge1),
            ("rouge2", got.rouge2, p.rouge2),
            ("rougeL", got.rouge_l, p.rouge_l),
            ("rougeLsum", got.rouge_lsum, p.rouge_lsum),
        ];
        for (name, got, want) in checks {
            if !close(got, want) {
                failures.push(format!(
                    "pair {} ({}): {name} {got} vs {want}",
                    p.id, p.kind
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn sentence_bleu_matches_sacrebleu() {
    let pairs: Vec<Pair> = read_jsonl("text_pairs.jsonl");
    let mut failures = Vec::new();
    for p in &pairs {
        let got = sentence_bleu(&p.prediction, &p.references).unwrap();
        for m in bleu_mismatches(&got, &p.bleu) {
            failures.push(format!("pair {} ({}): {m}", p.id, p.kind));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn text_scorer_matches_both_packages_directly_and_prepared() {
    let pairs: Vec<Pair> = read_jsonl("text_pairs.jsonl");
    let scorer = TextScorer::new(&TextMetric::ALL).unwrap();
    for p in &pairs {
        let want = [p.rouge1, p.rouge2, p.rouge_l, p.rouge_lsum, p.bleu.score];
        let direct = scorer.score(&p.prediction, &p.references).unwrap();
        let prepared = scorer.prepare_references(&p.references).unwrap();
        let reused = scorer.score_prepared(&p.prediction, &prepared).unwrap();
        for (got, source) in [(direct, "direct"), (reused, "prepared")] {
            for ((metric, g), w) in got.iter().zip(want) {
                assert!(close(g, w), "pair {} {source}: {metric} {g} vs {w}", p.id);
            }
        }
    }
}

#[test]
fn single_metric_scorers_agree_with_the_full_one() {
    let pairs: Vec<Pair> = read_jsonl("text_pairs.jsonl");
    for metric in TextMetric::ALL {
        let scorer = TextScorer::new(&[metric]).unwrap();
        for p in pairs.iter().take(120) {
            let got = scorer.score(&p.prediction, &p.references).unwrap().values()[0];
            let want = match metric {
                TextMetric::Rouge1 => p.rouge1,
                TextMetric::Rouge2 => p.rouge2,
                TextMetric::RougeL => p.rouge_l,
                TextMetric::RougeLsum => p.rouge_lsum,
                TextMetric::Bleu => p.bleu.score,
            };
            assert!(close(got, want), "pair {} {metric}: {got} vs {want}", p.id);
        }
    }
}

#[test]
fn bleu_references_can_be_reused_across_hypotheses() {
    let pairs: Vec<Pair> = read_jsonl("text_pairs.jsonl");
    for p in pairs.iter().filter(|p| p.kind == "multiref") {
        let refs = BleuReferences::new(&p.references).unwrap();
        let got = refs.stats(&p.prediction).score(true);
        assert!(bleu_mismatches(&got, &p.bleu).is_empty(), "pair {}", p.id);
    }
}

#[test]
fn corpus_bleu_matches_sacrebleu() {
    let cases: Vec<CorpusCase> = read_json("corpus_bleu.json");
    assert!(cases.len() >= 5);
    for (i, case) in cases.iter().enumerate() {
        let got = corpus_bleu(&case.hypotheses, &case.references).unwrap();
        let mismatches = bleu_mismatches(&got, &case.bleu);
        assert!(
            mismatches.is_empty(),
            "corpus case {i}: {}",
            mismatches.join("; ")
        );
    }
}

#[test]
fn tokenizer_13a_matches_sacrebleu() {
    let cases: Vec<(String, String)> = read_json("tokenize_13a.json");
    let failures: Vec<String> = cases
        .iter()
        .filter(|(input, want)| tokenize_13a(input) != *want)
        .map(|(input, want)| format!("{input:?}: {:?} vs {want:?}", tokenize_13a(input)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn porter_stems_match_nltk() {
    let cases: Vec<(String, String)> = read_json("porter_stems.json");
    let failures: Vec<String> = cases
        .iter()
        .filter(|(word, want)| rouge_tokenize(word).concat() != *want)
        .map(|(word, want)| format!("{word}: {:?} vs {want:?}", rouge_tokenize(word)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
