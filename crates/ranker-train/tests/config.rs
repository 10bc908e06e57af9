//! Config loading: defaults, overrides, and one-line errors naming the key path.

use std::collections::BTreeMap;
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

/// `(key, default cell)` of every row of the `| key | default | …` tables in `configs/README.md`.
fn readme_defaults() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut rows = Vec::new();
    let mut in_defaults_table = false;
    for line in text.lines() {
        let Some(inner) = line.trim().strip_prefix('|') else {
            in_defaults_table = false;
            continue;
        };
        let cells: Vec<&str> = inner.split('|').map(str::trim).collect();
        if cells.len() < 2 || cells[0].starts_with("---") {
            continue;
        }
        if cells[..2] == ["key", "default"] {
            in_defaults_table = true;
        } else if in_defaults_table {
            let key = cells[0].trim_matches('`');
            rows.push((key.to_owned(), cells[1].to_owned()));
        }
    }
    rows
}

/// Every leaf of a serialized config by its dotted key path (`model.sampling.mode`).
fn leaves(config: &Config) -> BTreeMap<String, serde_json::Value> {
    fn walk(prefix: &str, value: serde_json::Value, out: &mut BTreeMap<String, serde_json::Value>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, child) in map {
                    let path = match prefix {
                        "" => key,
                        _ => format!("{prefix}.{key}"),
                    };
                    walk(&path, child, out);
                }
            }
            leaf => {
                out.insert(prefix.to_owned(), leaf);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", serde_json::to_value(config).unwrap(), &mut out);
    out
}

fn same_value(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The defaults table of `configs/README.md` lists every key of the schema once, and each default it gives is
/// the one an empty config resolves to: `` `value` `` (YAML, `<key>` placeholders standing for other keys'
/// values), `—` for no value, `per ranker` for a key left null by the schema and filled for every ranker.
#[test]
fn the_readme_defaults_table_matches_the_schema() {
    let schema = leaves(&Config::default());
    let resolved = leaves(&load("", &[]).unwrap());
    let rows = readme_defaults();
    let documented: BTreeMap<&str, &str> =
        rows.iter().map(|(k, d)| (k.as_str(), d.as_str())).collect();
    assert_eq!(documented.len(), rows.len(), "a key is listed twice");
    let missing: Vec<&String> = schema
        .keys()
        .filter(|k| !documented.contains_key(k.as_str()))
        .collect();
    let unknown: Vec<&&str> = documented
        .keys()
        .filter(|k| !schema.contains_key(**k))
        .collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "configs/README.md lacks {missing:?} and lists {unknown:?}, which the schema does not have"
    );

    let per_ranker: Vec<BTreeMap<String, serde_json::Value>> =
        ["pairranker", "summareranker", "simcls"]
            .iter()
            .map(|r| leaves(&load(&format!("model: {{ranker: {r}}}"), &[]).unwrap()))
            .collect();
    for (key, cell) in documented {
        if cell == "—" {
            assert!(
                resolved[key].is_null(),
                "{key}: README `—`, resolved {}",
                resolved[key]
            );
        } else if cell == "per ranker" {
            assert!(
                schema[key].is_null(),
                "{key}: per ranker, but the schema sets {}",
                schema[key]
            );
            for ranker in &per_ranker {
                assert!(
                    !ranker[key].is_null(),
                    "{key}: per ranker, but a ranker leaves it null"
                );
            }
        } else {
            let value = cell
                .strip_prefix('`')
                .and_then(|rest| rest.split('`').next())
                .unwrap_or_else(|| panic!("{key}: unreadable default cell {cell:?}"));
            let mut text = value.to_owned();
            for (other, other_value) in &resolved {
                let shown = match other_value {
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                text = text.replace(&format!("<{other}>"), &shown);
            }
            let expected: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
            assert!(
                same_value(&expected, &resolved[key]),
                "{key}: README default {value}, the schema's {}",
                resolved[key]
            );
        }
    }
}
