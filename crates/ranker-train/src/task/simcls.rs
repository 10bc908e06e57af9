//! SimCLS training (`DualReranker`, <https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py>): candidate sub-sampling (`uniform`, ratio 0.3, by default), source / reference /
//! candidates encoded separately by the shared encoder, the SimCLS margin loss on `S = Σ_tasks scores`,
//! selection by the highest cosine similarity on the dev set.

use std::path::Path;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use ranker_data::{CandidateSampler, Dataset, Example};
use ranker_dist::Collective;
use ranker_eval::{SelectionMetrics, SimClsScorer};
use ranker_models::checkpoint::{
    load_simcls, load_simcls_weights, save_simcls, RankerConfig, RankerType,
};
use ranker_models::collate::{DualBatch, DualCollator, RankText, TextEncoder, TokenizerSettings};
use ranker_models::ranker::{DualInput, SimCls};
use ranker_models::BackboneConfig;

use super::dev_eval::listwise_dev_selection;
use super::listwise::{candidate_sampling, listwise_row_keys, sample_candidates};
use super::{BackboneSetup, Prepared, RankerTask};
use crate::config::Config;
use crate::error::TrainError;

pub(crate) struct SimClsTask {
    collator: DualCollator,
    sampler: CandidateSampler,
    ranker_config: RankerConfig,
    backbone_config: BackboneConfig,
    eval_batch: usize,
}

pub(crate) struct SimClsMicro {
    /// [`row_key`]s of the examples and of their drawn candidates (example-major).
    example_keys: Vec<u64>,
    candidate_keys: Vec<u64>,
    /// Sources, references and the drawn candidates.
    batch: DualBatch,
    /// `[examples, drawn]`: each drawn candidate's score summed over the metrics.
    total_scores: Vec<f32>,
}

impl Prepared for SimClsMicro {
    fn units(&self) -> usize {
        self.batch.source.rows
    }

    fn dropout_rows(&self) -> Vec<Vec<u64>> {
        vec![self.candidate_keys.clone(), self.example_keys.clone()]
    }
}

impl SimClsTask {
    /// The task and its model: from `model.checkpoint` (a SimCLS checkpoint, ours or the reference's
    /// `DualReranker` state dict) or the bare `model.backbone`, with `<source>` / `<candidate>` added to the
    /// tokenizer and the embeddings sized to it. SimCLS has no parameters besides the encoder (`model.dropout`
    /// is not used); the encoder's dropout comes from its `config.json`.
    pub fn build<B: AutodiffBackend>(
        config: &Config,
        device: &B::Device,
    ) -> Result<(Self, SimCls<B>), TrainError> {
        let m = &config.model;
        let setup = BackboneSetup::from_config(config)?;
        let (collator, model, backbone_config) = match &m.checkpoint {
            Some(dir) => {
                let loaded = load_simcls::<B>(dir, Some(setup.path()), device)?;
                let collator =
                    DualCollator::new(loaded.tokenizer, m.source_max_len, m.candidate_max_len)?;
                (collator, loaded.model, loaded.backbone_config)
            }
            None => {
                let dir = setup.path();
                let tokenizer = ranker_models::load_tokenizer(dir)?;
                let encoder = TextEncoder::new(tokenizer, TokenizerSettings::from_dir(dir)?, dir)?;
                let collator = DualCollator::new(encoder, m.source_max_len, m.candidate_max_len)?;
                let vocab = ranker_models::tokenizer_len(collator.encoder().tokenizer());
                let model = SimCls::new(setup.build::<B>(vocab, device)?);
                let backbone_config = setup.config.clone().with_vocab_size(vocab);
                (collator, model, backbone_config)
            }
        };
        let sampling = candidate_sampling(config);
        let ranker_config = RankerConfig {
            ranker_type: Some(RankerType::SimCls),
            model_type: Some(setup.family().into()),
            model_name: Some(setup.path().display().to_string()),
            source_maxlength: Some(m.source_max_len),
            candidate_maxlength: Some(m.candidate_max_len),
            n_tasks: config.data.metrics.len(),
            num_pos: sampling.num_pos,
            num_neg: sampling.num_neg,
            sub_sampling_mode: sampling.mode.to_string(),
            sub_sampling_ratio: sampling.ratio,
            loss_type: "simcls".into(),
            drop_out: m.dropout,
            fp16: false,
            ..RankerConfig::default()
        };
        let task = Self {
            collator,
            sampler: CandidateSampler::new(sampling)?,
            ranker_config,
            backbone_config,
            eval_batch: config.eval.batch_size,
        };
        Ok((task, model))
    }
}

/// A candidate's quality for the SimCLS loss: its metric scores summed, in float32 as the reference's
/// `scores.sum(-1)` on a float32 tensor.
fn total_score(row: &[f64]) -> f32 {
    row.iter().map(|&v| v as f32).sum()
}

impl<B: AutodiffBackend> RankerTask<B> for SimClsTask {
    type Model = SimCls<B>;
    type Micro = SimClsMicro;

    fn name(&self) -> &'static str {
        "SimCLS"
    }

    fn prepare(
        &self,
        examples: &[(usize, &Example)],
        example_seed: &dyn Fn(usize) -> u64,
    ) -> Result<SimClsMicro, TrainError> {
        let selected = sample_candidates(&self.sampler, examples, example_seed, "SimCLS")?;
        // Each candidate row is encoded on its own: only the drawn candidates are tokenized.
        let mut total_scores = Vec::new();
        let mut texts = Vec::with_capacity(examples.len());
        for ((_, example), picked) in examples.iter().zip(&selected) {
            total_scores.extend(picked.iter().map(|&c| total_score(example.scores.row(c))));
            texts.push(RankText {
                source: &example.source,
                candidates: picked
                    .iter()
                    .map(|&c| example.candidates[c].as_str())
                    .collect(),
            });
        }
        let targets: Vec<&str> = examples.iter().map(|(_, e)| e.target.as_str()).collect();
        let (example_keys, candidate_keys) = listwise_row_keys(examples, &selected);
        Ok(SimClsMicro {
            example_keys,
            candidate_keys,
            batch: self.collator.collate(&texts, Some(&targets))?,
            total_scores,
        })
    }

    fn loss(&self, model: &SimCls<B>, micro: &SimClsMicro, device: &B::Device) -> Tensor<B, 1> {
        let (items, drawn) = (micro.batch.source.rows, micro.batch.n_candidates);
        let total_scores = Tensor::<B, 2>::from_data(
            TensorData::new(micro.total_scores.clone(), [items, drawn]),
            device,
        );
        model
            .forward(DualInput::from_batch(&micro.batch, device))
            .loss(total_scores)
    }

    fn evaluate(
        &self,
        model: &SimCls<B>,
        dev: &Dataset,
        collective: &mut dyn Collective,
        _round: u64,
        device: &B::Device,
    ) -> Result<SelectionMetrics, TrainError> {
        let mut scorer = SimClsScorer::new(model.valid(), self.collator.clone(), device.clone())?;
        // `compute_metrics_for_scr`: the candidate most similar to the source.
        listwise_dev_selection(&mut scorer, "SimCLS", self.eval_batch, dev, collective)
    }

    fn save(&self, model: &SimCls<B>, dir: &Path) -> Result<(), TrainError> {
        save_simcls(
            dir,
            model,
            self.collator.encoder(),
            &self.ranker_config,
            &self.backbone_config,
        )?;
        Ok(())
    }

    fn load_weights(
        &self,
        model: SimCls<B>,
        dir: &Path,
        device: &B::Device,
    ) -> Result<SimCls<B>, TrainError> {
        Ok(load_simcls_weights(
            model,
            &dir.join("model.safetensors"),
            device,
        )?)
    }
}
