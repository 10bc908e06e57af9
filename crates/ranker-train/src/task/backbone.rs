//! The encoder a ranker is built on: a Hugging Face model directory, loaded pretrained or
//! initialised from the seed, sized to the tokenizer (with the ranker's added tokens).

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use ranker_models::{Backbone, BackboneConfig};

use crate::config::{BackboneInit, BackboneKind, Config, Precision};
use crate::error::TrainError;

/// `model.backbone` resolved against the directory's `config.json`.
#[derive(Debug, Clone)]
pub(crate) struct BackboneSetup {
    pub dir: PathBuf,
    pub config: BackboneConfig,
    pub init: BackboneInit,
}

impl BackboneSetup {
    /// Reads `<model.backbone.path>/config.json` and checks it against `model.backbone.type`.
    pub fn from_config(config: &Config) -> Result<Self, TrainError> {
        let spec = &config.model.backbone;
        let dir = spec.path.clone();
        if !dir.is_dir() {
            return Err(TrainError::Setup {
                key: "model.backbone.path",
                message: format!("{} is not a directory", dir.display()),
            });
        }
        let backbone = BackboneConfig::from_file(&dir.join("config.json"))?;
        let actual = kind_of(&backbone);
        if let Some(wanted) = spec.kind {
            if wanted != actual {
                return Err(TrainError::Setup {
                    key: "model.backbone.type",
                    message: format!(
                        "is {wanted:?} but {} has model_type `{}`",
                        dir.join("config.json").display(),
                        backbone.model_type()
                    ),
                });
            }
        }
        check_precision(&backbone, config.train.precision)?;
        Ok(Self {
            dir,
            config: backbone,
            init: spec.init,
        })
    }

    /// The reference's `model_type` spelling.
    pub fn family(&self) -> &'static str {
        match kind_of(&self.config) {
            BackboneKind::Deberta => "deberta",
            BackboneKind::Roberta => "roberta",
            BackboneKind::Bert => "bert",
            BackboneKind::XlmRoberta => "xlm-roberta",
            BackboneKind::T5 => "t5",
        }
    }

    /// The encoder with `vocab` embedding rows: pretrained weights resized like
    /// `resize_token_embeddings(len(tokenizer))`, or a seeded random initialisation.
    pub fn build<B: Backend>(
        &self,
        vocab: usize,
        device: &B::Device,
    ) -> Result<Backbone<B>, TrainError> {
        match self.init {
            BackboneInit::Random => Ok(self.config.clone().with_vocab_size(vocab).init(device)),
            BackboneInit::Pretrained => {
                let (backbone, _) = ranker_models::load_backbone::<B>(&self.dir, device)?;
                Ok(backbone.resize_token_embeddings(vocab, device))
            }
        }
    }

    /// The directory as given.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

/// Refuses `train.precision: fp16` on a T5 backbone: T5 activations overflow fp16's range (the
/// v1.1 / flan-t5 checkpoints were trained in bfloat16), which is why the reference's README says
/// "When using flan-t5 as the backbone, set `fp16=False` in case of overflow". bf16 has fp32's range
/// and is fine.
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/README.md
pub(crate) fn check_precision(
    backbone: &BackboneConfig,
    precision: Precision,
) -> Result<(), TrainError> {
    if precision == Precision::Fp16 && matches!(backbone, BackboneConfig::T5(_)) {
        return Err(TrainError::Setup {
            key: "train.precision",
            message: "fp16 overflows on T5 backbones (the reference: \"When using flan-t5 as the \
                      backbone, set fp16=False in case of overflow\"); use bf16 or fp32"
                .into(),
        });
    }
    Ok(())
}

fn kind_of(config: &BackboneConfig) -> BackboneKind {
    match config {
        BackboneConfig::DebertaV2(_) => BackboneKind::Deberta,
        BackboneConfig::Bert(_) => BackboneKind::Bert,
        BackboneConfig::Roberta(_) => BackboneKind::Roberta,
        BackboneConfig::XlmRoberta(_) => BackboneKind::XlmRoberta,
        BackboneConfig::T5(_) => BackboneKind::T5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(model_type: &str) -> BackboneConfig {
        BackboneConfig::from_json(
            serde_json::json!({"model_type": model_type, "hidden_size": 16, "num_attention_heads": 2}),
            Path::new("config.json"),
        )
        .unwrap()
    }

    #[test]
    fn fp16_is_refused_on_t5_only() {
        let t5 = config("t5");
        let err = check_precision(&t5, Precision::Fp16).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("train.precision"), "{message}");
        assert!(message.contains("overflow"), "{message}");
        check_precision(&t5, Precision::Bf16).unwrap();
        check_precision(&t5, Precision::Fp32).unwrap();
        check_precision(&config("deberta-v2"), Precision::Fp16).unwrap();
        check_precision(&config("xlm-roberta"), Precision::Fp16).unwrap();
    }
}
