//! AdamW and Adafactor against torch.optim.AdamW and transformers' Adafactor
//! (`tests/fixtures/make_optim_fixtures.py`), through the same `Optimizer` the loop uses,
//! including the weight-decay grouping and a state export/import round trip mid-trajectory.

use std::collections::HashMap;

use burn::backend::{Autodiff, Flex};
use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::{backend::Backend, Tensor, TensorData};
use ranker_train::config::OptimizerKind;
use ranker_train::optim::{Optimizer, OptimizerRule, ParamTable};
use serde_json::Value;

type B = Flex;
type AB = Autodiff<B>;

#[derive(Module, Debug)]
struct Params<B: Backend> {
    w2: Param<Tensor<B, 2>>,
    bias: Param<Tensor<B, 1>>,
    w3: Param<Tensor<B, 3>>,
    tall: Param<Tensor<B, 2>>,
}

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/optim/trajectories.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn shape(fx: &Value, name: &str) -> Vec<usize> {
    fx["shapes"][name]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn tensor<const D: usize>(fx: &Value, values: &Value, name: &str) -> Tensor<B, D> {
    let data = TensorData::new(floats(values), shape(fx, name));
    Tensor::from_data(data, &Default::default())
}

fn initial(fx: &Value) -> Params<AB> {
    let init = &fx["init"];
    Params {
        w2: Param::from_tensor(Tensor::from_inner(tensor(fx, &init["w2"], "w2")).require_grad()),
        bias: Param::from_tensor(Tensor::from_inner(tensor(fx, &init["b1"], "b1")).require_grad()),
        w3: Param::from_tensor(Tensor::from_inner(tensor(fx, &init["w3"], "w3")).require_grad()),
        tall: Param::from_tensor(
            Tensor::from_inner(tensor(fx, &init["tall"], "tall")).require_grad(),
        ),
    }
}

fn grads(fx: &Value, model: &Params<AB>, step: usize) -> GradientsParams {
    let g = &fx["grads"][step];
    let mut grads = GradientsParams::new();
    grads.register::<B, 2>(model.w2.id, tensor(fx, &g["w2"], "w2"));
    grads.register::<B, 1>(model.bias.id, tensor(fx, &g["b1"], "b1"));
    grads.register::<B, 3>(model.w3.id, tensor(fx, &g["w3"], "w3"));
    grads.register::<B, 2>(model.tall.id, tensor(fx, &g["tall"], "tall"));
    grads
}

fn assert_matches(model: &Params<AB>, expected: &Value, what: &str) {
    let actual = [
        ("w2", model.w2.val().into_data()),
        ("b1", model.bias.val().into_data()),
        ("w3", model.w3.val().into_data()),
        ("tall", model.tall.val().into_data()),
    ];
    for (name, data) in actual {
        let got = data.to_vec::<f32>().unwrap();
        let want = floats(&expected[name]);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let tol = 1e-6 * (1.0 + w.abs());
            assert!((g - w).abs() <= tol, "{what} {name}[{i}]: {g} vs {w}");
        }
    }
}

fn check(kind: OptimizerKind, key: &str) {
    let fx = fixture();
    let wd = fx["weight_decay"].as_f64().unwrap();
    let lrs: Vec<f64> = fx["lrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let mut model = initial(&fx);
    let mut opt = Optimizer::<B>::new(OptimizerRule::from_config(kind, wd));
    for (step, lr) in lrs.iter().enumerate() {
        if step == 2 {
            // Resume mid-trajectory from exported state, as a checkpoint does.
            let table = ParamTable::of(&model);
            let state: HashMap<String, TensorData> = opt.export_state().into_iter().collect();
            let mut fresh = Optimizer::<B>::new(OptimizerRule::from_config(kind, wd));
            fresh
                .import_state(opt.steps(), &table, state, &Default::default())
                .unwrap();
            opt = fresh;
        }
        let g = grads(&fx, &model, step);
        model = opt.step(model, &g, *lr);
        assert_matches(&model, &fx[key][step], &format!("{key} step {}", step + 1));
    }
}

#[test]
fn adamw_matches_torch() {
    check(OptimizerKind::Adamw, "adamw");
}

#[test]
fn adafactor_matches_transformers() {
    check(OptimizerKind::Adafactor, "adafactor");
}

#[test]
fn state_import_names_bad_tensors() {
    let fx = fixture();
    let mut model = initial(&fx);
    let mut opt = Optimizer::<B>::new(OptimizerRule::from_config(OptimizerKind::Adamw, 0.0));
    let g = grads(&fx, &model, 0);
    model = opt.step(model, &g, 1e-3);
    let table = ParamTable::of(&model);
    let mut state: HashMap<String, TensorData> = opt.export_state().into_iter().collect();
    state.remove("w3.exp_avg");
    let mut fresh = Optimizer::<B>::new(OptimizerRule::from_config(OptimizerKind::Adamw, 0.0));
    let err = fresh
        .import_state(1, &table, state.clone(), &Default::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "optimizer state: missing tensor `w3.exp_avg`"
    );
    state.insert("w3.exp_avg".into(), TensorData::new(vec![0f32; 3], [3]));
    let err = fresh
        .import_state(1, &table, state.clone(), &Default::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "optimizer state: tensor `w3.exp_avg` has 3 elements, expected 24"
    );
    state.insert("w3.exp_avg".into(), TensorData::new(vec![0f32; 24], [24]));
    state.insert("ghost.exp_avg".into(), TensorData::new(vec![0f32; 1], [1]));
    let err = fresh
        .import_state(1, &table, state, &Default::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "optimizer state: tensor `ghost.exp_avg` matches no parameter of this model"
    );
}
