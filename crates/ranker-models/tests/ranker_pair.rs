//! PairRanker parity with the PyTorch transcription of `CrossCompareReranker` (`pair_ranker.json`), loading of
//! PairRM-layout checkpoints made by the Python script, and the round trip of our own checkpoints.

mod ranker_support;

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use ranker_models::checkpoint::{
    load_pair_ranker, load_pair_ranker_weights, save_pair_ranker, RankerConfig,
};
use ranker_models::collate::{CandidatePair, PairBatch, PairCollator, PairTokenizer, RankText};
use ranker_models::loss::PairLoss;
use ranker_models::ranker::{PairInput, PairRanker, PairRankerConfig, PairScores};
use ranker_models::{read_safetensors, Backbone, LoadError};
use ranker_support::{
    assert_close, backbone_config_without_dropout, entry, fixtures, floats, ints, read_json, shape,
};
use serde_json::Value;

const TOL: f32 = 1e-4;

struct Items {
    sources: Vec<String>,
    candidates: Vec<Vec<String>>,
}

fn items() -> Items {
    let json = read_json("collate.json");
    let items = json["items"].as_array().unwrap();
    Items {
        sources: items
            .iter()
            .map(|i| i["source"].as_str().unwrap().into())
            .collect(),
        candidates: items
            .iter()
            .map(|i| {
                i["candidates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().into())
                    .collect()
            })
            .collect(),
    }
}

/// Collates the fixture's items and pairs with our collator; the ids must equal the ones torch was fed.
fn pair_batch(tokenizer: &PairTokenizer, expected: &Value) -> PairBatch {
    let items = items();
    let texts: Vec<RankText<'_>> = items
        .sources
        .iter()
        .zip(&items.candidates)
        .map(|(s, c)| RankText {
            source: s,
            candidates: c.iter().map(String::as_str).collect(),
        })
        .collect();
    let smax = expected["source_maxlength"].as_u64().unwrap() as usize;
    let cmax = expected["candidate_maxlength"].as_u64().unwrap() as usize;
    let collator = PairCollator::new(tokenizer.clone(), smax, cmax).unwrap();
    let collated = collator.collate(&texts).unwrap();
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
    assert_eq!(batch.tokens.ids, ints(&expected["input_ids"]), "pair ids");
    assert_eq!(
        batch.tokens.mask,
        ints(&expected["attention_mask"]),
        "pair mask"
    );
    batch
}

fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().into_vec().unwrap()
}

fn scores<B: Backend>(v: &Value, device: &B::Device) -> Tensor<B, 2> {
    let dims: [usize; 2] = shape(v).try_into().unwrap();
    Tensor::from_data(TensorData::new(floats(v), dims), device)
}

fn assert_scores(out: &PairScores<Flex>, expected: &Value) {
    assert_close(
        &values(out.left.clone()),
        &floats(&expected["left"]),
        TOL,
        "left",
    );
    assert_close(
        &values(out.right.clone()),
        &floats(&expected["right"]),
        TOL,
        "right",
    );
    assert_close(
        &values(out.logits.clone()),
        &floats(&expected["logits"]),
        TOL,
        "logits",
    );
}

#[test]
fn pairrm_layout_checkpoint_matches_torch() {
    let expected = read_json("pair_ranker.json");
    let device = Default::default();
    let loaded = load_pair_ranker::<Flex>(
        &fixtures().join("pairrm-tiny"),
        Some(&fixtures().join("base")),
        &device,
    )
    .unwrap();
    assert_eq!(loaded.model.n_tasks(), 2);
    assert_eq!(loaded.ranker_config.source_maxlength, Some(40));
    let batch = pair_batch(&loaded.tokenizer, &expected);
    let out = loaded.model.forward(PairInput::from_batch(&batch, &device));
    assert_scores(&out, &expected);
    let ls = scores::<Flex>(&expected["left_scores"], &device);
    let rs = scores::<Flex>(&expected["right_scores"], &device);
    for (name, loss) in [
        ("instructgpt", PairLoss::InstructGpt),
        ("BCE", PairLoss::Bce),
        ("MSE", PairLoss::Mse),
    ] {
        let got = loss.forward(out.left.clone(), out.right.clone(), ls.clone(), rs.clone());
        let want = expected["losses"][name].as_f64().unwrap() as f32;
        assert_close(&values(got), &[want], TOL, name);
    }
    assert_close(
        &values(loaded.model.score_pairs(&batch, &device)),
        &floats(&expected["logits"]),
        TOL,
        "score_pairs",
    );
}

#[test]
fn pair_ranker_layout_with_bin_weights_and_old_key_spelling_loads() {
    let expected = read_json("pair_ranker.json");
    let device = Default::default();
    let loaded = load_pair_ranker::<Flex>(
        &fixtures().join("pair-ranker-tiny-bin"),
        Some(&fixtures().join("base")),
        &device,
    )
    .unwrap();
    assert_eq!(loaded.ranker_config.candidate_maxlength, Some(24));
    let batch = pair_batch(&loaded.tokenizer, &expected);
    assert_scores(
        &loaded.model.forward(PairInput::from_batch(&batch, &device)),
        &expected,
    );
}

#[test]
fn pair_ranker_gradients_match_torch() {
    type B = Autodiff<Flex>;
    let expected = read_json("pair_ranker.json");
    let device = Default::default();
    let tokenizer = PairTokenizer::from_dir(&fixtures().join("base")).unwrap();
    let config = backbone_config_without_dropout().with_vocab_size(tokenizer.vocab_size());
    let model = PairRankerConfig::new()
        .with_n_tasks(2)
        .with_drop_out(0.0)
        .init::<B>(config.init(&device), &device);
    let model = load_pair_ranker_weights(
        model,
        &fixtures().join("pairrm-tiny/model.safetensors"),
        &device,
    )
    .unwrap();
    let batch = pair_batch(&tokenizer, &expected);
    let (_, loss) = model.forward_loss(
        PairInput::from_batch(&batch, &device),
        scores(&expected["left_scores"], &device),
        scores(&expected["right_scores"], &device),
        PairLoss::InstructGpt,
    );
    assert_close(
        &values(loss.clone().inner()),
        &[expected["grad_loss_value"].as_f64().unwrap() as f32],
        TOL,
        "loss",
    );
    let grads = loss.backward();
    let g = &expected["grads"];
    let linear_weight = |name: &str, grad: Tensor<Flex, 2>| {
        // torch stores [out, in], burn [in, out].
        assert_close(&values(grad.transpose()), &entry(&g[name]).1, TOL, name);
    };
    let head = &model.head_layer;
    linear_weight(
        "head_layer.1.weight",
        head.dense.weight.grad(&grads).unwrap(),
    );
    linear_weight(
        "head_layer.4.weight",
        head.out_proj.weight.grad(&grads).unwrap(),
    );
    for (name, bias) in [
        ("head_layer.1.bias", &head.dense.bias),
        ("head_layer.4.bias", &head.out_proj.bias),
    ] {
        let grad = bias.as_ref().unwrap().grad(&grads).unwrap();
        assert_close(&values(grad), &entry(&g[name]).1, TOL, name);
    }
    let Backbone::DebertaV2(deberta) = &model.pretrained_model else {
        panic!("the fixture backbone is DeBERTa-v3")
    };
    linear_weight(
        "pretrained_model.encoder.layer.0.attention.self.query_proj.weight",
        deberta.encoder.layer[0]
            .attention
            .self_attn
            .query_proj
            .weight
            .grad(&grads)
            .unwrap(),
    );
    linear_weight(
        "pretrained_model.encoder.layer.1.output.dense.weight",
        deberta.encoder.layer[1]
            .output
            .dense
            .weight
            .grad(&grads)
            .unwrap(),
    );
}

fn tensor_shapes(path: &std::path::Path) -> Vec<(String, Vec<usize>)> {
    read_safetensors(path)
        .unwrap()
        .into_iter()
        .map(|(k, d)| (k, d.shape.to_vec()))
        .collect()
}

#[test]
fn saved_checkpoints_round_trip_and_match_the_reference_layout() {
    let expected = read_json("pair_ranker.json");
    let device = Default::default();
    let loaded = load_pair_ranker::<Flex>(
        &fixtures().join("pairrm-tiny"),
        Some(&fixtures().join("base")),
        &device,
    )
    .unwrap();
    let batch = pair_batch(&loaded.tokenizer, &expected);
    let before = values(loaded.model.score_pairs(&batch, &device));

    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ckpt");
    save_pair_ranker(
        &dir,
        &loaded.model,
        &loaded.tokenizer,
        &loaded.ranker_config,
        &loaded.backbone_config,
    )
    .unwrap();
    // Ours needs no base model directory.
    let again = load_pair_ranker::<Flex>(&dir, None, &device).unwrap();
    assert_eq!(values(again.model.score_pairs(&batch, &device)), before);
    assert_eq!(again.ranker_config, loaded.ranker_config);
    assert_eq!(again.tokenizer.markers(), loaded.tokenizer.markers());

    assert_eq!(
        tensor_shapes(&dir.join("model.safetensors")),
        tensor_shapes(&fixtures().join("pairrm-tiny/model.safetensors"))
    );
    let added = |d: &std::path::Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("added_tokens.json")).unwrap())
            .unwrap()
    };
    assert_eq!(added(&dir), added(&fixtures().join("pairrm-tiny")));
    // config.json is both a backbone config and a RankerConfig.
    let config_path = dir.join("config.json");
    ranker_models::BackboneConfig::from_file(&config_path).unwrap();
    let merged = RankerConfig::from_file(&config_path).unwrap();
    assert_eq!(merged.n_tasks, 2);
    assert_eq!(merged.model_name, None);
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
}

#[test]
fn a_reference_checkpoint_without_base_model_is_a_named_error() {
    let err = load_pair_ranker::<Flex>(&fixtures().join("pairrm-tiny"), None, &Default::default())
        .unwrap_err();
    assert!(
        matches!(err, LoadError::MissingBackboneConfig { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("deberta-v3-tiny"), "{err}");
}

#[test]
fn inference_through_valid_matches_the_inner_backend() {
    let expected = read_json("pair_ranker.json");
    let device = Default::default();
    let loaded = load_pair_ranker::<Autodiff<Flex>>(
        &fixtures().join("pairrm-tiny"),
        Some(&fixtures().join("base")),
        &device,
    )
    .unwrap();
    let model: PairRanker<Flex> = loaded.model.valid();
    let batch = pair_batch(&loaded.tokenizer, &expected);
    assert_scores(
        &model.forward(PairInput::from_batch(&batch, &device)),
        &expected,
    );
}
