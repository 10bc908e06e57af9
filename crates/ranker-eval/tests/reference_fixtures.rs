//! Agreement with LLM-Blender's own functions, through the fixtures `tests/fixtures/make_eval_fixtures.py` writes
//! (aggregation, bubble passes, the Blender reward-model API, the trainer's metrics and the GPT evaluation).

mod common;

use std::path::Path;

use common::{assert_close, f64s, load_json, matrix, u32s, TableScorer};
use ranker_data::{Dataset, LoadOptions};
use ranker_dist::SingleCollective;
use ranker_eval::inference::{aggregate, predict_from_matrix};
use ranker_eval::report::NamedValues;
use ranker_eval::reward::{
    best_of_n, compare, rank, rank_with_ref, CompareInput, CompareOrder, RankInput, RefMode,
    SelectMode,
};
use ranker_eval::{
    bubble_select, evaluate_pairwise, item_permutation, Aggregation, BatchOptions, BubbleOptions,
    BubbleTarget, EvalOptions, InferenceStats, ItemText, PairInference,
};
use ranker_metrics::competition_ranks;
use serde_json::Value;

const TOL: f64 = 1e-12;

#[test]
fn aggregation_matches_get_scores_and_ranks_from_cmps() {
    let fixture = load_json("eval/aggregation.json");
    for (k, case) in fixture["matrices"].as_array().unwrap().iter().enumerate() {
        let n = case["n"].as_u64().unwrap() as usize;
        let m: Vec<f64> = matrix(&case["matrix"]).concat();
        let ml = aggregate(n, &m, Aggregation::MaxLogits).unwrap();
        for (i, (&ours, &want)) in ml.iter().zip(&f64s(&case["max_logits_scores"])).enumerate() {
            assert_close(ours, want, TOL, &format!("case {k} max_logits[{i}]"));
        }
        // The reference stores float32: our float64 score rounds to its value.
        let ref_f32: Vec<f32> = f64s(&case["max_logits_scores_ref_f32"])
            .iter()
            .map(|&x| x as f32)
            .collect();
        assert_eq!(
            ml.iter().map(|&x| x as f32).collect::<Vec<_>>(),
            ref_f32,
            "case {k}"
        );
        assert_eq!(
            competition_ranks(&ml).unwrap(),
            u32s(&case["max_logits_ranks"]),
            "case {k}"
        );
        let mw = aggregate(n, &m, Aggregation::MaxWins).unwrap();
        assert_eq!(mw, f64s(&case["max_wins_scores"]), "case {k}");
        assert_eq!(
            competition_ranks(&mw).unwrap(),
            u32s(&case["max_wins_ranks"]),
            "case {k}"
        );
        let item = ItemText {
            index: k,
            id: "m",
            source: "",
            candidates: vec![""; n],
        };
        let p = predict_from_matrix(&item, m.clone(), Aggregation::MaxLogits, false).unwrap();
        assert_eq!(
            p.selected as u64,
            case["trainer_selection"].as_u64().unwrap(),
            "case {k}"
        );
    }
    for case in fixture["scores_to_ranks"].as_array().unwrap() {
        assert_eq!(
            competition_ranks(&f64s(&case["scores"])).unwrap(),
            u32s(&case["ranks"])
        );
    }
}

#[test]
fn bubble_matches_bubble_predict() {
    let fixture = load_json("eval/bubble.json");
    for (k, case) in fixture["cases"].as_array().unwrap().iter().enumerate() {
        let table = matrix(&case["table"]);
        let perm: Vec<usize> = u32s(&case["perm"]).iter().map(|&x| x as usize).collect();
        let target = match case["target"].as_str().unwrap() {
            "best" => BubbleTarget::Best,
            _ => BubbleTarget::Worst,
        };
        let runs = case["num_runs"].as_u64().unwrap() as usize;
        let state = bubble_select(perm, runs, target, |i, j| table[i][j]);
        let process = &case["select_process"];
        let steps = state.steps();
        assert_eq!(
            steps.iter().map(|s| s.cur).collect::<Vec<_>>(),
            u32s(&process[0]),
            "case {k} cur"
        );
        assert_eq!(
            steps.iter().map(|s| s.next).collect::<Vec<_>>(),
            u32s(&process[1]),
            "case {k} next"
        );
        assert_eq!(
            steps.iter().map(|s| s.better).collect::<Vec<_>>(),
            u32s(&process[2]),
            "case {k} better"
        );
        assert_eq!(
            state.winner().unwrap() as u64,
            case["winner"].as_u64().unwrap()
        );
    }
    for case in fixture["permutations"].as_array().unwrap() {
        let perm = item_permutation(
            case["seed"].as_u64().unwrap(),
            case["round"].as_u64().unwrap(),
            case["index"].as_u64().unwrap() as usize,
            case["n"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            perm.iter().map(|&x| x as u32).collect::<Vec<_>>(),
            u32s(&case["perm"])
        );
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn reward_api_matches_blender() {
    let fixture = load_json("eval/blender.json");
    let mut scorer = TableScorer::new(false);
    let mut inputs = Vec::new();
    for item in fixture["items"].as_array().unwrap() {
        let input = RankInput {
            id: None,
            instruction: item["instruction"].as_str().unwrap().to_owned(),
            input: item["input"].as_str().unwrap().to_owned(),
            candidates: strings(&item["candidates"]),
            reference: None,
        };
        scorer.insert(
            &input.source(),
            strings(&item["texts"]),
            matrix(&item["table"]),
        );
        inputs.push(input);
    }
    let batch = BatchOptions::with_batch_size(3);
    let mut stats = InferenceStats::default();

    let ranked = rank(&mut scorer, 0, &inputs, &batch, &mut stats).unwrap();
    for (i, out) in ranked.iter().enumerate() {
        let want: Vec<f32> = f64s(&fixture["rank"]["scores"][i])
            .iter()
            .map(|&x| x as f32)
            .collect();
        assert_eq!(
            out.scores.iter().map(|&x| x as f32).collect::<Vec<_>>(),
            want,
            "rank item {i}"
        );
        assert_eq!(
            out.ranks,
            u32s(&fixture["rank"]["ranks"][i]),
            "rank item {i}"
        );
    }
    assert_eq!(stats.forwards, 6 * 20);

    let pairs: Vec<CompareInput> = inputs
        .iter()
        .map(|i| CompareInput {
            id: None,
            instruction: i.instruction.clone(),
            input: i.input.clone(),
            candidate_a: i.candidates[1].clone(),
            candidate_b: i.candidates[3].clone(),
        })
        .collect();
    let compared = compare(
        &mut scorer,
        0,
        &pairs,
        CompareOrder::Both,
        &batch,
        &mut stats,
    )
    .unwrap();
    let want = f64s(&fixture["compare"]["logits"]);
    for (out, want) in compared.iter().zip(&want) {
        assert_eq!(out.logit, *want);
        assert_eq!(out.a_better, *want > 0.0);
    }

    for (mode, key) in [
        (RefMode::Longest, "longest"),
        (RefMode::Shortest, "shortest"),
        (RefMode::MedianLength, "median_length"),
        (RefMode::First, "first"),
        (RefMode::Last, "last"),
    ] {
        let out = rank_with_ref(&mut scorer, 0, &inputs, mode, &batch, &mut stats).unwrap();
        for (i, out) in out.iter().enumerate() {
            assert_eq!(
                out.scores,
                f64s(&fixture["rank_with_ref"][key][i]),
                "{key} item {i}"
            );
        }
    }
    let explicit: Vec<RankInput> = inputs
        .iter()
        .zip(fixture["items"].as_array().unwrap())
        .map(|(input, item)| RankInput {
            reference: Some(item["reference"].as_str().unwrap().to_owned()),
            ..input.clone()
        })
        .collect();
    let out = rank_with_ref(
        &mut scorer,
        0,
        &explicit,
        RefMode::Longest,
        &batch,
        &mut stats,
    )
    .unwrap();
    for (i, out) in out.iter().enumerate() {
        assert_eq!(
            out.scores,
            f64s(&fixture["rank_with_ref"]["explicit"][i]),
            "explicit item {i}"
        );
        assert_eq!(out.ranks, competition_ranks(&out.scores).unwrap());
    }

    let bubble = BubbleOptions {
        num_runs: 1,
        seed: fixture["best_of_n"]["seed"].as_u64().unwrap(),
        round: fixture["best_of_n"]["round"].as_u64().unwrap(),
        target: BubbleTarget::Best,
    };
    let best = best_of_n(
        &mut scorer,
        0,
        &inputs,
        SelectMode::Bubble,
        &bubble,
        true,
        &batch,
        &mut stats,
    )
    .unwrap();
    for (i, out) in best.iter().enumerate() {
        assert_eq!(
            out.candidate,
            fixture["best_of_n"]["best"][i].as_str().unwrap(),
            "item {i}"
        );
        let order: Vec<String> = out
            .order
            .as_ref()
            .unwrap()
            .iter()
            .map(|&c| inputs[i].candidates[c as usize].clone())
            .collect();
        assert_eq!(
            order,
            strings(&fixture["best_of_n"]["return_all"][i]),
            "item {i}"
        );
    }
    // Chunking the stream does not change best-of-n: permutations follow the stream index.
    let mut chunked = Vec::new();
    for (first, chunk) in inputs.chunks(4).enumerate() {
        chunked.extend(
            best_of_n(
                &mut scorer,
                first * 4,
                chunk,
                SelectMode::Bubble,
                &bubble,
                true,
                &batch,
                &mut stats,
            )
            .unwrap(),
        );
    }
    assert_eq!(chunked, best);
}

fn eval_scorer(logits: &Value, dataset: &Dataset) -> TableScorer {
    let mut scorer = TableScorer::new(true);
    for example in &dataset.examples {
        scorer.insert(
            &example.id,
            example.candidates.clone(),
            matrix(&logits[&example.id]),
        );
    }
    scorer
}

fn assert_values(ours: &NamedValues, want: &Value, what: &str) {
    let want = want.as_object().unwrap();
    assert_eq!(ours.len(), want.len(), "{what}: {ours:?} vs {want:?}");
    for (name, value) in want {
        let got = ours
            .get(name)
            .unwrap_or_else(|| panic!("{what}: no {name}"));
        assert_close(got, value.as_f64().unwrap(), TOL, &format!("{what}/{name}"));
    }
}

fn load_eval_dataset() -> Dataset {
    Dataset::load(
        &common::fixture("eval/eval_data.json"),
        &LoadOptions::with_metrics(["bartscore", "bleu", "rouge2"]),
    )
    .unwrap()
}

#[test]
fn evaluation_report_matches_the_trainer_and_gpt_eval() {
    let dataset = load_eval_dataset();
    let logits = load_json("eval/eval_logits.json");
    let expected = load_json("eval/eval_expected.json");
    let bubble = |num_runs| {
        PairInference::Bubble(BubbleOptions {
            num_runs,
            seed: 42,
            round: 0,
            target: BubbleTarget::Best,
        })
    };
    for want in expected["modes"].as_array().unwrap() {
        let name = want["mode"].as_str().unwrap();
        let mode = match name {
            "full_max_logits" => PairInference::Full(Aggregation::MaxLogits),
            "full_max_wins" => PairInference::Full(Aggregation::MaxWins),
            "bubble_1" => bubble(1),
            "bubble_2" => bubble(2),
            other => panic!("mode {other}"),
        };
        let options = EvalOptions {
            mode,
            batch: BatchOptions::with_batch_size(7),
            ..EvalOptions::default()
        };
        let mut scorer = eval_scorer(&logits, &dataset);
        let outcome = evaluate_pairwise(
            &mut SingleCollective,
            &dataset,
            &mut scorer,
            &options,
            None::<&Path>,
        )
        .unwrap();
        for (p, w) in outcome
            .predictions
            .iter()
            .zip(want["predictions"].as_array().unwrap())
        {
            for (a, b) in p.scores.iter().zip(f64s(&w["scores"])) {
                assert_close(*a, b, TOL, &format!("{name} item {} scores", p.index));
            }
            assert_eq!(p.ranks, u32s(&w["ranks"]), "{name} item {} ranks", p.index);
            assert_eq!(
                p.selected as u64,
                w["selected"].as_u64().unwrap(),
                "{name} item {}",
                p.index
            );
        }
        if let Some(processes) = want.get("select_process") {
            for (p, process) in outcome
                .predictions
                .iter()
                .zip(processes.as_array().unwrap())
            {
                let steps = p.bubble.as_ref().unwrap();
                assert_eq!(
                    steps.iter().map(|s| s.better).collect::<Vec<_>>(),
                    u32s(&process[2])
                );
                assert_eq!(
                    steps.iter().map(|s| s.cur).collect::<Vec<_>>(),
                    u32s(&process[0])
                );
            }
        }
        let report = &outcome.report;
        assert_close(
            report.dev_score,
            want["dev_score"].as_f64().unwrap(),
            TOL,
            name,
        );
        for key in ["sel", "oracle", "top_beam", "gain", "random"] {
            let ours = match key {
                "sel" => &report.sel,
                "oracle" => &report.oracle,
                "top_beam" => &report.top_beam,
                "gain" => &report.gain,
                _ => &report.random,
            };
            assert_values(ours, &want[key], &format!("{name} {key}"));
        }
        assert_eq!(
            report.n_gpt_examples as u64,
            want["n_gpt_examples"].as_u64().unwrap()
        );
        assert_close(
            report.gpt_rank.unwrap(),
            want["gpt_rank"].as_f64().unwrap(),
            TOL,
            "gpt_rank",
        );
        assert_values(
            report.beats.as_ref().unwrap(),
            &want["beats"],
            &format!("{name} beats"),
        );
        assert_values(
            report.top_k.as_ref().unwrap(),
            &want["top_k"],
            &format!("{name} top_k"),
        );
        match want.get("correlation") {
            Some(c) => {
                let ours = report.correlation.unwrap();
                assert_close(ours.pearson, c["pearson"].as_f64().unwrap(), TOL, "pearson");
                assert_close(
                    ours.spearman,
                    c["spearman"].as_f64().unwrap(),
                    TOL,
                    "spearman",
                );
                assert_close(
                    ours.footrule,
                    c["footrule"].as_f64().unwrap(),
                    TOL,
                    "footrule",
                );
            }
            None => assert!(
                report.correlation.is_none(),
                "{name}: no correlation in bubble mode"
            ),
        }
        let forwards_per_item = match options.mode {
            PairInference::Full(_) => 20,
            PairInference::Bubble(b) => 2 * (4 + if b.num_runs == 2 { 3 } else { 0 }),
        };
        assert_eq!(report.forwards, 10 * forwards_per_item);
        assert_eq!(scorer.calls, report.forwards);

        for want_row in expected["rows"].as_array().unwrap() {
            let row_name = want_row["name"].as_str().unwrap();
            let row = report
                .rows
                .iter()
                .find(|r| r.name == row_name)
                .unwrap_or_else(|| panic!("row {row_name}"));
            assert_values(&row.metrics, &want_row["metrics"], row_name);
            let gpt = row.gpt.as_ref().unwrap();
            assert_close(
                gpt.gpt_rank,
                want_row["gpt"]["gpt_rank"].as_f64().unwrap(),
                TOL,
                row_name,
            );
            assert_values(&gpt.beats, &want_row["gpt"]["beats"], row_name);
            assert_values(&gpt.top_k, &want_row["gpt"]["top_k"], row_name);
            if let Some(c) = want_row.get("correlation") {
                let ours = row.correlation.unwrap();
                assert_close(ours.pearson, c["pearson"].as_f64().unwrap(), TOL, row_name);
                assert_close(
                    ours.spearman,
                    c["spearman"].as_f64().unwrap(),
                    TOL,
                    row_name,
                );
                assert_close(
                    ours.footrule,
                    c["footrule"].as_f64().unwrap(),
                    TOL,
                    row_name,
                );
            }
        }
    }
}
