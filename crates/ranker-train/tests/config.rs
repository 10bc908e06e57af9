//! Config loading: defaults, overrides, and one-line errors naming the key path.

use std::path::Path;

use ranker_train::config::{Config, LossKind, Override, RankerKind, SamplingMode};

fn load(yaml: &str, sets: &[&str]) -> Result<Config, String> {
    let overrides: Vec<Override> = sets
        .iter()
        .map(|s| s.parse::<Override>())
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    Config::from_yaml_str(yaml, Path::new("cfg.yaml"), &overrides).map_err(|e| e.to_string())
}

#[test]
fn empty_file_gives_reference_defaults() {
    let c = load("", &[]).unwrap();
    assert_eq!(c.model.ranker, RankerKind::PairRanker);
    assert_eq!(c.model.loss, Some(LossKind::Instructgpt));
    assert_eq!(c.model.sampling.mode, Some(SamplingMode::AllPair));
    assert_eq!(c.model.sampling.num_pos, Some(5));
    assert_eq!(c.train.lr, 1e-5);
    assert_eq!(c.train.grad_accum, 16);
    assert_eq!(c.run.seed, 42);
    assert_eq!(c.output_dir(), Path::new("runs/ranker"));
}

#[test]
fn per_ranker_defaults_follow_the_reference_script() {
    let c = load("model: {ranker: summareranker}", &[]).unwrap();
    assert_eq!(c.model.loss, Some(LossKind::MoeBce));
    assert_eq!(c.model.sampling.mode, Some(SamplingMode::TopBottom));
    assert_eq!(c.model.sampling.num_pos, Some(1));
    let c = load("model: {ranker: simcls}", &[]).unwrap();
    assert_eq!(c.model.loss, Some(LossKind::Simcls));
    assert_eq!(c.model.sampling.mode, Some(SamplingMode::Uniform));
    assert_eq!(c.model.sampling.ratio, Some(0.3));
}

#[test]
fn overrides_apply_in_order_and_create_sections() {
    let c = load(
        "train:\n  lr: 0.001\n",
        &[
            "train.lr=3e-5",
            "model.sampling.mode=top_bottom",
            "data.metrics=[rouge1, bleu]",
        ],
    )
    .unwrap();
    assert_eq!(c.train.lr, 3e-5);
    assert_eq!(c.model.sampling.mode, Some(SamplingMode::TopBottom));
    assert_eq!(c.data.metrics, ["rouge1", "bleu"]);
}

#[test]
fn unknown_key_names_its_path() {
    let e = load("train:\n  lrr: 0.1\n", &[]).unwrap_err();
    assert!(
        e.starts_with("cfg.yaml: train.lrr: unknown field `lrr`"),
        "{e}"
    );
    let e = load("", &["model.backbone.kind=bert"]).unwrap_err();
    assert!(
        e.starts_with("cfg.yaml: model.backbone.kind: unknown field `kind`"),
        "{e}"
    );
}

#[test]
fn wrong_type_names_its_path() {
    let e = load("train:\n  epochs: many\n", &[]).unwrap_err();
    assert!(e.starts_with("cfg.yaml: train.epochs: invalid type"), "{e}");
    let e = load("model:\n  ranker: transformer\n", &[]).unwrap_err();
    assert!(
        e.starts_with("cfg.yaml: model.ranker: unknown variant `transformer`"),
        "{e}"
    );
}

#[test]
fn out_of_range_values_name_their_path() {
    for (set, key) in [
        ("train.lr=0", "train.lr"),
        ("train.warmup_ratio=1.5", "train.warmup_ratio"),
        ("model.dropout=1.0", "model.dropout"),
        ("train.per_device_batch=0", "train.per_device_batch"),
        ("model.sampling.ratio=0", "model.sampling.ratio"),
        ("data.metrics=[]", "data.metrics"),
        ("data.metrics=[bleu, bleu]", "data.metrics"),
        ("dist.timeout_s=0", "dist.timeout_s"),
    ] {
        let e = load("", &[set]).unwrap_err();
        assert!(e.starts_with(&format!("cfg.yaml: {key}: ")), "{set}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}

#[test]
fn loss_and_sampling_must_fit_the_ranker() {
    let e = load("model: {ranker: simcls, loss: instructgpt}", &[]).unwrap_err();
    assert!(e.starts_with("cfg.yaml: model.loss: "), "{e}");
    let e = load("model: {ranker: pairranker, sampling: {mode: none}}", &[]).unwrap_err();
    assert!(e.starts_with("cfg.yaml: model.sampling.mode: "), "{e}");
}

#[test]
fn malformed_override_is_named() {
    let e = load("", &["train.lr"]).unwrap_err();
    assert_eq!(e, "--set train.lr: expected key.path=value");
    let e = load("train: 3", &["train.lr=1"]).unwrap_err();
    assert!(e.contains("`train` is not a section"), "{e}");
}

#[test]
fn yaml_syntax_error_names_file_and_line() {
    let e = load("train:\n  lr: [1,\n", &[]).unwrap_err();
    assert!(e.starts_with("cfg.yaml: "), "{e}");
    assert!(e.contains("line"), "{e}");
}

#[test]
fn resolved_config_round_trips() {
    let c = load("model: {ranker: simcls}\ntrain: {lr: 2.0e-5}", &[]).unwrap();
    let again = Config::from_yaml_str(&c.to_yaml(), Path::new("resolved.yaml"), &[]).unwrap();
    assert_eq!(again.to_yaml(), c.to_yaml());
}
