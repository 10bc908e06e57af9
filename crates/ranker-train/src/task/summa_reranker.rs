//! SummaReranker training (`SummaReranker`, <https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py>): best-candidate labels over all candidates, candidate sub-sampling
//! (`top_bottom` by default), `source + SEP + candidate` rows, the `MoE_BCE` loss with the MoE's auxiliary
//! loss, selection by the best score on the dev set.

use std::path::Path;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use ranker_data::{CandidateSampler, Dataset, Example, ScoreMatrix};
use ranker_dist::Collective;
use ranker_eval::{SelectionMetrics, SummaRerankerScorer};
use ranker_models::checkpoint::{
    load_summa_reranker, load_summa_reranker_weights, save_summa_reranker, RankerConfig, RankerType,
};
use ranker_models::collate::{RankText, ScrBatch, ScrCollator, TextEncoder, TokenizerSettings};
use ranker_models::ranker::{SummaInput, SummaReranker, SummaRerankerConfig};
use ranker_models::BackboneConfig;

use super::dev_eval::listwise_dev_selection;
use super::listwise::{candidate_sampling, listwise_row_keys, sample_candidates};
use super::{BackboneSetup, Prepared, RankerTask};
use crate::config::Config;
use crate::error::TrainError;

pub(crate) struct SummaTask {
    collator: ScrCollator,
    sampler: CandidateSampler,
    n_tasks: usize,
    ranker_config: RankerConfig,
    backbone_config: BackboneConfig,
    eval_batch: usize,
}

pub(crate) struct SummaMicro {
    /// [`row_key`]s of the examples and of their drawn candidates (example-major).
    example_keys: Vec<u64>,
    candidate_keys: Vec<u64>,
    /// The drawn candidates' rows, `[examples · drawn, …]`.
    batch: ScrBatch,
    /// `[examples, drawn, n_tasks]` labels of the drawn candidates, computed over all candidates.
    labels: Vec<f32>,
    n_tasks: usize,
}

impl Prepared for SummaMicro {
    fn units(&self) -> usize {
        self.batch.n_items
    }

    fn dropout_rows(&self) -> Vec<Vec<u64>> {
        vec![self.candidate_keys.clone(), self.example_keys.clone()]
    }
}

impl SummaTask {
    /// The task and its model: from `model.checkpoint` (a SummaReranker checkpoint, ours or the reference's
    /// state dict) or a fresh ranker on `model.backbone`. SummaReranker has no dropout of its own
    /// (`model.dropout` is not used); the backbone's comes from its `config.json`.
    pub fn build<B: AutodiffBackend>(
        config: &Config,
        device: &B::Device,
    ) -> Result<(Self, SummaReranker<B>), TrainError> {
        let m = &config.model;
        let n_tasks = config.data.metrics.len();
        let setup = BackboneSetup::from_config(config)?;
        let (encoder, model, backbone_config) = match &m.checkpoint {
            Some(dir) => {
                let loaded = load_summa_reranker::<B>(dir, Some(setup.path()), device)?;
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
                (loaded.tokenizer, loaded.model, loaded.backbone_config)
            }
            None => {
                let dir = setup.path();
                let tokenizer = ranker_models::load_tokenizer(dir)?;
                let encoder = TextEncoder::new(tokenizer, TokenizerSettings::from_dir(dir)?, dir)?;
                let vocab = ranker_models::tokenizer_len(encoder.tokenizer());
                let backbone = setup.build::<B>(vocab, device)?;
                let model = SummaRerankerConfig::new()
                    .with_n_tasks(n_tasks)
                    .init(backbone, device);
                (encoder, model, setup.config.clone().with_vocab_size(vocab))
            }
        };
        let collator = ScrCollator::new(encoder, m.source_max_len, m.candidate_max_len)?;
        let sampling = candidate_sampling(config);
        let ranker_config = RankerConfig {
            ranker_type: Some(RankerType::SummaReranker),
            model_type: Some(setup.family().into()),
            model_name: Some(setup.path().display().to_string()),
            source_maxlength: Some(m.source_max_len),
            candidate_maxlength: Some(m.candidate_max_len),
            n_tasks,
            num_pos: sampling.num_pos,
            num_neg: sampling.num_neg,
            sub_sampling_mode: sampling.mode.to_string(),
            sub_sampling_ratio: sampling.ratio,
            loss_type: "MoE_BCE".into(),
            drop_out: m.dropout,
            fp16: false,
            ..RankerConfig::default()
        };
        let task = Self {
            collator,
            sampler: CandidateSampler::new(sampling)?,
            n_tasks,
            ranker_config,
            backbone_config,
            eval_batch: config.eval.batch_size,
        };
        Ok((task, model))
    }
}

/// `labels[c][t] = 1` when candidate `c` has the best score of metric `t` (every tied best gets 1), compared in
/// float32 as the reference's `scores == scores.max(dim=1)` on a float32 tensor; `[n_candidates · n_tasks]`.
fn best_candidate_flags(scores: &ScoreMatrix) -> Vec<f32> {
    let (n, tasks) = (scores.n_candidates(), scores.n_tasks());
    let best: Vec<f32> = (0..tasks)
        .map(|t| {
            (0..n)
                .map(|c| scores.get(c, t) as f32)
                .fold(f32::NEG_INFINITY, f32::max)
        })
        .collect();
    (0..n)
        .flat_map(|c| (0..tasks).map(move |t| (c, t)))
        .map(|(c, t)| f32::from(u8::from(scores.get(c, t) as f32 == best[t])))
        .collect()
}

impl<B: AutodiffBackend> RankerTask<B> for SummaTask {
    type Model = SummaReranker<B>;
    type Micro = SummaMicro;

    fn name(&self) -> &'static str {
        "SummaReranker"
    }

    fn prepare(
        &self,
        examples: &[(usize, &Example)],
        example_seed: &dyn Fn(usize) -> u64,
    ) -> Result<SummaMicro, TrainError> {
        let selected = sample_candidates(&self.sampler, examples, example_seed, "SummaReranker")?;
        // Labels over all candidates (before sub-sampling); only the drawn candidates are tokenized, since
        // each row depends on its own source and candidate alone.
        let mut labels = Vec::new();
        let mut texts = Vec::with_capacity(examples.len());
        for ((_, example), picked) in examples.iter().zip(&selected) {
            let flags = best_candidate_flags(&example.scores);
            for &c in picked {
                labels.extend_from_slice(&flags[c * self.n_tasks..(c + 1) * self.n_tasks]);
            }
            texts.push(RankText {
                source: &example.source,
                candidates: picked
                    .iter()
                    .map(|&c| example.candidates[c].as_str())
                    .collect(),
            });
        }
        let (example_keys, candidate_keys) = listwise_row_keys(examples, &selected);
        Ok(SummaMicro {
            example_keys,
            candidate_keys,
            batch: self.collator.collate(&texts)?,
            labels,
            n_tasks: self.n_tasks,
        })
    }

    fn loss(
        &self,
        model: &SummaReranker<B>,
        micro: &SummaMicro,
        device: &B::Device,
    ) -> Tensor<B, 1> {
        let (items, drawn) = (micro.batch.n_items, micro.batch.n_candidates);
        let labels = Tensor::<B, 3>::from_data(
            TensorData::new(micro.labels.clone(), [items, drawn, micro.n_tasks]),
            device,
        );
        // Under autodiff the gates get noise from the backend RNG the loop seeds per micro-step.
        model
            .forward(SummaInput::from_batch(&micro.batch, device))
            .loss(labels)
    }

    fn evaluate(
        &self,
        model: &SummaReranker<B>,
        dev: &Dataset,
        collective: &mut dyn Collective,
        _round: u64,
        device: &B::Device,
    ) -> Result<SelectionMetrics, TrainError> {
        let mut scorer =
            SummaRerankerScorer::new(model.valid(), self.collator.clone(), device.clone())?;
        // `compute_metrics_for_scr`: the candidate with the best score.
        listwise_dev_selection(
            &mut scorer,
            "SummaReranker",
            self.eval_batch,
            dev,
            collective,
        )
    }

    fn save(&self, model: &SummaReranker<B>, dir: &Path) -> Result<(), TrainError> {
        save_summa_reranker(
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
        model: SummaReranker<B>,
        dir: &Path,
        device: &B::Device,
    ) -> Result<SummaReranker<B>, TrainError> {
        Ok(load_summa_reranker_weights(
            model,
            &dir.join("model.safetensors"),
            device,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::Flex;
    use ranker_models::loss::best_candidate_labels;

    use super::*;

    #[test]
    fn labels_match_the_model_crate_and_compare_in_float32() {
        // 0.1 + 0.2 ≠ 0.3 in f64 but equal in f32: a tie, as in the reference's float32 tensor.
        let rows = [
            vec![0.1 + 0.2, 1.0],
            vec![0.3, 2.0],
            vec![0.25, 2.0],
            vec![-1.0, 0.5],
        ];
        let scores = ScoreMatrix::from_rows(&rows).unwrap();
        let flags = best_candidate_flags(&scores);
        assert_eq!(flags, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
        let values: Vec<f32> = scores.values().iter().map(|&v| v as f32).collect();
        let device = Default::default();
        let tensor = Tensor::<Flex, 3>::from_data(TensorData::new(values, [1, 4, 2]), &device);
        best_candidate_labels(tensor)
            .into_data()
            .assert_eq(&TensorData::new(flags, [1, 4, 2]), false);
    }
}
