use std::path::Path;

use burn::tensor::backend::Backend;

use super::layout::{
    check_added_tokens, resolve, write_checkpoint, CheckpointContents, LoadedRanker,
};
use super::ranker_config::{RankerConfig, RankerType};
use crate::backbone::BackboneConfig;
use crate::collate::{TextEncoder, TokenizerSettings, DUAL_CANDIDATE_PREFIX, DUAL_SOURCE_PREFIX};
use crate::error::LoadError;
use crate::ranker::SimCls;

/// The reference's `DualReranker` names its one encoder twice; safetensors stores it once, under this prefix.
const SOURCE_ENCODER: &str = "source_encoder.";
const CANDIDATE_ENCODER: &str = "candidate_encoder.";

/// Loads a SimCLS checkpoint directory (ours, or the reference's `DualReranker` state dict with `base_model_dir`,
/// see [`load_pair_ranker`](super::load_pair_ranker)). The tokenizer gets `<source>` and `<candidate>` (ids
/// checked against `added_tokens.json`); the backbone is sized to `len(tokenizer)`.
pub fn load_simcls<B: Backend>(
    dir: &Path,
    base_model_dir: Option<&Path>,
    device: &B::Device,
) -> Result<LoadedRanker<SimCls<B>, TextEncoder>, LoadError> {
    let parts = resolve(dir, base_model_dir, RankerType::SimCls)?;
    let mut tokenizer = crate::tokenizer::load_tokenizer(&parts.tokenizer_dir)?;
    let prefixes = [DUAL_SOURCE_PREFIX, DUAL_CANDIDATE_PREFIX];
    let ids = crate::tokenizer::add_marker_tokens(&mut tokenizer, &prefixes);
    let found: Vec<(&str, u32)> = prefixes.iter().copied().zip(ids).collect();
    check_added_tokens(dir, &found)?;
    let encoder = TextEncoder::new(
        tokenizer,
        TokenizerSettings::from_dir(&parts.tokenizer_dir)?,
        &parts.tokenizer_dir,
    )?;
    let backbone_config = parts
        .backbone_config
        .with_vocab_size(crate::tokenizer::tokenizer_len(encoder.tokenizer()));
    let model = SimCls::new(backbone_config.init(device));
    let model = load_simcls_weights(model, &parts.weights, device)?;
    Ok(LoadedRanker {
        model,
        tokenizer: encoder,
        ranker_config: parts.ranker_config,
        backbone_config,
    })
}

/// Loads SimCLS weights: the reference's `source_encoder.*` (its `candidate_encoder.*` duplicates, the same module,
/// are skipped) or `pretrained_model.*`.
pub fn load_simcls_weights<B: Backend>(
    model: SimCls<B>,
    file: &Path,
    device: &B::Device,
) -> Result<SimCls<B>, LoadError> {
    let probe = super::tensors::NamedTensors::read(file, |k| k.starts_with(SOURCE_ENCODER))?;
    let prefix = if probe.keys().is_empty() {
        super::layout::BACKBONE_PREFIX
    } else {
        SOURCE_ENCODER
    };
    let (backbone, unused) =
        crate::hf::load_backbone_weights(model.pretrained_model, file, prefix, device)?;
    let leftover: Vec<String> = unused
        .keys()
        .iter()
        .filter(|k| !(prefix == SOURCE_ENCODER && k.starts_with(CANDIDATE_ENCODER)))
        .cloned()
        .collect();
    if !leftover.is_empty() {
        return Err(LoadError::UnusedKeys {
            path: file.to_path_buf(),
            keys: leftover,
        });
    }
    Ok(SimCls::new(backbone))
}

/// Saves a SimCLS checkpoint directory (atomically). The encoder is stored once as `source_encoder.*`, as
/// `safetensors.torch.save_model` stores the reference's `DualReranker` (whose `candidate_encoder` is the same
/// module).
pub fn save_simcls<B: Backend>(
    dir: &Path,
    model: &SimCls<B>,
    encoder: &TextEncoder,
    ranker_config: &RankerConfig,
    backbone_config: &BackboneConfig,
) -> Result<(), LoadError> {
    let mut ranker_config = ranker_config.clone();
    ranker_config.ranker_type = Some(RankerType::SimCls);
    let backbone_config = backbone_config
        .clone()
        .with_vocab_size(model.pretrained_model.vocab_size());
    let tokenizer = encoder.tokenizer();
    let added = [DUAL_SOURCE_PREFIX, DUAL_CANDIDATE_PREFIX]
        .into_iter()
        .filter_map(|t| tokenizer.token_to_id(t).map(|id| (t, id)))
        .collect();
    write_checkpoint(
        dir,
        CheckpointContents {
            ranker_config: &ranker_config,
            backbone_config: &backbone_config,
            encoder,
            added_tokens: added,
            tensors: crate::hf::backbone_state_dict(&model.pretrained_model, SOURCE_ENCODER),
        },
    )
}
