use std::path::Path;

use burn::tensor::backend::Backend;

use super::layout::{resolve, write_checkpoint, CheckpointContents, LoadedRanker, BACKBONE_PREFIX};
use super::ranker_config::{RankerConfig, RankerType};
use super::tensors::{linear_state, param_state, NamedTensors};
use crate::backbone::BackboneConfig;
use crate::collate::{TextEncoder, TokenizerSettings};
use crate::error::LoadError;
use crate::ranker::{SummaReranker, SummaRerankerConfig};

/// Loads a SummaReranker checkpoint directory (ours, or the reference's `SummaReranker` state dict with
/// `base_model_dir`, see [`load_pair_ranker`](super::load_pair_ranker)). SummaReranker adds no tokens; the backbone
/// is sized to `len(tokenizer)` as the reference's `build_ranker`.
pub fn load_summa_reranker<B: Backend>(
    dir: &Path,
    base_model_dir: Option<&Path>,
    device: &B::Device,
) -> Result<LoadedRanker<SummaReranker<B>, TextEncoder>, LoadError> {
    let parts = resolve(dir, base_model_dir, RankerType::SummaReranker)?;
    let tokenizer = crate::tokenizer::load_tokenizer(&parts.tokenizer_dir)?;
    let encoder = TextEncoder::new(
        tokenizer,
        TokenizerSettings::from_dir(&parts.tokenizer_dir)?,
        &parts.tokenizer_dir,
    )?;
    let backbone_config = parts
        .backbone_config
        .with_vocab_size(crate::tokenizer::tokenizer_len(encoder.tokenizer()));
    let model = SummaRerankerConfig::new()
        .with_n_tasks(parts.ranker_config.n_tasks)
        .init(backbone_config.init(device), device);
    let model = load_summa_reranker_weights(model, &parts.weights, device)?;
    Ok(LoadedRanker {
        model,
        tokenizer: encoder,
        ranker_config: parts.ranker_config,
        backbone_config,
    })
}

/// Loads the reference `SummaReranker` state dict (`pretrained_model.*`, `fc1.*`, `fc2.*`, `moe.experts.{e}.fc{1,2}.*`,
/// `moe.w_gate.{t}`, `moe.w_noise.{t}`, the constant buffers `moe.mean`/`moe.std`, `towers.{t}.*`) into `model`.
pub fn load_summa_reranker_weights<B: Backend>(
    model: SummaReranker<B>,
    file: &Path,
    device: &B::Device,
) -> Result<SummaReranker<B>, LoadError> {
    let (backbone, _) =
        crate::hf::load_backbone_weights(model.pretrained_model, file, BACKBONE_PREFIX, device)?;
    let mut t = NamedTensors::read(file, |k| !k.starts_with(BACKBONE_PREFIX))?;
    let fc1 = t.linear("fc1", model.fc1, device)?;
    let fc2 = t.linear("fc2", model.fc2, device)?;
    let mut moe = model.moe;
    moe.experts = moe
        .experts
        .into_iter()
        .enumerate()
        .map(|(e, mut expert)| {
            expert.fc1 = t.linear(&format!("moe.experts.{e}.fc1"), expert.fc1, device)?;
            expert.fc2 = t.linear(&format!("moe.experts.{e}.fc2"), expert.fc2, device)?;
            Ok(expert)
        })
        .collect::<Result<_, LoadError>>()?;
    moe.w_gate = moe
        .w_gate
        .into_iter()
        .enumerate()
        .map(|(i, p)| t.param(&format!("moe.w_gate.{i}"), p, device))
        .collect::<Result<_, _>>()?;
    moe.w_noise = moe
        .w_noise
        .into_iter()
        .enumerate()
        .map(|(i, p)| t.param(&format!("moe.w_noise.{i}"), p, device))
        .collect::<Result<_, _>>()?;
    // The N(0, 1) parameters of the reference's `Normal` (registered buffers, always 0 and 1).
    t.discard("moe.mean");
    t.discard("moe.std");
    let towers = model
        .towers
        .into_iter()
        .enumerate()
        .map(|(i, tower)| t.linear(&format!("towers.{i}"), tower, device))
        .collect::<Result<_, _>>()?;
    t.finish()?;
    Ok(SummaReranker {
        pretrained_model: backbone,
        fc1,
        fc2,
        moe,
        towers,
    })
}

/// Saves a SummaReranker checkpoint directory (atomically) with the reference's key names, loadable by
/// [`load_summa_reranker`] and by the reference's `SummaReranker.load_state_dict`.
pub fn save_summa_reranker<B: Backend>(
    dir: &Path,
    model: &SummaReranker<B>,
    encoder: &TextEncoder,
    ranker_config: &RankerConfig,
    backbone_config: &BackboneConfig,
) -> Result<(), LoadError> {
    let mut ranker_config = ranker_config.clone();
    ranker_config.ranker_type = Some(RankerType::SummaReranker);
    ranker_config.n_tasks = model.n_tasks();
    let backbone_config = backbone_config
        .clone()
        .with_vocab_size(model.pretrained_model.vocab_size());
    let mut tensors = crate::hf::backbone_state_dict(&model.pretrained_model, BACKBONE_PREFIX);
    tensors.extend(linear_state("fc1", &model.fc1));
    tensors.extend(linear_state("fc2", &model.fc2));
    for (e, expert) in model.moe.experts.iter().enumerate() {
        tensors.extend(linear_state(&format!("moe.experts.{e}.fc1"), &expert.fc1));
        tensors.extend(linear_state(&format!("moe.experts.{e}.fc2"), &expert.fc2));
    }
    for (i, p) in model.moe.w_gate.iter().enumerate() {
        tensors.push(param_state(&format!("moe.w_gate.{i}"), p));
    }
    for (i, p) in model.moe.w_noise.iter().enumerate() {
        tensors.push(param_state(&format!("moe.w_noise.{i}"), p));
    }
    tensors.push((
        "moe.mean".into(),
        burn::tensor::TensorData::new(vec![0.0f32], [1]),
    ));
    tensors.push((
        "moe.std".into(),
        burn::tensor::TensorData::new(vec![1.0f32], [1]),
    ));
    for (i, tower) in model.towers.iter().enumerate() {
        tensors.extend(linear_state(&format!("towers.{i}"), tower));
    }
    write_checkpoint(
        dir,
        CheckpointContents {
            ranker_config: &ranker_config,
            backbone_config: &backbone_config,
            encoder,
            added_tokens: Vec::new(),
            tensors,
        },
    )
}
