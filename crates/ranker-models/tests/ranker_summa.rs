//! SummaReranker parity with the PyTorch transcription of `SummaReranker` + `MoE` (`summa_reranker.json`): eval
//! mode (clean gates) and training mode with the gating noise fed in, including parameter gradients.

mod ranker_support;

use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use ranker_models::checkpoint::load_summa_reranker_weights;
use ranker_models::collate::{RankText, ScrBatch, ScrCollator};
use ranker_models::loss::best_candidate_labels;
use ranker_models::ranker::{
    select_candidates, GateNoise, SummaInput, SummaReranker, SummaRerankerConfig,
};
use ranker_models::{tokenizer_len, Backbone};
use ranker_support::{
    assert_close, backbone_config_without_dropout, entry, fixtures, floats, ints, read_json, shape,
};
use serde_json::Value;

const TOL: f32 = 1e-4;

fn batch(expected: &Value) -> (ScrCollator, ScrBatch) {
    let json = read_json("collate.json");
    let items = json["items"].as_array().unwrap();
    let owned: Vec<(String, Vec<String>)> = items
        .iter()
        .map(|i| {
            (
                i["source"].as_str().unwrap().to_string(),
                i["candidates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    let texts: Vec<RankText<'_>> = owned
        .iter()
        .map(|(s, c)| RankText {
            source: s,
            candidates: c.iter().map(String::as_str).collect(),
        })
        .collect();
    let collator = ScrCollator::from_dir(
        &fixtures().join("base"),
        expected["source_maxlength"].as_u64().unwrap() as usize,
        expected["candidate_maxlength"].as_u64().unwrap() as usize,
    )
    .unwrap();
    let batch = collator.collate(&texts).unwrap();
    assert_eq!(batch.tokens.ids, ints(&expected["input_ids"]), "ids");
    assert_eq!(batch.tokens.mask, ints(&expected["attention_mask"]), "mask");
    (collator, batch)
}

fn model<B: Backend>(collator: &ScrCollator, device: &B::Device) -> SummaReranker<B> {
    let config = backbone_config_without_dropout()
        .with_vocab_size(tokenizer_len(collator.encoder().tokenizer()));
    let model = SummaRerankerConfig::new()
        .with_n_tasks(2)
        .init::<B>(config.init(device), device);
    load_summa_reranker_weights(
        model,
        &fixtures().join("summa_reranker.safetensors"),
        device,
    )
    .unwrap()
}

fn tensor<B: Backend, const D: usize>(v: &Value, device: &B::Device) -> Tensor<B, D> {
    let dims: [usize; D] = shape(v).try_into().unwrap();
    Tensor::from_data(TensorData::new(floats(v), dims), device)
}

fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().into_vec().unwrap()
}

#[test]
fn eval_mode_matches_torch() {
    let expected = read_json("summa_reranker.json");
    let device = Default::default();
    let (collator, batch) = batch(&expected);
    let model = model::<Flex>(&collator, &device);
    let out = model.forward(SummaInput::from_batch(&batch, &device));
    let e = &expected["eval"];
    assert_close(&values(out.pred.clone()), &floats(&e["pred"]), TOL, "pred");
    assert_close(
        &values(out.aux_loss.clone()),
        &[e["aux_loss"].as_f64().unwrap() as f32],
        TOL,
        "aux_loss",
    );
    assert_close(&values(out.scores()), &floats(&e["score"]), TOL, "score");
    let labels = best_candidate_labels(tensor::<Flex, 3>(&expected["scores"], &device));
    assert_eq!(values(labels.clone()), floats(&e["labels"]));
    assert_close(
        &values(out.loss(labels)),
        &[e["loss"].as_f64().unwrap() as f32],
        TOL,
        "loss",
    );
}

#[test]
fn training_mode_with_given_noise_matches_torch_including_gradients() {
    type B = Autodiff<Flex>;
    let expected = read_json("summa_reranker.json");
    let device = Default::default();
    let (collator, batch) = batch(&expected);
    let model = model::<B>(&collator, &device);
    let t = &expected["train"];
    let selected: Vec<Vec<usize>> = t["selected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| ints(r).into_iter().map(|c| c as usize).collect())
        .collect();
    // Labels over all candidates, then the same selection as the inputs.
    let labels = select_candidates(
        best_candidate_labels(tensor::<B, 3>(&expected["scores"], &device)),
        &selected,
    );
    let noise = t["noise"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| tensor::<B, 2>(n, &device))
        .collect();
    let input = SummaInput::from_batch(&batch.select(&selected).unwrap(), &device);
    let out = model.forward_with_noise(input, GateNoise::Given(noise));
    assert_close(&values(out.pred.clone()), &floats(&t["pred"]), TOL, "pred");
    assert_close(
        &values(out.aux_loss.clone()),
        &[t["aux_loss"].as_f64().unwrap() as f32],
        TOL,
        "aux_loss",
    );
    let loss = out.loss(labels);
    assert_close(
        &values(loss.clone()),
        &[t["loss"].as_f64().unwrap() as f32],
        TOL,
        "loss",
    );

    let grads = loss.backward();
    let g = &t["grads"];
    let check = |name: &str, got: Vec<f32>| assert_close(&got, &entry(&g[name]).1, TOL, name);
    // Raw parameters keep torch's layout; Linear weights are transposed in burn.
    check(
        "moe.w_gate.0",
        values(model.moe.w_gate[0].grad(&grads).unwrap()),
    );
    check(
        "moe.w_noise.1",
        values(model.moe.w_noise[1].grad(&grads).unwrap()),
    );
    check(
        "moe.experts.0.fc1.weight",
        values(
            model.moe.experts[0]
                .fc1
                .weight
                .grad(&grads)
                .unwrap()
                .transpose(),
        ),
    );
    check(
        "moe.experts.3.fc2.bias",
        values(
            model.moe.experts[3]
                .fc2
                .bias
                .as_ref()
                .unwrap()
                .grad(&grads)
                .unwrap(),
        ),
    );
    check(
        "towers.1.weight",
        values(model.towers[1].weight.grad(&grads).unwrap().transpose()),
    );
    check(
        "fc1.weight",
        values(model.fc1.weight.grad(&grads).unwrap().transpose()),
    );
    check(
        "fc2.bias",
        values(model.fc2.bias.as_ref().unwrap().grad(&grads).unwrap()),
    );
    let Backbone::DebertaV2(deberta) = &model.pretrained_model else {
        panic!("the fixture backbone is DeBERTa-v3")
    };
    check(
        "pretrained_model.encoder.layer.0.attention.self.query_proj.weight",
        values(
            deberta.encoder.layer[0]
                .attention
                .self_attn
                .query_proj
                .weight
                .grad(&grads)
                .unwrap()
                .transpose(),
        ),
    );
}
