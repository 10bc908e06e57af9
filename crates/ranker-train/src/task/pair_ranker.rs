//! PairRanker training (`CrossCompareReranker`, <https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py>): per-example pair sub-sampling with the 50 % swap, the three-segment
//! pair layout, instructgpt / BCE / MSE losses, bubble selection on the dev set.

use std::path::Path;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use ranker_data::{Dataset, Example, PairSampler, PairSampling};
use ranker_dist::Collective;
use ranker_eval::{BubbleOptions, BubbleTarget, PairInference, PairRankerScorer, SelectionMetrics};
use ranker_models::checkpoint::{
    load_pair_ranker, load_pair_ranker_weights, save_pair_ranker, RankerConfig, RankerType,
};
use ranker_models::collate::{
    CandidatePair, PairBatch, PairCollator, PairTokenizer, RankText, TokenMatrix,
};
use ranker_models::dropout::Dropout;
use ranker_models::loss::PairLoss;
use ranker_models::ranker::{PairInput, PairRanker, PairRankerConfig};
use ranker_models::BackboneConfig;

use super::dev_eval::pairwise_dev_selection;
use super::{row_key, BackboneSetup, Prepared, RankerTask};
use crate::config::{Config, LossKind, SamplingMode};
use crate::error::TrainError;

pub(crate) struct PairTask {
    collator: PairCollator,
    sampler: PairSampler,
    loss: PairLoss,
    n_tasks: usize,
    ranker_config: RankerConfig,
    backbone_config: BackboneConfig,
    eval_batch: usize,
    seed: u64,
}

pub(crate) struct PairMicro {
    batch: PairBatch,
    /// Per pair: [`row_key`] of its example and its number among the example's pairs.
    row_keys: Vec<u64>,
    left_scores: Vec<f32>,
    right_scores: Vec<f32>,
    n_tasks: usize,
}

impl Prepared for PairMicro {
    fn units(&self) -> usize {
        self.batch.len()
    }

    fn dropout_rows(&self) -> Vec<Vec<u64>> {
        vec![self.row_keys.clone()]
    }

    /// Row chunks with the micro-batch's tokens, each trimmed of the columns that are padding in all
    /// of its rows (padding does not change a row's outputs).
    fn split(self, max_units: usize) -> Vec<Self> {
        let rows = self.batch.len();
        if max_units == 0 || rows <= max_units {
            return vec![self];
        }
        let t = self.n_tasks;
        let tokens = &self.batch.tokens;
        (0..rows)
            .step_by(max_units)
            .map(|start| {
                let end = (start + max_units).min(rows);
                let cells = start * tokens.cols..end * tokens.cols;
                let mut chunk_tokens = TokenMatrix {
                    ids: tokens.ids[cells.clone()].to_vec(),
                    mask: tokens.mask[cells].to_vec(),
                    rows: end - start,
                    cols: tokens.cols,
                };
                chunk_tokens.trim_pad_columns();
                PairMicro {
                    batch: PairBatch {
                        tokens: chunk_tokens,
                        source_pos: self.batch.source_pos[start..end].to_vec(),
                        candidate1_pos: self.batch.candidate1_pos[start..end].to_vec(),
                        candidate2_pos: self.batch.candidate2_pos[start..end].to_vec(),
                    },
                    row_keys: self.row_keys[start..end].to_vec(),
                    left_scores: self.left_scores[start * t..end * t].to_vec(),
                    right_scores: self.right_scores[start * t..end * t].to_vec(),
                    n_tasks: t,
                }
            })
            .collect()
    }
}

impl PairTask {
    /// The task and its model: from `model.checkpoint` (a PairRanker checkpoint, e.g. PairRM's layout)
    /// or a fresh head on `model.backbone`.
    pub fn build<B: AutodiffBackend>(
        config: &Config,
        device: &B::Device,
    ) -> Result<(Self, PairRanker<B>), TrainError> {
        let m = &config.model;
        let n_tasks = config.data.metrics.len();
        let setup = BackboneSetup::from_config(config)?;
        let (tokenizer, model, backbone_config) = match &m.checkpoint {
            Some(dir) => {
                let loaded = load_pair_ranker::<B>(dir, Some(setup.path()), device)?;
                if loaded.model.n_tasks() != n_tasks {
                    return Err(TrainError::Setup {
                        key: "model.checkpoint",
                        message: format!(
                            "{} scores {} metrics but data.metrics lists {n_tasks}",
                            dir.display(),
                            loaded.model.n_tasks()
                        ),
                    });
                }
                let mut model = loaded.model;
                model.head_layer.dropout = Dropout::new(m.dropout);
                (loaded.tokenizer, model, loaded.backbone_config)
            }
            None => {
                let tokenizer = PairTokenizer::from_dir(setup.path())?;
                let vocab = tokenizer.vocab_size();
                let backbone = setup.build::<B>(vocab, device)?;
                let model = PairRankerConfig::new()
                    .with_n_tasks(n_tasks)
                    .with_drop_out(m.dropout)
                    .init(backbone, device);
                let backbone_config = setup.config.clone().with_vocab_size(vocab);
                (tokenizer, model, backbone_config)
            }
        };
        let collator = PairCollator::new(tokenizer, m.source_max_len, m.candidate_max_len)?
            .with_length_budget(m.length_budget);
        let sampling = resolved_sampling(config)?;
        let loss = match m.loss.expect("resolved config") {
            LossKind::Instructgpt => PairLoss::InstructGpt,
            LossKind::Bce => PairLoss::Bce,
            LossKind::Mse => PairLoss::Mse,
            other => unreachable!("validated: {other:?} is not a PairRanker loss"),
        };
        let ranker_config = RankerConfig {
            ranker_type: Some(RankerType::PairRanker),
            model_type: Some(setup.family().into()),
            model_name: Some(setup.path().display().to_string()),
            source_maxlength: Some(m.source_max_len),
            candidate_maxlength: Some(m.candidate_max_len),
            n_tasks,
            num_pos: sampling.num_pos,
            num_neg: sampling.num_neg,
            sub_sampling_mode: sampling.mode.to_string(),
            sub_sampling_ratio: sampling.ratio,
            loss_type: loss.as_str().into(),
            inference_mode: "bubble".into(),
            drop_out: m.dropout,
            fp16: false,
            ..RankerConfig::default()
        };
        let task = Self {
            collator,
            sampler: PairSampler::new(sampling)?,
            loss,
            n_tasks,
            ranker_config,
            backbone_config,
            eval_batch: config.eval.batch_size,
            seed: config.run.seed,
        };
        Ok((task, model))
    }
}

fn resolved_sampling(config: &Config) -> Result<PairSampling, TrainError> {
    let s = &config.model.sampling;
    let mode = match s.mode.expect("resolved config") {
        SamplingMode::AllPair => ranker_data::PairMode::AllPair,
        SamplingMode::TopBottom => ranker_data::PairMode::TopBottom,
        SamplingMode::Uniform => ranker_data::PairMode::Uniform,
        SamplingMode::Random => ranker_data::PairMode::Random,
        other => unreachable!("validated: {other:?} is not a PairRanker sampling mode"),
    };
    Ok(PairSampling {
        mode,
        num_pos: s.num_pos.expect("resolved config"),
        num_neg: s.num_neg.expect("resolved config"),
        ratio: s.ratio.expect("resolved config"),
    })
}

impl<B: AutodiffBackend> RankerTask<B> for PairTask {
    type Model = PairRanker<B>;
    type Micro = PairMicro;

    fn name(&self) -> &'static str {
        "PairRanker"
    }

    fn prepare(
        &self,
        examples: &[(usize, &Example)],
        example_seed: &dyn Fn(usize) -> u64,
    ) -> Result<PairMicro, TrainError> {
        let texts: Vec<RankText<'_>> = examples
            .iter()
            .map(|(_, e)| RankText {
                source: &e.source,
                candidates: e.candidates.iter().map(String::as_str).collect(),
            })
            .collect();
        let collated = self.collator.collate(&texts)?;
        let mut pairs = Vec::new();
        let mut left_scores = Vec::new();
        let mut right_scores = Vec::new();
        let mut row_keys = Vec::new();
        for (item, (index, example)) in examples.iter().enumerate() {
            let offset = collated.candidate_offsets[item];
            // HEAD dedups candidates whose token rows are identical.
            let keys: Vec<&[u32]> = (0..example.candidates.len())
                .map(|c| collated.candidates.row_ids(offset + c))
                .collect();
            let mut rng = ChaCha8Rng::seed_from_u64(example_seed(*index));
            for (number, pair) in self
                .sampler
                .sample(&example.scores, &keys, &mut rng)
                .into_iter()
                .enumerate()
            {
                row_keys.push(row_key(*index, number));
                pairs.push(CandidatePair {
                    item,
                    left: pair.left,
                    right: pair.right,
                });
                left_scores.extend(example.scores.row(pair.left).iter().map(|&v| v as f32));
                right_scores.extend(example.scores.row(pair.right).iter().map(|&v| v as f32));
            }
        }
        let batch = self.collator.pairs(&collated, &pairs)?;
        Ok(PairMicro {
            batch,
            row_keys,
            left_scores,
            right_scores,
            n_tasks: self.n_tasks,
        })
    }

    fn loss(&self, model: &PairRanker<B>, micro: &PairMicro, device: &B::Device) -> Tensor<B, 1> {
        let rows = micro.batch.len();
        let scores = |values: &[f32]| {
            Tensor::<B, 2>::from_data(
                TensorData::new(values.to_vec(), [rows, micro.n_tasks]),
                device,
            )
        };
        let (_, loss) = model.forward_loss(
            PairInput::from_batch(&micro.batch, device),
            scores(&micro.left_scores),
            scores(&micro.right_scores),
            self.loss,
        );
        loss
    }

    fn evaluate(
        &self,
        model: &PairRanker<B>,
        dev: &Dataset,
        collective: &mut dyn Collective,
        round: u64,
        device: &B::Device,
    ) -> Result<SelectionMetrics, TrainError> {
        let mut scorer =
            PairRankerScorer::new(model.valid(), self.collator.clone(), device.clone())?;
        // The reference selects with one bubble pass during training.
        let bubble = BubbleOptions {
            num_runs: 1,
            seed: self.seed,
            round,
            target: BubbleTarget::Best,
        };
        let inference = PairInference::Bubble(bubble);
        pairwise_dev_selection(
            &mut scorer,
            "PairRanker",
            self.eval_batch,
            inference,
            dev,
            collective,
        )
    }

    fn save(&self, model: &PairRanker<B>, dir: &Path) -> Result<(), TrainError> {
        save_pair_ranker(
            dir,
            model,
            self.collator.tokenizer(),
            &self.ranker_config,
            &self.backbone_config,
        )?;
        Ok(())
    }

    fn load_weights(
        &self,
        model: PairRanker<B>,
        dir: &Path,
        device: &B::Device,
    ) -> Result<PairRanker<B>, TrainError> {
        Ok(load_pair_ranker_weights(
            model,
            &dir.join("model.safetensors"),
            device,
        )?)
    }
}
