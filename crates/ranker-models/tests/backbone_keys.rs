//! Checkpoint keys: every key of each fixture checkpoint is applied (or allowlisted) and none is
//! unused; export writes the HF key set and shapes back; bad checkpoints and configs give errors that
//! name the key.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::TensorData;
use common::{check_batches, fixtures, B, MODELS};
use ranker_models::hf::find_weights;
use ranker_models::{
    backbone_state_dict, load_backbone, load_backbone_weights, read_safetensors, write_safetensors,
    BackboneConfig, LoadError,
};

/// Keys of the fixture file that are not backbone parameters, with the prefix of task models removed.
fn hf_backbone_keys(model: &str) -> BTreeMap<String, Vec<usize>> {
    let file = find_weights(&fixtures().join(model)).unwrap();
    let tensors: Vec<(String, Vec<usize>)> = if file.extension().is_some_and(|e| e == "safetensors")
    {
        read_safetensors(&file)
            .unwrap()
            .into_iter()
            .map(|(k, d)| (k, d.shape.to_vec()))
            .collect()
    } else {
        // The .bin fixture is checked through a safetensors export of our load (below) instead.
        return BTreeMap::new();
    };
    tensors
        .into_iter()
        .filter_map(|(k, shape)| {
            let k = ["deberta.", "bert.", "roberta."]
                .iter()
                .find_map(|p| k.strip_prefix(p))
                .map(str::to_string)
                .unwrap_or(k);
            let head = [
                "pooler.",
                "cls.",
                "lm_head.",
                "lm_predictions.",
                "mask_predictions.",
                "decoder.",
                "encoder.embed_tokens.",
            ]
            .iter()
            .any(|p| k.starts_with(p));
            (!head).then_some((k, shape))
        })
        .collect()
}

#[test]
fn every_checkpoint_key_is_used_and_export_gives_them_back() {
    let device = Default::default();
    for model in MODELS {
        // load_backbone fails on any missing or non-allowlisted unused key.
        let (backbone, _) = load_backbone::<B>(&fixtures().join(model), &device)
            .unwrap_or_else(|e| panic!("{model}: {e}"));
        let exported: BTreeMap<String, Vec<usize>> = backbone_state_dict(&backbone, "")
            .into_iter()
            .map(|(k, d)| (k, d.shape.to_vec()))
            .collect();
        let original = hf_backbone_keys(model);
        if !original.is_empty() {
            assert_eq!(
                exported, original,
                "{model}: exported keys/shapes differ from the HF file"
            );
        }
    }
}

#[test]
fn export_round_trips_to_identical_outputs() {
    let device = Default::default();
    let dir = tempfile::tempdir().unwrap();
    for model in MODELS {
        let src = fixtures().join(model);
        let (backbone, config) = load_backbone::<B>(&src, &device).unwrap();
        let out = dir.path().join(model);
        std::fs::create_dir_all(&out).unwrap();
        write_safetensors(
            &out.join("model.safetensors"),
            &backbone_state_dict(&backbone, ""),
        )
        .unwrap();
        config.write_file(&out.join("config.json")).unwrap();
        let (reloaded, config_back) = load_backbone::<B>(&out, &device).unwrap();
        assert_eq!(config_back, config, "{model}");
        // Bit-identical parameters give the same outputs as transformers.
        check_batches(&reloaded, model, 1e-4);
        let a = backbone_state_dict(&backbone, "");
        let b = backbone_state_dict(&reloaded, "");
        assert_eq!(a, b, "{model}: parameters changed in the round trip");
    }
}

fn pairrm_layout_file(dir: &Path) -> (std::path::PathBuf, Vec<(String, TensorData)>) {
    let device = Default::default();
    let (backbone, _) = load_backbone::<B>(&fixtures().join("deberta-v3-tiny"), &device).unwrap();
    let mut tensors = backbone_state_dict(&backbone, "pretrained_model.");
    tensors.push((
        "head_layer.0.weight".into(),
        TensorData::new(vec![0.5f32; 64 * 32], [32, 64]),
    ));
    tensors.push((
        "pretrained_model.embeddings.position_ids".into(),
        TensorData::new((0..64i64).collect::<Vec<_>>(), [1, 64]),
    ));
    let path = dir.join("pairrm.safetensors");
    write_safetensors(&path, &tensors).unwrap();
    (path, tensors)
}

#[test]
fn prefixed_checkpoint_returns_the_head_keys() {
    let device = Default::default();
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = pairrm_layout_file(dir.path());
    let config =
        BackboneConfig::from_file(&fixtures().join("deberta-v3-tiny/config.json")).unwrap();
    let (backbone, unused) = load_backbone_weights(
        config.init::<B>(&device),
        &path,
        "pretrained_model.",
        &device,
    )
    .unwrap();
    assert_eq!(unused.keys(), ["head_layer.0.weight"]);
    check_batches(&backbone, "deberta-v3-tiny", 1e-4);
}

#[test]
fn unknown_missing_and_misshapen_keys_are_named() {
    let device = Default::default();
    let dir = tempfile::tempdir().unwrap();
    let config =
        BackboneConfig::from_file(&fixtures().join("deberta-v3-tiny/config.json")).unwrap();
    let (backbone, _) = load_backbone::<B>(&fixtures().join("deberta-v3-tiny"), &device).unwrap();
    let good = backbone_state_dict(&backbone, "");
    let path = dir.path().join("bad.safetensors");
    let load = |tensors: &[(String, TensorData)]| -> LoadError {
        write_safetensors(&path, tensors).unwrap();
        load_backbone_weights(config.init::<B>(&device), &path, "", &device).unwrap_err()
    };

    let mut extra = good.clone();
    extra.push((
        "encoder.layer.0.attention.self.bogus.weight".into(),
        TensorData::new(vec![1.0f32], [1]),
    ));
    let err = load(&extra);
    assert!(matches!(err, LoadError::UnusedKeys { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("encoder.layer.0.attention.self.bogus.weight"),
        "{err}"
    );

    let missing: Vec<_> = good
        .iter()
        .filter(|(k, _)| k != "encoder.layer.1.output.LayerNorm.weight")
        .cloned()
        .collect();
    let err = load(&missing);
    assert!(matches!(err, LoadError::MissingKeys { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("encoder.layer.1.output.LayerNorm.weight"),
        "{err}"
    );

    let mut misshapen = good.clone();
    let slot = misshapen
        .iter_mut()
        .find(|(k, _)| k == "encoder.layer.0.attention.self.query_proj.weight")
        .unwrap();
    slot.1 = TensorData::new(vec![0.0f32; 32 * 16], [32, 16]);
    let err = load(&misshapen);
    match &err {
        LoadError::ShapeMismatch {
            key,
            expected,
            found,
            ..
        } => {
            assert_eq!(key, "encoder.layer.0.attention.self.query_proj.weight");
            assert_eq!(expected, &[32, 32]);
            assert_eq!(found, &[32, 16]);
        }
        other => panic!("expected a shape mismatch, got {other}"),
    }
}

#[test]
fn half_precision_checkpoints_load_as_f32() {
    let device = Default::default();
    let dir = tempfile::tempdir().unwrap();
    let (backbone, config) = load_backbone::<B>(&fixtures().join("bert-tiny"), &device).unwrap();
    let half: Vec<_> = backbone_state_dict(&backbone, "bert.")
        .into_iter()
        .map(|(k, d)| (k, d.convert_dtype(burn::tensor::DType::F16)))
        .collect();
    let path = dir.path().join("half.safetensors");
    write_safetensors(&path, &half).unwrap();
    let (loaded, _) =
        load_backbone_weights(config.init::<B>(&device), &path, "bert.", &device).unwrap();
    // f16 rounding of the weights moves outputs by ~1e-3, far less than the outputs' scale.
    check_batches(&loaded, "bert-tiny", 5e-2);
}

#[test]
fn unsupported_config_features_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(fixtures().join("deberta-v3-tiny/config.json")).unwrap();
    for (key, value) in [
        ("conv_kernel_size", serde_json::json!(3)),
        ("attention_head_size", serde_json::json!(16)),
        ("norm_rel_ebd", serde_json::json!("layer_norm|scale")),
        ("pos_att_type", serde_json::json!(["c2p", "p2p"])),
        ("hidden_act", serde_json::json!("gelu_10")),
    ] {
        let mut config: serde_json::Value = serde_json::from_str(&src).unwrap();
        config[key] = value;
        let model_dir = dir.path().join(key);
        std::fs::create_dir_all(&model_dir).unwrap();
        std::fs::write(model_dir.join("config.json"), config.to_string()).unwrap();
        std::fs::copy(
            fixtures().join("deberta-v3-tiny/model.safetensors"),
            model_dir.join("model.safetensors"),
        )
        .unwrap();
        let err = load_backbone::<B>(&model_dir, &Default::default()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&format!("`{key}`")), "{key}: {message}");
        assert!(message.contains("config.json"), "{key}: {message}");
    }
}
