//! The typed run configuration: one struct per YAML section.
//!
//! Field names are the YAML keys. Every field has a default (documented in `configs/README.md`);
//! per-ranker defaults (loss, sampling) are `Option`s here and filled in by [`Config::resolve`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use ranker_eval::Aggregation;
pub use ranker_models::collate::LengthBudget;

/// What `ranker run` does with this config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Fine-tune a ranker (`ranker train`).
    #[default]
    Train,
    /// Run sharded inference and write the report (`ranker eval`).
    Eval,
}

/// The whole configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `train` or `eval`.
    pub task: Task,
    /// Run identity and output location.
    pub run: RunConfig,
    /// Data files, candidate filters and metrics.
    pub data: DataConfig,
    /// Ranker architecture, backbone and loss.
    pub model: ModelConfig,
    /// Optimisation loop.
    pub train: TrainConfig,
    /// Inference modes and evaluation.
    pub eval: EvalConfig,
    /// Multi-process settings.
    pub dist: DistConfig,
}

/// `run:` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Run name, used in logs and as the default output directory name.
    pub name: String,
    /// Run directory (config, logs, metrics, checkpoints, eval). Default: `runs/<name>`.
    pub output_dir: Option<PathBuf>,
    /// Seed for every random choice (initialisation, sampling, dropout, bubble permutations).
    pub seed: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            name: "ranker".into(),
            output_dir: None,
            seed: 42,
        }
    }
}

/// `data:` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Training set (`.json` array or `.jsonl`), MixInstruct format.
    pub train: Option<PathBuf>,
    /// Dev set used for eval-in-the-loop and `best` checkpoint selection.
    pub dev: Option<PathBuf>,
    /// Test set used by `ranker eval`.
    pub test: Option<PathBuf>,
    /// Keep only candidates from these models (empty: all).
    pub candidate_models: Vec<String>,
    /// Keep only candidates with these decoding methods (empty: all).
    pub decoding_methods: Vec<String>,
    /// Use the first N candidates of each item after filtering (null: all).
    pub n_candidates: Option<usize>,
    /// Metrics used as supervision, in task order (the first one is the `dev_score` metric).
    pub metrics: Vec<String>,
    /// Head-truncate the training set to N items before filtering (null: all).
    pub max_train_size: Option<usize>,
    /// Head-truncate the dev set (null: all).
    pub max_eval_size: Option<usize>,
    /// Head-truncate the test set (null: all).
    pub max_predict_size: Option<usize>,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            train: None,
            dev: None,
            test: None,
            candidate_models: Vec::new(),
            decoding_methods: Vec::new(),
            n_candidates: None,
            metrics: vec!["bartscore".into()],
            max_train_size: None,
            max_eval_size: None,
            max_predict_size: None,
        }
    }
}

/// Ranker architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RankerKind {
    /// Pairwise cross-encoder (LLM-Blender PairRanker, PairRM).
    #[default]
    PairRanker,
    /// Listwise scorer with a mixture-of-experts head.
    SummaReranker,
    /// Dual encoder with cosine similarity.
    SimCls,
}

/// Backbone architecture family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackboneKind {
    /// DeBERTa-v2 / v3.
    Deberta,
    /// RoBERTa.
    Roberta,
    /// BERT.
    Bert,
    /// XLM-RoBERTa.
    #[serde(rename = "xlm-roberta")]
    XlmRoberta,
    /// The T5 encoder (t5, t5-v1_1, flan-t5).
    T5,
}

/// Where the backbone weights come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackboneInit {
    /// Load `model.safetensors` / `pytorch_model.bin` from the model directory.
    #[default]
    Pretrained,
    /// Only `config.json` + `tokenizer.json` are read; weights are initialised from `run.seed`.
    Random,
}

/// `model.backbone:` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackboneSection {
    /// Architecture; null: taken from `model_type` in the directory's `config.json`.
    #[serde(rename = "type")]
    pub kind: Option<BackboneKind>,
    /// Hugging Face model directory (`config.json`, `tokenizer.json`, weights).
    pub path: PathBuf,
    /// `pretrained` or `random`.
    pub init: BackboneInit,
}

impl Default for BackboneSection {
    fn default() -> Self {
        Self {
            kind: None,
            path: PathBuf::from("configs/models/deberta-v3-tiny"),
            init: BackboneInit::Pretrained,
        }
    }
}

/// Training loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// PairRanker: `-log σ(sign(s1−s2)·(left−right))`.
    Instructgpt,
    /// PairRanker: binary cross-entropy on left and right.
    Bce,
    /// PairRanker: regression on scores.
    Mse,
    /// SummaReranker: BCE against best-per-metric labels plus the MoE auxiliary loss.
    MoeBce,
    /// SimCLS: margin ranking loss.
    Simcls,
}

/// Candidate / pair sub-sampling mode for training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplingMode {
    /// All distinct pairs, shuffled, first `min(num_pos, num_neg)`.
    AllPair,
    /// Best `num_pos` against worst `num_neg`.
    TopBottom,
    /// Adjacent pairs / candidates of a strided sorted list (`ratio`).
    Uniform,
    /// Random picks (`ratio`).
    Random,
    /// SummaReranker: random positives, worst negatives.
    RandomBottom,
    /// SummaReranker: best positives, random negatives.
    TopRandom,
    /// Keep every candidate (SummaReranker / SimCLS).
    None,
}

/// `model.sampling:` section; unset fields take the ranker's reference default.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplingConfig {
    /// Sub-sampling mode.
    pub mode: Option<SamplingMode>,
    /// Positives per example.
    pub num_pos: Option<usize>,
    /// Negatives per example.
    pub num_neg: Option<usize>,
    /// Fraction used by `uniform` / `random`.
    pub ratio: Option<f64>,
}

/// `model:` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// `pairranker`, `summareranker` or `simcls`.
    pub ranker: RankerKind,
    /// The encoder.
    pub backbone: BackboneSection,
    /// Start from a ranker checkpoint (PairRM layout) instead of a bare backbone.
    pub checkpoint: Option<PathBuf>,
    /// Token budget of the source segment.
    pub source_max_len: usize,
    /// Token budget of each candidate segment.
    pub candidate_max_len: usize,
    /// PairRanker: `shared` (the reference's current collator) or `fixed` (the paper-era collator).
    pub length_budget: LengthBudget,
    /// Dropout of the ranker head.
    pub dropout: f64,
    /// Loss; null: the ranker's reference default.
    pub loss: Option<LossKind>,
    /// Training-time sub-sampling.
    pub sampling: SamplingConfig,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            ranker: RankerKind::PairRanker,
            backbone: BackboneSection::default(),
            checkpoint: None,
            source_max_len: 128,
            candidate_max_len: 128,
            length_budget: LengthBudget::Shared,
            dropout: 0.05,
            loss: None,
            sampling: SamplingConfig::default(),
        }
    }
}

/// Optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adafactor as HF with `scale_parameter=False, relative_step=False` (the reference default).
    #[default]
    Adafactor,
    /// AdamW; no weight decay on biases and LayerNorm weights.
    Adamw,
}

/// Learning-rate schedule after warmup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// Linear warmup then linear decay to 0.
    #[default]
    Linear,
    /// Linear warmup then constant.
    Constant,
    /// Linear warmup then half-cosine decay to 0.
    Cosine,
}

/// Numeric precision of the forward/backward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats everywhere.
    #[default]
    Fp32,
    /// Mixed precision, fp16 compute.
    Fp16,
    /// Mixed precision, bf16 compute.
    Bf16,
}

impl Precision {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fp32 => "fp32",
            Self::Fp16 => "fp16",
            Self::Bf16 => "bf16",
        }
    }
}

/// `train:` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Stop after this many optimiser steps (null: run all epochs).
    pub max_steps: Option<usize>,
    /// Examples per micro-batch per process.
    pub per_device_batch: usize,
    /// Micro-batches per optimiser step (gradients are averaged).
    pub grad_accum: usize,
    /// `adafactor` or `adamw`.
    pub optimizer: OptimizerKind,
    /// Peak learning rate.
    pub lr: f64,
    /// Decoupled weight decay (not applied to biases and LayerNorm weights).
    pub weight_decay: f64,
    /// Fraction of steps spent in linear warmup.
    pub warmup_ratio: f64,
    /// `linear`, `constant` or `cosine`.
    pub schedule: ScheduleKind,
    /// Global-norm gradient clipping (null: off, as the reference's `max_grad_norm=10e10`).
    pub max_grad_norm: Option<f64>,
    /// `fp32`, `fp16` or `bf16`.
    pub precision: Precision,
    /// Forward + backward at most this many pairs (listwise rankers: examples) at a time, gradients
    /// accumulated; the step is the same as unchunked (null: the whole micro-batch at once).
    pub max_pairs_per_forward: Option<usize>,
    /// Recompute memory-bound activations in backward instead of keeping them (burn-autodiff's
    /// balanced checkpointing); same results.
    pub activation_checkpointing: bool,
    /// Evaluate on the dev set every N optimiser steps (null: only at epoch ends).
    pub eval_every: Option<usize>,
    /// Save a checkpoint every N optimiser steps (null: only at epoch ends).
    pub save_every: Option<usize>,
    /// Keep the newest N step checkpoints (`best` is kept in addition).
    pub keep_last: usize,
    /// Log a metrics line every N optimiser steps.
    pub log_every: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 5,
            max_steps: None,
            per_device_batch: 4,
            grad_accum: 16,
            optimizer: OptimizerKind::Adafactor,
            lr: 1e-5,
            weight_decay: 0.1,
            warmup_ratio: 0.05,
            schedule: ScheduleKind::Linear,
            max_grad_norm: None,
            precision: Precision::Fp32,
            max_pairs_per_forward: None,
            activation_checkpointing: false,
            eval_every: None,
            save_every: None,
            keep_last: 4,
            log_every: 5,
        }
    }
}

/// PairRanker inference mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvalMode {
    /// All n(n−1) ordered comparisons, then an aggregation.
    #[default]
    Full,
    /// One bubble pass per run: 2(n−1) comparisons per item.
    Bubble,
}

/// Which data split `ranker eval` runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvalSplit {
    /// `data.test`.
    #[default]
    Test,
    /// `data.dev`.
    Dev,
}

/// `eval:` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// `full` or `bubble` (PairRanker only).
    pub mode: EvalMode,
    /// `max_logits` or `max_wins` (full mode).
    pub aggregation: Aggregation,
    /// Forward passes per batch (pairs for PairRanker, items for the others).
    pub batch_size: usize,
    /// Bubble passes per item.
    pub num_runs: usize,
    /// Ranker checkpoint to evaluate (null: `<output_dir>/checkpoints/best`).
    pub checkpoint: Option<PathBuf>,
    /// `test` or `dev`.
    pub split: EvalSplit,
    /// `fp32`, `bf16` or `fp16` for the forward passes (the backbone computes in it; heads in f32).
    pub precision: Precision,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            mode: EvalMode::Full,
            aggregation: Aggregation::MaxLogits,
            batch_size: 32,
            num_runs: 1,
            checkpoint: None,
            split: EvalSplit::Test,
            precision: Precision::Fp32,
        }
    }
}

/// Collective backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DistBackend {
    /// NCCL on CUDA devices, TCP otherwise.
    #[default]
    Auto,
    /// NCCL (requires the `cuda` build and libnccl).
    Nccl,
    /// Host TCP ring.
    Tcp,
}

/// `dist:` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DistConfig {
    /// `auto`, `nccl` or `tcp`.
    pub backend: DistBackend,
    /// Every collective and store call fails after this many seconds, naming the peer.
    pub timeout_s: u64,
    /// Gradient all-reduce bucket size in MiB.
    pub bucket_mb: usize,
}

impl Default for DistConfig {
    fn default() -> Self {
        Self {
            backend: DistBackend::Auto,
            timeout_s: 300,
            bucket_mb: 25,
        }
    }
}
