//! Loss values and input gradients against the PyTorch reference (`losses.json`).

mod ranker_support;

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Tensor, TensorData};
use ranker_models::loss::{best_candidate_labels, simcls_loss, PairLoss};
use ranker_support::{assert_close, floats, read_json, shape};
use serde_json::Value;

type B = Autodiff<Flex>;

fn tensor<const D: usize>(v: &Value) -> Tensor<B, D> {
    let dims: [usize; D] = shape(v).try_into().unwrap();
    Tensor::from_data(TensorData::new(floats(v), dims), &Default::default())
}

fn values<const D: usize>(t: Tensor<Flex, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().into_vec().unwrap()
}

#[test]
fn pair_losses_and_gradients_match_torch() {
    let json = read_json("losses.json");
    let p = &json["pair"];
    for (name, loss) in [
        ("instructgpt", PairLoss::InstructGpt),
        ("BCE", PairLoss::Bce),
        ("MSE", PairLoss::Mse),
    ] {
        let left = tensor::<2>(&p["left"]).require_grad();
        let right = tensor::<2>(&p["right"]).require_grad();
        let value = loss.forward(
            left.clone(),
            right.clone(),
            tensor(&p["left_scores"]),
            tensor(&p["right_scores"]),
        );
        let expected = p[name]["loss"].as_f64().unwrap() as f32;
        assert_close(&values(value.clone().inner()), &[expected], 1e-5, name);
        let grads = value.backward();
        assert_close(
            &values(left.grad(&grads).unwrap()),
            &floats(&p[name]["grad_left"]),
            1e-5,
            &format!("{name} d/dleft"),
        );
        assert_close(
            &values(right.grad(&grads).unwrap()),
            &floats(&p[name]["grad_right"]),
            1e-5,
            &format!("{name} d/dright"),
        );
    }
}

#[test]
fn simcls_loss_and_gradients_match_torch() {
    let json = read_json("losses.json");
    let s = &json["simcls"];
    let sim = tensor::<2>(&s["sim"]).require_grad();
    let target = tensor::<1>(&s["target_sim"]).require_grad();
    let loss = simcls_loss(sim.clone(), target.clone(), tensor(&s["scores"]));
    assert_close(
        &values(loss.clone().inner()),
        &[s["loss"].as_f64().unwrap() as f32],
        1e-5,
        "simcls",
    );
    let grads = loss.backward();
    assert_close(
        &values(sim.grad(&grads).unwrap()),
        &floats(&s["grad_sim"]),
        1e-5,
        "d/dsim",
    );
    assert_close(
        &values(target.grad(&grads).unwrap()),
        &floats(&s["grad_target_sim"]),
        1e-5,
        "d/dtarget_sim",
    );
}

#[test]
fn summa_labels_match_torch() {
    let json = read_json("losses.json");
    let m = &json["moe_labels"];
    let labels = best_candidate_labels(tensor::<3>(&m["scores"]));
    assert_eq!(values(labels.inner()), floats(&m["labels"]));
}
