//! Range and compatibility checks, and the per-ranker reference defaults.

use std::path::Path;

use super::{Config, ConfigError, LossKind, RankerKind, SamplingMode};

impl RankerKind {
    /// The reference script's loss for this ranker (`train_ranker.py`, <https://github.com/yuchenlin/LLM-Blender/blob/2a67366/train_ranker.py>).
    pub fn default_loss(self) -> LossKind {
        match self {
            RankerKind::PairRanker => LossKind::Instructgpt,
            RankerKind::SummaReranker => LossKind::MoeBce,
            RankerKind::SimCls => LossKind::Simcls,
        }
    }

    /// Losses this ranker can train with.
    pub fn supported_losses(self) -> &'static [LossKind] {
        match self {
            RankerKind::PairRanker => &[LossKind::Instructgpt, LossKind::Bce, LossKind::Mse],
            RankerKind::SummaReranker => &[LossKind::MoeBce],
            RankerKind::SimCls => &[LossKind::Simcls],
        }
    }

    /// The reference script's sub-sampling for this ranker: (mode, num_pos, num_neg, ratio).
    pub fn default_sampling(self) -> (SamplingMode, usize, usize, f64) {
        match self {
            RankerKind::PairRanker => (SamplingMode::AllPair, 5, 5, 0.4),
            RankerKind::SummaReranker => (SamplingMode::TopBottom, 1, 1, 0.4),
            RankerKind::SimCls => (SamplingMode::Uniform, 1, 1, 0.3),
        }
    }

    /// Sub-sampling modes this ranker accepts.
    pub fn supported_sampling(self) -> &'static [SamplingMode] {
        use SamplingMode::*;
        match self {
            RankerKind::PairRanker => &[AllPair, TopBottom, Uniform, Random],
            RankerKind::SummaReranker | RankerKind::SimCls => {
                &[TopBottom, TopRandom, RandomBottom, Uniform, Random, None]
            }
        }
    }
}

impl Config {
    /// Checks value ranges and ranker/loss/sampling compatibility; errors name the key path.
    pub fn validate(&self, origin: &Path) -> Result<(), ConfigError> {
        let err = |key: &str, message: String| ConfigError::Invalid {
            file: origin.to_path_buf(),
            key: key.to_string(),
            message,
        };
        let at_least = |key: &str, value: usize, min: usize| {
            if value < min {
                Err(err(key, format!("must be ≥ {min}, got {value}")))
            } else {
                Ok(())
            }
        };
        let positive_finite = |key: &str, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(err(key, format!("must be a positive number, got {value}")))
            }
        };
        let in_unit = |key: &str, value: f64, closed_high: bool| {
            let ok =
                value.is_finite() && value >= 0.0 && (value < 1.0 || (closed_high && value == 1.0));
            if ok {
                Ok(())
            } else {
                let range = if closed_high { "[0, 1]" } else { "[0, 1)" };
                Err(err(key, format!("must be in {range}, got {value}")))
            }
        };

        if self.run.name.trim().is_empty() {
            return Err(err("run.name", "must not be empty".into()));
        }

        if self.data.metrics.is_empty() {
            return Err(err("data.metrics", "needs at least one metric".into()));
        }
        for (i, m) in self.data.metrics.iter().enumerate() {
            if self.data.metrics[..i].contains(m) {
                return Err(err("data.metrics", format!("`{m}` is listed twice")));
            }
        }
        if let Some(n) = self.data.n_candidates {
            at_least("data.n_candidates", n, 2)?;
        }
        for (key, v) in [
            ("data.max_train_size", self.data.max_train_size),
            ("data.max_eval_size", self.data.max_eval_size),
            ("data.max_predict_size", self.data.max_predict_size),
        ] {
            if let Some(v) = v {
                at_least(key, v, 1)?;
            }
        }

        let m = &self.model;
        at_least("model.source_max_len", m.source_max_len, 4)?;
        at_least("model.candidate_max_len", m.candidate_max_len, 4)?;
        in_unit("model.dropout", m.dropout, false)?;
        if let Some(loss) = m.loss {
            if !m.ranker.supported_losses().contains(&loss) {
                return Err(err(
                    "model.loss",
                    format!(
                        "{loss:?} is not a {:?} loss; supported: {:?}",
                        m.ranker,
                        m.ranker.supported_losses()
                    ),
                ));
            }
        }
        if let Some(mode) = m.sampling.mode {
            if !m.ranker.supported_sampling().contains(&mode) {
                return Err(err(
                    "model.sampling.mode",
                    format!(
                        "{mode:?} is not available for {:?}; supported: {:?}",
                        m.ranker,
                        m.ranker.supported_sampling()
                    ),
                ));
            }
        }
        if let Some(n) = m.sampling.num_pos {
            at_least("model.sampling.num_pos", n, 1)?;
        }
        if let Some(n) = m.sampling.num_neg {
            at_least("model.sampling.num_neg", n, 1)?;
        }
        if let Some(r) = m.sampling.ratio {
            if !(r.is_finite() && r > 0.0 && r <= 1.0) {
                return Err(err(
                    "model.sampling.ratio",
                    format!("must be in (0, 1], got {r}"),
                ));
            }
        }

        let t = &self.train;
        at_least("train.epochs", t.epochs, 1)?;
        if let Some(s) = t.max_steps {
            at_least("train.max_steps", s, 1)?;
        }
        at_least("train.per_device_batch", t.per_device_batch, 1)?;
        at_least("train.grad_accum", t.grad_accum, 1)?;
        if let Some(n) = t.max_pairs_per_forward {
            at_least("train.max_pairs_per_forward", n, 1)?;
            if self.model.ranker != RankerKind::PairRanker {
                return Err(err(
                    "train.max_pairs_per_forward",
                    "applies to PairRanker (whose loss is a mean over pairs) only; \
                     use train.per_device_batch for SummaReranker and SimCLS"
                        .into(),
                ));
            }
        }
        positive_finite("train.lr", t.lr)?;
        if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
            return Err(err(
                "train.weight_decay",
                format!("must be ≥ 0, got {}", t.weight_decay),
            ));
        }
        in_unit("train.warmup_ratio", t.warmup_ratio, true)?;
        if let Some(n) = t.max_grad_norm {
            positive_finite("train.max_grad_norm", n)?;
        }
        if let Some(n) = t.eval_every {
            at_least("train.eval_every", n, 1)?;
        }
        if let Some(n) = t.save_every {
            at_least("train.save_every", n, 1)?;
        }
        at_least("train.keep_last", t.keep_last, 1)?;
        at_least("train.log_every", t.log_every, 1)?;

        at_least("eval.batch_size", self.eval.batch_size, 1)?;
        at_least("eval.num_runs", self.eval.num_runs, 1)?;

        if self.dist.timeout_s == 0 {
            return Err(err("dist.timeout_s", "must be ≥ 1".into()));
        }
        at_least("dist.bucket_mb", self.dist.bucket_mb, 1)?;
        Ok(())
    }

    /// Fills the per-ranker reference defaults (loss, sampling) and the output directory, so that
    /// the config written to the run directory states every value that was used.
    pub fn resolve(mut self) -> Config {
        let ranker = self.model.ranker;
        self.model.loss.get_or_insert(ranker.default_loss());
        let (mode, num_pos, num_neg, ratio) = ranker.default_sampling();
        let s = &mut self.model.sampling;
        s.mode.get_or_insert(mode);
        s.num_pos.get_or_insert(num_pos);
        s.num_neg.get_or_insert(num_neg);
        s.ratio.get_or_insert(ratio);
        if self.run.output_dir.is_none() {
            self.run.output_dir = Some(self.output_dir());
        }
        self
    }
}
