//! SimCLS parity with the PyTorch transcription of `DualReranker` + `simcls_loss` (`simcls.json`), loading the
//! reference's state dict layout (`source_encoder.*` and `candidate_encoder.*`, one shared encoder).

mod ranker_support;

use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use ranker_models::checkpoint::load_simcls_weights;
use ranker_models::collate::{DualBatch, DualCollator, RankText};
use ranker_models::ranker::{DualInput, SimCls};
use ranker_models::Backbone;
use ranker_support::{
    assert_close, backbone_config_without_dropout, entry, fixtures, floats, ints, read_json, shape,
};
use serde_json::Value;

const TOL: f32 = 1e-4;

fn batch(expected: &Value) -> (DualCollator, DualBatch) {
    let json = read_json("collate.json");
    let items = json["items"].as_array().unwrap();
    let text = |v: &Value| v.as_str().unwrap().to_string();
    let sources: Vec<String> = items.iter().map(|i| text(&i["source"])).collect();
    let targets: Vec<String> = items.iter().map(|i| text(&i["target"])).collect();
    let candidates: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            i["candidates"]
                .as_array()
                .unwrap()
                .iter()
                .map(text)
                .collect()
        })
        .collect();
    let texts: Vec<RankText<'_>> = sources
        .iter()
        .zip(&candidates)
        .map(|(s, c)| RankText {
            source: s,
            candidates: c.iter().map(String::as_str).collect(),
        })
        .collect();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    let collator = DualCollator::from_dir(
        &fixtures().join("base"),
        expected["source_maxlength"].as_u64().unwrap() as usize,
        expected["candidate_maxlength"].as_u64().unwrap() as usize,
    )
    .unwrap();
    let batch = collator.collate(&texts, Some(&targets)).unwrap();
    assert_eq!(batch.source.ids, ints(&expected["source_ids"]));
    assert_eq!(
        batch.target.as_ref().unwrap().ids,
        ints(&expected["target_ids"])
    );
    assert_eq!(batch.candidates.ids, ints(&expected["candidate_ids"]));
    assert_eq!(batch.candidates.mask, ints(&expected["candidate_mask"]));
    (collator, batch)
}

fn model<B: Backend>(collator: &DualCollator, device: &B::Device) -> SimCls<B> {
    let config = backbone_config_without_dropout().with_vocab_size(collator.vocab_size());
    load_simcls_weights(
        SimCls::new(config.init(device)),
        &fixtures().join("simcls.bin"),
        device,
    )
    .unwrap()
}

fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().into_vec().unwrap()
}

fn total_scores<B: Backend>(expected: &Value, device: &B::Device) -> Tensor<B, 2> {
    let dims: [usize; 3] = shape(&expected["scores"]).try_into().unwrap();
    let scores =
        Tensor::<B, 3>::from_data(TensorData::new(floats(&expected["scores"]), dims), device);
    scores.sum_dim(2).reshape([dims[0], dims[1]])
}

#[test]
fn similarities_and_loss_match_torch() {
    let expected = read_json("simcls.json");
    let device = Default::default();
    let (collator, batch) = batch(&expected);
    let model = model::<Flex>(&collator, &device);
    let out = model.forward(DualInput::from_batch(&batch, &device));
    assert_close(
        &values(out.sim.clone()),
        &floats(&expected["sim"]),
        TOL,
        "sim",
    );
    assert_close(
        &values(out.target_sim.clone().unwrap()),
        &floats(&expected["target_sim"]),
        TOL,
        "target_sim",
    );
    let loss = out.loss(total_scores(&expected, &device));
    assert_close(
        &values(loss),
        &[expected["loss"].as_f64().unwrap() as f32],
        TOL,
        "loss",
    );
}

#[test]
fn gradients_match_torch() {
    type B = Autodiff<Flex>;
    let expected = read_json("simcls.json");
    let device = Default::default();
    let (collator, batch) = batch(&expected);
    let model = model::<B>(&collator, &device);
    let out = model.forward(DualInput::from_batch(&batch, &device));
    let grads = out.loss(total_scores(&expected, &device)).backward();
    let g = &expected["grads"];
    let Backbone::DebertaV2(deberta) = &model.pretrained_model else {
        panic!("the fixture backbone is DeBERTa-v3")
    };
    let name = "pretrained_model.encoder.layer.0.attention.self.query_proj.weight";
    let got = deberta.encoder.layer[0]
        .attention
        .self_attn
        .query_proj
        .weight
        .grad(&grads)
        .unwrap()
        .transpose();
    assert_close(&values(got), &entry(&g[name]).1, TOL, name);
    let name = "pretrained_model.encoder.rel_embeddings.weight";
    let got = deberta
        .encoder
        .rel_embeddings
        .as_ref()
        .unwrap()
        .weight
        .grad(&grads)
        .unwrap();
    assert_close(&values(got), &entry(&g[name]).1, TOL, name);
}
