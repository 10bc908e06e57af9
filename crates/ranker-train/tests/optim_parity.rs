//! AdamW and Adafactor against torch.optim.AdamW and transformers' Adafactor
//! (`tests/fixtures/make_optim_fixtures.py`), through the same `Optimizer` the loop uses, per
//! tensor and over the flat buffer (the loop's step), including the weight-decay grouping and a
//! state export/import round trip mid-trajectory; and the flat step against the per-tensor step.

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

/// Which step of the optimiser a trajectory takes.
#[derive(Clone, Copy)]
enum Path {
    PerTensor,
    Flat,
}

fn take_step(
    opt: &mut Optimizer<B>,
    path: Path,
    model: Params<AB>,
    grads: &GradientsParams,
    lr: f64,
) -> Params<AB> {
    match path {
        Path::PerTensor => opt.step(model, grads, lr),
        Path::Flat => {
            let table = ParamTable::of(&model);
            let flat = table.flatten::<B>(grads, &Default::default());
            opt.step_flat(model, &table, flat, lr)
        }
    }
}

/// Exports `opt`'s state and imports it into a fresh optimiser, as a checkpoint does.
fn round_trip(
    opt: &Optimizer<B>,
    kind: OptimizerKind,
    wd: f64,
    model: &Params<AB>,
) -> Optimizer<B> {
    let table = ParamTable::of(model);
    let state: HashMap<String, TensorData> = opt.export_state().into_iter().collect();
    let mut fresh = Optimizer::<B>::new(OptimizerRule::from_config(kind, wd));
    fresh
        .import_state(opt.steps(), &table, state, &Default::default())
        .unwrap();
    fresh
}

fn check(kind: OptimizerKind, key: &str, path: Path) {
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
            opt = round_trip(&opt, kind, wd, &model);
        }
        let g = grads(&fx, &model, step);
        model = take_step(&mut opt, path, model, &g, *lr);
        assert_matches(&model, &fx[key][step], &format!("{key} step {}", step + 1));
    }
}

#[test]
fn adamw_matches_torch() {
    check(OptimizerKind::Adamw, "adamw", Path::PerTensor);
}

#[test]
fn adamw_over_the_flat_buffer_matches_torch() {
    check(OptimizerKind::Adamw, "adamw", Path::Flat);
}

#[test]
fn adafactor_matches_transformers() {
    check(OptimizerKind::Adafactor, "adafactor", Path::PerTensor);
}

#[test]
fn adafactor_through_the_flat_step_matches_transformers() {
    check(OptimizerKind::Adafactor, "adafactor", Path::Flat);
}

/// A deterministic gradient for every parameter at `step`, of varied sign and magnitude.
fn synthetic_grads(model: &Params<AB>, step: usize) -> GradientsParams {
    fn values<const D: usize>(p: &Param<Tensor<AB, D>>, seed: usize) -> Tensor<B, D> {
        let dims = p.val().dims();
        let n: usize = dims.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|i| ((i * 7 + seed * 13) as f32 * 0.37).sin() * (1.0 + (seed % 5) as f32))
            .collect();
        Tensor::from_data(TensorData::new(v, dims), &Default::default())
    }
    let mut grads = GradientsParams::new();
    grads.register::<B, 2>(model.w2.id, values(&model.w2, step));
    grads.register::<B, 1>(model.bias.id, values(&model.bias, step + 1));
    grads.register::<B, 3>(model.w3.id, values(&model.w3, step + 2));
    grads.register::<B, 2>(model.tall.id, values(&model.tall, step + 3));
    grads
}

fn flat_values(model: &Params<AB>) -> Vec<f32> {
    let table = ParamTable::of(model);
    let flat = table.flatten_params::<AB, _>(model);
    flat.into_data().to_vec().unwrap()
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The loop's flat step against the per-tensor step over 20 steps with weight decay on some
/// parameters (not `bias`), a varying learning rate and a checkpoint round trip at step 10 of
/// the flat run: parameters and exported state agree within 1e-6.
fn flat_equals_per_tensor(kind: OptimizerKind) {
    let fx = fixture();
    let wd = 0.05;
    let mut per_tensor = initial(&fx);
    let mut flat = per_tensor.clone();
    let mut a = Optimizer::<B>::new(OptimizerRule::from_config(kind, wd));
    let mut b = Optimizer::<B>::new(OptimizerRule::from_config(kind, wd));
    for step in 0..20 {
        if step == 10 {
            b = round_trip(&b, kind, wd, &flat);
        }
        let lr = 1e-2 / (1.0 + step as f64);
        let (ga, gb) = (
            synthetic_grads(&per_tensor, step),
            synthetic_grads(&flat, step),
        );
        per_tensor = take_step(&mut a, Path::PerTensor, per_tensor, &ga, lr);
        flat = take_step(&mut b, Path::Flat, flat, &gb, lr);
        let diff = max_difference(&flat_values(&flat), &flat_values(&per_tensor));
        assert!(
            diff <= 1e-6,
            "{kind:?} step {}: parameters differ by {diff}",
            step + 1
        );
    }
    assert_ne!(
        flat_values(&flat),
        flat_values(&initial(&fx)),
        "the steps moved the parameters"
    );
    let (sa, sb) = (a.export_state(), b.export_state());
    let names = |s: &[(String, TensorData)]| s.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(names(&sa), names(&sb), "checkpoint tensor names");
    for ((name, x), (_, y)) in sa.iter().zip(&sb) {
        let diff = max_difference(&x.to_vec::<f32>().unwrap(), &y.to_vec::<f32>().unwrap());
        assert!(diff <= 1e-6, "{kind:?} state {name} differs by {diff}");
    }
}

#[test]
fn adamw_flat_step_equals_the_per_tensor_step() {
    flat_equals_per_tensor(OptimizerKind::Adamw);
}

#[test]
fn adafactor_flat_step_equals_the_per_tensor_step() {
    flat_equals_per_tensor(OptimizerKind::Adafactor);
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
