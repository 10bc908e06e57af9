use std::path::Path;

use burn::tensor::backend::Backend;

use super::layout::{
    check_added_tokens, resolve, write_checkpoint, CheckpointContents, LoadedRanker,
    BACKBONE_PREFIX,
};
use super::ranker_config::{RankerConfig, RankerType};
use super::tensors::{linear_state, NamedTensors};
use crate::backbone::BackboneConfig;
use crate::collate::{PairTokenizer, PAIR_MARKERS};
use crate::error::LoadError;
use crate::ranker::{PairRanker, PairRankerConfig};

/// Loads a PairRanker checkpoint directory: ours (see [`save_pair_ranker`]) or the reference's
/// (`llm-blender/PairRM`, `llm-blender/pair-ranker`: `pretrained_model.*` + `head_layer.*` in `model.safetensors` or
/// `pytorch_model.bin`, `ranker_config.json` / `config.json`, `added_tokens.json`).
///
/// `base_model_dir` is the directory of the base model named by `model_name` (its `config.json`, and its
/// `tokenizer.json` when the checkpoint has none); the reference's checkpoints need it, ours do not.
/// The tokenizer gets the four markers (ids checked against `added_tokens.json`), the backbone is sized to the
/// tokenizer (`resize_token_embeddings(len(tokenizer))` as the reference), and every checkpoint key must be used.
pub fn load_pair_ranker<B: Backend>(
    dir: &Path,
    base_model_dir: Option<&Path>,
    device: &B::Device,
) -> Result<LoadedRanker<PairRanker<B>, PairTokenizer>, LoadError> {
    let parts = resolve(dir, base_model_dir, RankerType::PairRanker)?;
    if parts.ranker_config.reduce_type != "linear" {
        return Err(LoadError::UnsupportedConfig {
            path: parts.ranker_config_path,
            key: "reduce_type".into(),
            reason: format!(
                "`{}` is not supported (only `linear`, the head of every released checkpoint)",
                parts.ranker_config.reduce_type
            ),
        });
    }
    let tokenizer = PairTokenizer::from_dir(&parts.tokenizer_dir)?;
    let ids = tokenizer.markers().all();
    let found: Vec<(&str, u32)> = PAIR_MARKERS.iter().copied().zip(ids).collect();
    check_added_tokens(dir, &found)?;
    let backbone_config = parts
        .backbone_config
        .with_vocab_size(tokenizer.vocab_size());
    let model = PairRankerConfig::new()
        .with_n_tasks(parts.ranker_config.n_tasks)
        .with_drop_out(parts.ranker_config.drop_out)
        .init(backbone_config.init(device), device);
    let model = load_pair_ranker_weights(model, &parts.weights, device)?;
    Ok(LoadedRanker {
        model,
        tokenizer,
        ranker_config: parts.ranker_config,
        backbone_config,
    })
}

/// Loads `pretrained_model.*` and `head_layer.{1,4}.*` from a weights file into `model` (shapes must match; no key
/// may be missing or left over).
pub fn load_pair_ranker_weights<B: Backend>(
    model: PairRanker<B>,
    file: &Path,
    device: &B::Device,
) -> Result<PairRanker<B>, LoadError> {
    let (backbone, _) =
        crate::hf::load_backbone_weights(model.pretrained_model, file, BACKBONE_PREFIX, device)?;
    let mut tensors = NamedTensors::read(file, |k| !k.starts_with(BACKBONE_PREFIX))?;
    let mut head = model.head_layer;
    head.dense = tensors.linear("head_layer.1", head.dense, device)?;
    head.out_proj = tensors.linear("head_layer.4", head.out_proj, device)?;
    tensors.finish()?;
    Ok(PairRanker {
        pretrained_model: backbone,
        head_layer: head,
    })
}

/// Saves a PairRanker checkpoint directory (atomically) in the PairRM layout plus the backbone's config and the
/// tokenizer, so that LLM-Blender's `Blender.loadranker(dir)` and this crate's [`load_pair_ranker`] both read it.
///
/// `ranker_config` is written with `ranker_type = pairranker` and `n_tasks` from the model.
pub fn save_pair_ranker<B: Backend>(
    dir: &Path,
    model: &PairRanker<B>,
    tokenizer: &PairTokenizer,
    ranker_config: &RankerConfig,
    backbone_config: &BackboneConfig,
) -> Result<(), LoadError> {
    let mut ranker_config = ranker_config.clone();
    ranker_config.ranker_type = Some(RankerType::PairRanker);
    ranker_config.n_tasks = model.n_tasks();
    let backbone_config = backbone_config
        .clone()
        .with_vocab_size(model.pretrained_model.vocab_size());
    let mut tensors = crate::hf::backbone_state_dict(&model.pretrained_model, BACKBONE_PREFIX);
    tensors.extend(linear_state("head_layer.1", &model.head_layer.dense));
    tensors.extend(linear_state("head_layer.4", &model.head_layer.out_proj));
    let ids = tokenizer.markers().all();
    write_checkpoint(
        dir,
        CheckpointContents {
            ranker_config: &ranker_config,
            backbone_config: &backbone_config,
            encoder: tokenizer.encoder(),
            added_tokens: PAIR_MARKERS.iter().copied().zip(ids).collect(),
            tensors,
        },
    )
}
