//! The paper reproduction kit through the `ranker` binary: every `configs/paper/*.yaml` passes
//! `ranker train --dry-run`; `--strict` makes missing inputs an error; a dry run over real data prints the
//! schedule and writes nothing; preference pairs convert into a set a PairRM-style config accepts.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ranker(args: &[&str]) -> Output {
    Command::new(common::bin("ranker"))
        .current_dir(common::repo())
        .env("RANKER_LOG", "error")
        .env_remove("WORLD_SIZE")
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn paper_configs() -> Vec<PathBuf> {
    let mut configs: Vec<PathBuf> = std::fs::read_dir(common::repo().join("configs/paper"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    configs.sort();
    configs
}

fn relative(path: &Path) -> String {
    path.strip_prefix(common::repo())
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn every_paper_config_passes_the_dry_run() {
    let configs = paper_configs();
    assert!(configs.len() >= 8, "{configs:?}");
    for config in &configs {
        let config = relative(config);
        let out = ranker(&["train", &config, "--dry-run"]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{config}:\n{stdout}\n{stderr}");
        assert!(
            stdout.starts_with(&format!("{config}: valid\n")),
            "{stdout}"
        );
        assert!(stdout.contains("world size      1\n"), "{stdout}");
        if !config.contains("cross-dataset") {
            // The paper's global batch on one GPU; the PairRM-style file is written for 8 GPUs.
            let expected = if config.contains("pairrm") { 8 } else { 64 };
            assert!(
                stdout.contains(&format!("global batch    {expected} examples")),
                "{config}: {stdout}"
            );
        }
        // Nothing of the paper's data or models is in the repository: each missing input is one warning.
        assert!(
            stderr
                .lines()
                .all(|l| l.starts_with("warning: missing input: ")),
            "{config}: {stderr}"
        );
    }
}

#[test]
fn the_eight_gpu_settings_keep_the_paper_batch() {
    for config in paper_configs() {
        let config = relative(&config);
        if config.contains("cross-dataset") {
            continue;
        }
        let out = ranker(&[
            "train",
            &config,
            "--dry-run",
            "--world-size",
            "8",
            "--set",
            "train.per_device_batch=1",
            "--set",
            "train.grad_accum=8",
        ]);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{config}: {}", text(&out.stderr));
        assert!(
            stdout.contains(
                "global batch    64 examples = 8 process(es) × 1 per device × 8 accumulation"
            ),
            "{config}: {stdout}"
        );
    }
}

#[test]
fn strict_turns_missing_inputs_into_an_error() {
    let out = ranker(&[
        "train",
        "configs/paper/pairranker-deberta-v3-large.yaml",
        "--dry-run",
        "--strict",
    ]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "warning: missing input: data.train: data/mix-instruct/train_data_prepared.json: no such file"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: missing input: model.backbone.path: models/deberta-v3-large: no such directory"),
        "{stderr}"
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(
        errors,
        ["error: --strict: 4 input(s) missing (listed above)"],
        "{stderr}"
    );
    // --strict needs --dry-run.
    let out = ranker(&["train", "configs/quickstart.yaml", "--strict"]);
    assert!(!out.status.success());
}

#[test]
fn a_dry_run_over_data_prints_the_schedule_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let train = common::synth(tmp.path(), "train.jsonl", 100, 11, 1);
    let dev = common::synth(tmp.path(), "dev.jsonl", 20, 11, 2);
    let run_dir = tmp.path().join("run");
    let out = ranker(&[
        "train",
        "configs/quickstart.yaml",
        "--dry-run",
        "--strict",
        "--set",
        &format!("data.train={}", train.display()),
        "--set",
        &format!("data.dev={}", dev.display()),
        "--set",
        "data.test=null",
        "--set",
        "train.epochs=2",
        "--set",
        &format!("run.output_dir={}", run_dir.display()),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    // 100 examples / (8 × 1) per step = 13 steps per epoch; dev evaluations at 100 and at epoch ends.
    for line in [
        "examples        train 100, dev 20, test none",
        "steps/epoch     13",
        "total steps     26 (2 warmup)",
        "dev evaluations 2 (13, 26)",
        "checkpoints     2 (13, 26); the newest 2 kept, plus best",
        "global batch    8 examples = 1 process(es) × 8 per device × 1 accumulation (40 pairs)",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    assert!(!run_dir.exists(), "a dry run writes nothing");
    // A bad item is the same one-line error as in training.
    std::fs::write(tmp.path().join("bad.jsonl"), "{\"input\": 3}\n").unwrap();
    let out = ranker(&[
        "train",
        "configs/quickstart.yaml",
        "--dry-run",
        "--set",
        &format!("data.train={}", tmp.path().join("bad.jsonl").display()),
    ]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("bad.jsonl:1: item 0"), "{stderr}");
}

#[test]
fn preference_pairs_convert_into_a_set_the_pairrm_config_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let prefs = tmp.path().join("prefs.jsonl");
    let chat = |r: &str| {
        format!(
            r#"[{{"role": "user", "content": "hi"}}, {{"role": "assistant", "content": "{r}"}}]"#
        )
    };
    std::fs::write(
        &prefs,
        format!(
            "{{\"prompt\": \"2+2?\", \"chosen\": \"4\", \"rejected\": \"5\"}}\n\
             {{\"prompt\": \"hi\", \"chosen\": {}, \"rejected\": {}, \"score_chosen\": 9, \"score_rejected\": 2}}\n\
             {{\"chosen\": \"\\n\\nHuman: joke?\\n\\nAssistant: A pun.\", \"rejected\": \"\\n\\nHuman: joke?\\n\\nAssistant: No.\"}}\n",
            chat("hello"),
            chat("go away")
        ),
    )
    .unwrap();
    let converted = tmp.path().join("train.jsonl");
    let out = ranker(&[
        "data",
        "convert",
        "--from",
        "pairs",
        "--input",
        prefs.to_str().unwrap(),
        "--output",
        converted.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = ranker(&[
        "train",
        "configs/paper/pairrm-style-deberta-v3-large.yaml",
        "--dry-run",
        "--set",
        &format!("data.train={}", converted.display()),
        "--set",
        "data.dev=null",
        "--set",
        "data.test=null",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("examples        train 3,"), "{stdout}");

    std::fs::write(&prefs, "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n{\"prompt\": \"p\", \"chosen\": 1, \"rejected\": \"b\"}\n").unwrap();
    let out = ranker(&[
        "data",
        "convert",
        "--from",
        "pairs",
        "--input",
        prefs.to_str().unwrap(),
        "--output",
        tmp.path().join("bad.jsonl").to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(
        stderr.trim(),
        format!(
            "error: {}:2: `chosen` must be a string or a chat message list, got a number",
            prefs.display()
        )
    );
    assert!(!tmp.path().join("bad.jsonl").exists());
}
