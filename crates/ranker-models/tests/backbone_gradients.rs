//! Training path: on the autodiff backend (dropout off), the gradient of `sum(last_hidden_state · W)`
//! with respect to every backbone parameter equals PyTorch's (transformers' model, same weights, same
//! padded long batch) within 1e-4 × max(1, the tensor's largest entry); the key sets are equal too.

mod common;

use std::collections::BTreeMap;

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Int, Tensor, TensorData};
use common::{expected, fixtures, max_abs_diff, without_dropout, MODELS};
use ranker_models::{backbone_gradients, load_backbone_with_config, BackboneConfig, BackboneInput};

type AD = Autodiff<Flex>;

#[test]
fn parameter_gradients_match_pytorch() {
    let device = Default::default();
    for model in MODELS {
        let dir = fixtures().join(model);
        let config = without_dropout(BackboneConfig::from_file(&dir.join("config.json")).unwrap());
        let backbone = load_backbone_with_config::<AD>(&dir, &config, &device).unwrap();
        let want = expected(model);
        let int = |key: &str| -> Option<Tensor<AD, 2, Int>> {
            want.get(&format!("long_padded_batch.{key}"))
                .map(|d| Tensor::from_data(d.clone(), &device))
        };
        let mut input =
            BackboneInput::new(int("input_ids").unwrap(), int("attention_mask").unwrap());
        if let Some(types) = int("token_type_ids") {
            input = input.token_type_ids(types);
        }
        let weights = Tensor::<AD, 3>::from_data(want["grad_weights"].clone(), &device);
        let loss = (backbone.forward(input) * weights).sum();
        let grads = loss.backward();

        let ours: BTreeMap<String, TensorData> = backbone_gradients(&backbone, &grads, "")
            .into_iter()
            .collect();
        let theirs: BTreeMap<String, TensorData> = want
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("grad.").map(|k| (k.to_string(), v.clone())))
            .collect();
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            "{model}: parameters with gradients differ"
        );
        let mut worst = 0.0f32;
        for (key, torch_grad) in &theirs {
            let scale = torch_grad
                .to_vec::<f32>()
                .unwrap()
                .iter()
                .fold(0.0f32, |m, v| m.max(v.abs()))
                .max(1.0);
            let diff = max_abs_diff(&ours[key], torch_grad);
            worst = worst.max(diff / scale);
            assert!(
                diff <= 1e-4 * scale,
                "{model} {key}: max |ours − torch| = {diff} (largest entry {scale})"
            );
        }
        eprintln!("{model}: worst gradient difference {worst:e} × max(1, largest entry)");
    }
}
