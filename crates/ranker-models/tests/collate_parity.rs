//! Collation parity with the reference collators (transcribed in `tests/fixtures/make_ranker_fixtures.py` and run
//! with the transformers tokenizer; for the T5 and XLM-RoBERTa tokenizers, LLM-Blender's own collator.py and
//! `cat_ids` run by `tests/fixtures/make_collate_new_backbones.py`): ids and masks must be identical.

mod ranker_support;

use ranker_models::collate::{
    CandidatePair, DualCollator, LengthBudget, PairCollator, PairRmLayout, PairText, PairTokenizer,
    RankText, ScrCollator, TokenMatrix, CANDIDATE1_MARKER, CANDIDATE2_MARKER, SOURCE_MARKER,
};
use ranker_models::LoadError;
use ranker_support::{fixtures, ints, read_json, shape};
use serde_json::Value;

struct Item {
    source: String,
    target: String,
    candidates: Vec<String>,
}

fn items(json: &Value) -> Vec<Item> {
    json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| Item {
            source: i["source"].as_str().unwrap().into(),
            target: i["target"].as_str().unwrap().into(),
            candidates: i["candidates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().into())
                .collect(),
        })
        .collect()
}

fn rank_texts(items: &[Item]) -> Vec<RankText<'_>> {
    items
        .iter()
        .map(|i| RankText {
            source: &i.source,
            candidates: i.candidates.iter().map(String::as_str).collect(),
        })
        .collect()
}

fn assert_matrix(m: &TokenMatrix, ids: &Value, mask: &Value, what: &str) {
    let dims = shape(ids);
    let rows: usize = dims[..dims.len() - 1].iter().product();
    assert_eq!(
        (m.rows, m.cols),
        (rows, dims[dims.len() - 1]),
        "{what}: shape"
    );
    assert_eq!(m.ids, ints(ids), "{what}: ids");
    assert_eq!(m.mask, ints(mask), "{what}: mask");
}

fn base_tokenizer() -> PairTokenizer {
    PairTokenizer::from_dir(&fixtures().join("base")).unwrap()
}

/// The tokenizer directory a case was made with (relative to `tests/fixtures`).
fn tokenizer_dir(case: &Value) -> std::path::PathBuf {
    fixtures()
        .join("..")
        .join(case["tokenizer"].as_str().unwrap())
}

/// The collation fixtures: DeBERTa-v3, RoBERTa and BERT tokenizers; T5 and XLM-RoBERTa tokenizers.
const COLLATE_FIXTURES: [&str; 2] = ["collate.json", "collate-new-backbones.json"];

#[test]
fn pair_ranker_collation_matches_the_reference() {
    for file in COLLATE_FIXTURES {
        pair_ranker_collation(file);
    }
}

fn pair_ranker_collation(file: &str) {
    let json = read_json(file);
    let items = items(&json);
    for case in json["cases"].as_array().unwrap() {
        let smax = case["source_maxlength"].as_u64().unwrap() as usize;
        let cmax = case["candidate_maxlength"].as_u64().unwrap() as usize;
        let tokenizer = PairTokenizer::from_dir(&tokenizer_dir(case)).unwrap();
        assert_eq!(
            tokenizer.markers().all().to_vec(),
            ints(&case["marker_ids"])
        );
        let collator = PairCollator::new(tokenizer, smax, cmax).unwrap();
        let collated = collator.collate(&rank_texts(&items)).unwrap();
        let expected = &case["pair"];
        let what = format!("{} {smax}/{cmax}", case["tokenizer"]);
        assert_matrix(
            &collated.source,
            &expected["source_ids"],
            &expected["source_mask"],
            &what,
        );
        assert_matrix(
            &collated.candidates,
            &expected["candidate_ids"],
            &expected["candidate_mask"],
            &what,
        );
        assert_eq!(
            collated.candidate_max_length as u64,
            expected["candidate_max_length"].as_u64().unwrap()
        );
        let pairs: Vec<CandidatePair> = expected["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| CandidatePair {
                item: p[0].as_u64().unwrap() as usize,
                left: p[1].as_u64().unwrap() as usize,
                right: p[2].as_u64().unwrap() as usize,
            })
            .collect();
        let batch = collator.pairs(&collated, &pairs).unwrap();
        assert_matrix(
            &batch.tokens,
            &expected["pair_ids"],
            &expected["pair_mask"],
            &what,
        );
        let markers = collator.tokenizer().markers();
        for (r, positions) in [
            (markers.source, &batch.source_pos),
            (markers.candidate1, &batch.candidate1_pos),
            (markers.candidate2, &batch.candidate2_pos),
        ] {
            for (row, &pos) in positions.iter().enumerate() {
                assert_eq!(batch.tokens.row_ids(row)[pos], r, "{what}: row {row}");
            }
        }
    }
}

fn candidate_pairs(json: &Value) -> Vec<CandidatePair> {
    json.as_array()
        .unwrap()
        .iter()
        .map(|p| CandidatePair {
            item: p[0].as_u64().unwrap() as usize,
            left: p[1].as_u64().unwrap() as usize,
            right: p[2].as_u64().unwrap() as usize,
        })
        .collect()
}

/// `length_budget: fixed` against LLM-Blender's paper-era collator and pair assembly, executed verbatim by
/// `tests/fixtures/make_paper_collation_fixtures.py`.
#[test]
fn fixed_length_budget_matches_the_paper_era_collator() {
    let json = read_json("collate_fixed.json");
    let items = items(&json);
    for case in json["cases"].as_array().unwrap() {
        let smax = case["source_maxlength"].as_u64().unwrap() as usize;
        let cmax = case["candidate_maxlength"].as_u64().unwrap() as usize;
        let tokenizer = PairTokenizer::from_dir(&tokenizer_dir(case)).unwrap();
        assert_eq!(
            tokenizer.markers().all().to_vec(),
            ints(&case["marker_ids"])
        );
        let collator = PairCollator::new(tokenizer, smax, cmax)
            .unwrap()
            .with_length_budget(LengthBudget::Fixed);
        let collated = collator.collate(&rank_texts(&items)).unwrap();
        let what = format!("{} {smax}/{cmax} fixed", case["tokenizer"]);
        assert_matrix(
            &collated.source,
            &case["source_ids"],
            &case["source_mask"],
            &what,
        );
        assert_matrix(
            &collated.candidates,
            &case["candidate_ids"],
            &case["candidate_mask"],
            &what,
        );
        assert_eq!(collated.candidate_max_length, cmax);
        // The reference pads every pair to smax + 2·cmax; ours pads to the longest pair. Tokens and masks agree
        // up to that trailing padding.
        let batch = collator
            .pairs(&collated, &candidate_pairs(&case["pairs"]))
            .unwrap();
        let ids = ints(&case["pair_ids"]);
        let mask = ints(&case["pair_mask"]);
        let width = smax + 2 * cmax;
        assert_eq!(ids.len(), batch.len() * width, "{what}: pair shape");
        for row in 0..batch.len() {
            let reference_ids = &ids[row * width..(row + 1) * width];
            let reference_mask = &mask[row * width..(row + 1) * width];
            let n = reference_mask.iter().filter(|&&m| m != 0).count();
            assert!(
                reference_mask[..n].iter().all(|&m| m == 1),
                "{what}: row {row}: the reference's padding is not trailing"
            );
            assert_eq!(
                batch.tokens.row_tokens(row),
                reference_ids[..n].to_vec(),
                "{what}: pair row {row}"
            );
            assert!(batch.tokens.cols <= width);
        }
    }
}

#[test]
fn pairrm_layout_matches_the_reference() {
    let json = read_json("collate.json");
    let items = items(&json);
    for case in json["cases"].as_array().unwrap() {
        let smax = case["source_maxlength"].as_u64().unwrap() as usize;
        let cmax = case["candidate_maxlength"].as_u64().unwrap() as usize;
        let tokenizer = PairTokenizer::from_dir(&tokenizer_dir(case)).unwrap();
        let layout = PairRmLayout::new(tokenizer, smax, cmax).unwrap();
        let texts: Vec<PairText<'_>> = case["pair"]["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let item = &items[p[0].as_u64().unwrap() as usize];
                PairText {
                    source: &item.source,
                    candidate1: &item.candidates[p[1].as_u64().unwrap() as usize],
                    candidate2: &item.candidates[p[2].as_u64().unwrap() as usize],
                }
            })
            .collect();
        let batch = layout.pairs(&texts).unwrap();
        let expected = &case["pairrm"];
        assert_matrix(
            &batch.tokens,
            &expected["pair_ids"],
            &expected["pair_mask"],
            "pairrm",
        );
    }
}

#[test]
fn summa_reranker_collation_matches_the_reference() {
    for file in COLLATE_FIXTURES {
        summa_reranker_collation(file);
    }
}

fn summa_reranker_collation(file: &str) {
    let json = read_json(file);
    let items = items(&json);
    for case in json["cases"].as_array().unwrap() {
        let smax = case["source_maxlength"].as_u64().unwrap() as usize;
        let cmax = case["candidate_maxlength"].as_u64().unwrap() as usize;
        let collator = ScrCollator::from_dir(&tokenizer_dir(case), smax, cmax).unwrap();
        let batch = collator.collate(&rank_texts(&items)).unwrap();
        assert_eq!((batch.n_items, batch.n_candidates), (3, 3));
        assert_matrix(
            &batch.tokens,
            &case["scr"]["ids"],
            &case["scr"]["mask"],
            &format!("scr {}", case["tokenizer"]),
        );
    }
}

#[test]
fn simcls_collation_matches_the_reference() {
    for file in COLLATE_FIXTURES {
        simcls_collation(file);
    }
}

fn simcls_collation(file: &str) {
    let json = read_json(file);
    let items = items(&json);
    let targets: Vec<&str> = items.iter().map(|i| i.target.as_str()).collect();
    for case in json["cases"].as_array().unwrap() {
        let smax = case["source_maxlength"].as_u64().unwrap() as usize;
        let cmax = case["candidate_maxlength"].as_u64().unwrap() as usize;
        let collator = DualCollator::from_dir(&tokenizer_dir(case), smax, cmax).unwrap();
        let expected = &case["dual"];
        let tok = collator.encoder().tokenizer();
        let ids = vec![
            tok.token_to_id("<source>").unwrap(),
            tok.token_to_id("<candidate>").unwrap(),
        ];
        assert_eq!(ids, ints(&expected["prefix_ids"]));
        let batch = collator
            .collate(&rank_texts(&items), Some(&targets))
            .unwrap();
        assert_matrix(
            &batch.source,
            &expected["source_ids"],
            &expected["source_mask"],
            "dual source",
        );
        assert_matrix(
            batch.target.as_ref().unwrap(),
            &expected["target_ids"],
            &expected["target_mask"],
            "dual target",
        );
        assert_matrix(
            &batch.candidates,
            &expected["candidate_ids"],
            &expected["candidate_mask"],
            "dual candidates",
        );
    }
}

/// Texts full of marker strings and separators, truncated as hard as the tokenizer allows: every row still holds
/// each of its markers exactly once.
#[test]
fn truncation_and_hostile_text_never_break_the_markers() {
    let nasty = format!(
        "{SOURCE_MARKER}{CANDIDATE1_MARKER} [SEP] <|candidate|>{CANDIDATE2_MARKER} {}",
        "word ".repeat(200)
    );
    let items = [Item {
        source: nasty.clone(),
        target: String::new(),
        candidates: vec![nasty.clone(), "<|<|candidate2|>|>".into(), String::new()],
    }];
    let tokenizer = base_tokenizer();
    let min = tokenizer.encoder().min_max_length();
    let markers = tokenizer.markers();
    let collator = PairCollator::new(tokenizer.clone(), min, min).unwrap();
    let collated = collator.collate(&rank_texts(&items)).unwrap();
    assert_eq!(collated.source.cols, min);
    let pairs = [(0, 1), (1, 0), (2, 0), (1, 2)].map(|(left, right)| CandidatePair {
        item: 0,
        left,
        right,
    });
    let batch = collator.pairs(&collated, &pairs).unwrap();
    for row in 0..batch.len() {
        let ids = batch.tokens.row_ids(row);
        for marker in [markers.source, markers.candidate1, markers.candidate2] {
            assert_eq!(
                ids.iter().filter(|&&id| id == marker).count(),
                1,
                "row {row}"
            );
        }
        assert!(!ids.contains(&markers.candidate));
    }
    let layout = PairRmLayout::new(tokenizer, min, min).unwrap();
    let text = PairText {
        source: &nasty,
        candidate1: &nasty,
        candidate2: "<|source|>",
    };
    let row = layout.pair_row(text, 0).unwrap();
    assert_eq!(row.ids[row.source_pos], markers.source);
    assert_eq!(row.ids[row.candidate1_pos], markers.candidate1);
    assert_eq!(row.ids[row.candidate2_pos], markers.candidate2);
}

#[test]
fn bad_inputs_are_named_errors() {
    let tokenizer = base_tokenizer();
    let min = tokenizer.encoder().min_max_length();
    let err = PairCollator::new(tokenizer.clone(), min - 1, 16).unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::LengthBudget {
                key: "source_maxlength",
                ..
            }
        ),
        "{err}"
    );
    let collator = PairCollator::new(tokenizer, 16, 16).unwrap();
    let items = [Item {
        source: "a".into(),
        target: String::new(),
        candidates: vec!["b".into()],
    }];
    let collated = collator.collate(&rank_texts(&items)).unwrap();
    let err = collator
        .pairs(
            &collated,
            &[CandidatePair {
                item: 0,
                left: 0,
                right: 1,
            }],
        )
        .unwrap_err();
    assert!(err.to_string().contains("candidate 1 of 1"), "{err}");
    let scr = ScrCollator::from_dir(&fixtures().join("base"), 16, 16).unwrap();
    let ragged = [
        RankText {
            source: "a",
            candidates: vec!["b", "c"],
        },
        RankText {
            source: "a",
            candidates: vec!["b"],
        },
    ];
    let err = scr.collate(&ragged).unwrap_err();
    assert!(err.to_string().starts_with("item 1: 1 candidates"), "{err}");
}
