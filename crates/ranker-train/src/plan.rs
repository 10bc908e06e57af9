//! `ranker train CONFIG --dry-run`: what a run would do, without building a model.
//!
//! [`InputSurvey::inspect`] does the file-system work (which inputs exist, how many examples each data split
//! holds after the config's filters — loading a split also validates every item), and [`plan`] is a pure
//! function of the config, the world size and that survey. The plan prints as a few aligned lines.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::batches::BatchLayout;
use crate::config::{BackboneInit, Config, EvalMode, EvalSplit, RankerKind, SamplingMode, Task};
use crate::data::{load_split, split_path, Split};
use crate::error::TrainError;

/// An input the run needs that does not exist yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingInput {
    /// The config key that names it.
    pub key: &'static str,
    /// The path.
    pub path: PathBuf,
    /// What is missing there.
    pub what: String,
}

impl fmt::Display for MissingInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.key, self.path.display(), self.what)
    }
}

/// What exists of the config's inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputSurvey {
    /// Examples of `data.train`, `data.dev`, `data.test` after filtering (None: not configured or missing).
    pub examples: [Option<usize>; 3],
    /// Candidates of the first example of each split (the paper's data has the same count everywhere).
    pub candidates: [Option<usize>; 3],
    /// Inputs that do not exist.
    pub missing: Vec<MissingInput>,
}

const SPLITS: [Split; 3] = [Split::Train, Split::Dev, Split::Test];

fn split_index(split: Split) -> usize {
    match split {
        Split::Train => 0,
        Split::Dev => 1,
        Split::Test => 2,
    }
}

impl InputSurvey {
    /// Checks every input of `config`: data splits are loaded (bad items are errors, as in training), model
    /// directories are checked for the files they must hold.
    ///
    /// # Errors
    /// The split the task needs is not configured; a data file that exists but cannot be read or holds a bad
    /// item.
    pub fn inspect(config: &Config) -> Result<Self, TrainError> {
        let required = match (config.task, config.eval.split) {
            (Task::Train, _) => Split::Train,
            (Task::Eval, EvalSplit::Test) => Split::Test,
            (Task::Eval, EvalSplit::Dev) => Split::Dev,
        };
        if split_path(config, required).is_none() {
            return Err(TrainError::Setup {
                key: required.key(),
                message: "is required for this task".into(),
            });
        }
        let mut survey = Self::default();
        for split in SPLITS {
            let Some(path) = split_path(config, split) else {
                continue;
            };
            if !path.exists() {
                survey.missing.push(MissingInput {
                    key: split.key(),
                    path: path.to_path_buf(),
                    what: "no such file".into(),
                });
                continue;
            }
            if let Some(dataset) = load_split(config, split)? {
                survey.examples[split_index(split)] = Some(dataset.examples.len());
                survey.candidates[split_index(split)] =
                    dataset.examples.first().map(|e| e.n_candidates());
            }
        }
        let m = &config.model;
        const WEIGHTS: &[&str] = &["model.safetensors", "pytorch_model.bin"];
        match &m.checkpoint {
            Some(dir) => survey.check_dir(
                "model.checkpoint",
                dir,
                &[WEIGHTS, &["ranker_config.json", "config.json"]],
            ),
            None => {
                let mut needed: Vec<&[&str]> = vec![&["config.json"], &["tokenizer.json"]];
                if m.backbone.init == BackboneInit::Pretrained {
                    needed.push(WEIGHTS);
                }
                survey.check_dir("model.backbone.path", &m.backbone.path, &needed);
            }
        }
        if config.task == Task::Eval {
            let checkpoint = config
                .eval
                .checkpoint
                .clone()
                .unwrap_or_else(|| config.output_dir().join("checkpoints").join("best"));
            survey.check_dir("eval.checkpoint", &checkpoint, &[WEIGHTS]);
        }
        Ok(survey)
    }

    /// Records `dir` as missing, or each group of `needed` of which `dir` holds no file.
    fn check_dir(&mut self, key: &'static str, dir: &Path, needed: &[&[&str]]) {
        if !dir.is_dir() {
            self.missing.push(MissingInput {
                key,
                path: dir.to_path_buf(),
                what: "no such directory".into(),
            });
            return;
        }
        for group in needed {
            if !group.iter().any(|name| dir.join(name).is_file()) {
                let mut what = format!("no {}", group.join(" or "));
                if group == &["tokenizer.json"].as_slice() && dir.join("spm.model").is_file() {
                    what.push_str(
                        " (only spm.model: convert it once with transformers, \
                         `AutoTokenizer.from_pretrained(d).save_pretrained(d)`)",
                    );
                }
                self.missing.push(MissingInput {
                    key,
                    path: dir.to_path_buf(),
                    what,
                });
            }
        }
    }
}

/// The optimisation schedule of a training run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepPlan {
    /// Optimiser steps per epoch.
    pub steps_per_epoch: u64,
    /// Optimiser steps in all.
    pub total_steps: u64,
    /// Linear-warmup steps.
    pub warmup_steps: u64,
    /// Steps at which a dev evaluation runs (empty without a dev set).
    pub eval_steps: Vec<u64>,
    /// Steps at which a checkpoint is written.
    pub checkpoint_steps: Vec<u64>,
}

/// What `ranker train --dry-run` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainPlan {
    /// The config's task.
    pub task: Task,
    /// The ranker.
    pub ranker: RankerKind,
    /// Processes.
    pub world: usize,
    /// Examples per micro-batch per process.
    pub per_device_batch: usize,
    /// Micro-batches per step.
    pub grad_accum: usize,
    /// Examples per optimiser step over all processes.
    pub global_batch: usize,
    /// PairRanker: pairs per example per step, when the sampling mode fixes it.
    pub pairs_per_example: Option<usize>,
    /// Examples per split (train, dev, test) when the files exist.
    pub examples: [Option<usize>; 3],
    /// Whether the config names a file for each split.
    pub configured: [bool; 3],
    /// The schedule, when the training set exists (or `train.max_steps` fixes it).
    pub steps: Option<StepPlan>,
    /// Step checkpoints kept (plus `best`).
    pub keep_last: usize,
    /// Evaluation: forward passes per item, when the test set exists.
    pub eval_forwards_per_item: Option<usize>,
    /// The run directory.
    pub output_dir: PathBuf,
    /// Missing inputs (warnings, errors under `--strict`).
    pub missing: Vec<MissingInput>,
}

/// The plan of `config` on `world` processes, given what exists of its inputs.
pub fn plan(config: &Config, world: usize, inputs: &InputSurvey) -> TrainPlan {
    let t = &config.train;
    let layout = BatchLayout {
        world,
        per_device_batch: t.per_device_batch,
        grad_accum: t.grad_accum,
    };
    let train_examples = inputs.examples[0];
    let steps_per_epoch = train_examples.map(|n| layout.steps_per_epoch(n) as u64);
    let total_steps = match (t.max_steps, steps_per_epoch) {
        (Some(steps), _) => Some(steps as u64),
        (None, Some(spe)) => Some(spe * t.epochs as u64),
        (None, None) => None,
    };
    let steps = match (config.task, total_steps) {
        (Task::Train, Some(total)) => {
            // Without the training set, only max_steps is known: epoch ends are unknown.
            let spe = steps_per_epoch.unwrap_or(u64::MAX);
            let has_dev = config.data.dev.is_some();
            let every = |n: Option<usize>| {
                move |step: u64| n.is_some_and(|n| step.is_multiple_of(n as u64))
            };
            let (eval_every, save_every) = (every(t.eval_every), every(t.save_every));
            let mut eval_steps = Vec::new();
            let mut checkpoint_steps = BTreeSet::new();
            for step in 1..=total {
                let epoch_end = step.is_multiple_of(spe);
                let last = step == total;
                let eval_now = has_dev && (epoch_end || last || eval_every(step));
                if eval_now {
                    eval_steps.push(step);
                }
                if eval_now || epoch_end || last || save_every(step) {
                    checkpoint_steps.insert(step);
                }
            }
            Some(StepPlan {
                steps_per_epoch: steps_per_epoch.unwrap_or(0),
                total_steps: total,
                warmup_steps: (total as f64 * t.warmup_ratio).ceil() as u64,
                eval_steps,
                checkpoint_steps: checkpoint_steps.into_iter().collect(),
            })
        }
        _ => None,
    };
    let m = &config.model;
    let pairs_per_example = match (m.ranker, m.sampling.mode) {
        (RankerKind::PairRanker, Some(SamplingMode::AllPair | SamplingMode::TopBottom)) => m
            .sampling
            .num_pos
            .zip(m.sampling.num_neg)
            .map(|(p, n)| p.min(n)),
        _ => None,
    };
    let eval_split = match config.eval.split {
        EvalSplit::Test => 2,
        EvalSplit::Dev => 1,
    };
    let eval_forwards_per_item = inputs.candidates[eval_split].map(|n| match m.ranker {
        RankerKind::PairRanker => match config.eval.mode {
            EvalMode::Full => n * n.saturating_sub(1),
            EvalMode::Bubble => 2 * n.saturating_sub(1) * config.eval.num_runs,
        },
        RankerKind::SummaReranker | RankerKind::SimCls => 1,
    });
    TrainPlan {
        task: config.task,
        ranker: m.ranker,
        world,
        per_device_batch: t.per_device_batch,
        grad_accum: t.grad_accum,
        global_batch: layout.global_examples(),
        pairs_per_example,
        examples: inputs.examples,
        configured: SPLITS.map(|split| split_path(config, split).is_some()),
        steps,
        keep_last: t.keep_last,
        eval_forwards_per_item,
        output_dir: config.output_dir(),
        missing: inputs.missing.clone(),
    }
}

fn count(n: Option<usize>, configured: bool) -> String {
    match (n, configured) {
        (Some(n), _) => n.to_string(),
        (None, true) => "unknown (file missing)".into(),
        (None, false) => "none".into(),
    }
}

fn step_list(steps: &[u64]) -> String {
    const SHOWN: usize = 6;
    let shown: Vec<String> = steps.iter().take(SHOWN).map(u64::to_string).collect();
    let more = if steps.len() > SHOWN + 1 {
        format!(", …, {}", steps[steps.len() - 1])
    } else if steps.len() == SHOWN + 1 {
        format!(", {}", steps[SHOWN])
    } else {
        String::new()
    };
    format!("{} ({}{more})", steps.len(), shown.join(", "))
}

impl fmt::Display for TrainPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let task = match self.task {
            Task::Train => "train",
            Task::Eval => "eval",
        };
        let ranker = match self.ranker {
            RankerKind::PairRanker => "pairranker",
            RankerKind::SummaReranker => "summareranker",
            RankerKind::SimCls => "simcls",
        };
        writeln!(f, "task            {task} ({ranker})")?;
        writeln!(f, "world size      {}", self.world)?;
        if self.task == Task::Train {
            write!(
                f,
                "global batch    {} examples = {} process(es) × {} per device × {} accumulation",
                self.global_batch, self.world, self.per_device_batch, self.grad_accum
            )?;
            match self.pairs_per_example {
                Some(k) => writeln!(f, " ({} pairs)", self.global_batch * k)?,
                None => writeln!(f)?,
            }
        }
        writeln!(
            f,
            "examples        train {}, dev {}, test {}",
            count(self.examples[0], self.configured[0]),
            count(self.examples[1], self.configured[1]),
            count(self.examples[2], self.configured[2])
        )?;
        if let Some(s) = &self.steps {
            if s.steps_per_epoch > 0 {
                writeln!(f, "steps/epoch     {}", s.steps_per_epoch)?;
            }
            writeln!(
                f,
                "total steps     {} ({} warmup)",
                s.total_steps, s.warmup_steps
            )?;
            if !s.eval_steps.is_empty() {
                writeln!(f, "dev evaluations {}", step_list(&s.eval_steps))?;
            }
            writeln!(
                f,
                "checkpoints     {}; the newest {} kept, plus best",
                step_list(&s.checkpoint_steps),
                self.keep_last
            )?;
        } else if self.task == Task::Train {
            writeln!(
                f,
                "total steps     unknown until data.train exists (or set train.max_steps)"
            )?;
        }
        if let Some(n) = self.eval_forwards_per_item {
            writeln!(f, "eval forwards   {n} per item")?;
        }
        write!(f, "output          {}", self.output_dir.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Config {
        Config::from_yaml_str(yaml, Path::new("test.yaml"), &[]).unwrap()
    }

    fn survey(train: usize, dev: bool) -> InputSurvey {
        InputSurvey {
            examples: [Some(train), dev.then_some(10), None],
            candidates: [Some(11), dev.then_some(11), Some(11)],
            missing: Vec::new(),
        }
    }

    #[test]
    fn the_paper_batch_gives_the_paper_schedule() {
        // MixInstruct: 100k training items, 4 × 16 on one GPU, 5 epochs.
        let c = config(
            "data: {train: t.jsonl, dev: d.jsonl}\ntrain: {per_device_batch: 4, grad_accum: 16}\n",
        );
        let p = plan(&c, 1, &survey(100_000, true));
        assert_eq!(p.global_batch, 64);
        assert_eq!(p.pairs_per_example, Some(5));
        let s = p.steps.unwrap();
        assert_eq!(s.steps_per_epoch, 1563);
        assert_eq!(s.total_steps, 7815);
        assert_eq!(s.warmup_steps, 391);
        assert_eq!(s.eval_steps, vec![1563, 3126, 4689, 6252, 7815]);
        assert_eq!(s.checkpoint_steps, s.eval_steps);
        // 8 processes × 1 × 8 is the same global batch, so the same schedule.
        let c8 = config("data: {train: t.jsonl}\ntrain: {per_device_batch: 1, grad_accum: 8}\n");
        let p8 = plan(&c8, 8, &survey(100_000, false));
        assert_eq!(p8.global_batch, 64);
        assert_eq!(p8.steps.unwrap().total_steps, 7815);
    }

    #[test]
    fn save_and_eval_intervals_add_checkpoints() {
        let c = config(
            "data: {train: t.jsonl, dev: d.jsonl}\n\
             train: {epochs: 2, per_device_batch: 2, grad_accum: 1, eval_every: 4, save_every: 3}\n",
        );
        let s = plan(&c, 1, &survey(10, true)).steps.unwrap();
        assert_eq!(s.steps_per_epoch, 5);
        assert_eq!(s.eval_steps, vec![4, 5, 8, 10]);
        assert_eq!(s.checkpoint_steps, vec![3, 4, 5, 6, 8, 9, 10]);
        let printed = plan(&c, 1, &survey(10, true)).to_string();
        assert!(
            printed.contains("checkpoints     7 (3, 4, 5, 6, 8, 9, 10); the newest 4 kept"),
            "{printed}"
        );
    }

    #[test]
    fn without_the_training_set_only_max_steps_is_known() {
        let c = config("data: {train: t.jsonl}\n");
        let p = plan(&c, 2, &InputSurvey::default());
        assert!(p.steps.is_none());
        assert!(p.to_string().contains("unknown until data.train exists"));
        let c = config("data: {train: t.jsonl}\ntrain: {max_steps: 20, save_every: 10}\n");
        let s = plan(&c, 2, &InputSurvey::default()).steps.unwrap();
        assert_eq!((s.total_steps, s.checkpoint_steps), (20, vec![10, 20]));
    }

    #[test]
    fn missing_inputs_are_listed_with_their_key() {
        let dir = std::env::temp_dir().join(format!("ranker-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), "{}").unwrap();
        std::fs::write(dir.join("spm.model"), "").unwrap();
        let yaml = format!(
            "data: {{train: {0}/absent.jsonl}}\nmodel: {{backbone: {{path: {0}}}}}\n",
            dir.display()
        );
        let survey = InputSurvey::inspect(&config(&yaml)).unwrap();
        let lines: Vec<String> = survey.missing.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("data.train: ") && lines[0].ends_with("no such file"));
        assert!(
            lines[1].contains("no tokenizer.json (only spm.model"),
            "{lines:?}"
        );
        assert!(lines[2].ends_with("no model.safetensors or pytorch_model.bin"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
