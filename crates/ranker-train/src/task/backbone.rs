//! The encoder a ranker is built on: a Hugging Face model directory, loaded pretrained or
//! initialised from the seed, sized to the tokenizer (with the ranker's added tokens).

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use ranker_models::{Backbone, BackboneConfig};

use crate::config::{BackboneInit, BackboneKind, Config};
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

fn kind_of(config: &BackboneConfig) -> BackboneKind {
    match config {
        BackboneConfig::DebertaV2(_) => BackboneKind::Deberta,
        BackboneConfig::Bert(_) => BackboneKind::Bert,
        BackboneConfig::Roberta(_) => BackboneKind::Roberta,
    }
}
