//! The run configuration (`task`, `run`, `data`, `model`, `train`, `eval`, `dist`), read from YAML.

mod error;
mod load;
mod schema;
mod validate;

pub use error::ConfigError;
pub use load::Override;
pub use schema::{
    Aggregation, BackboneInit, BackboneKind, BackboneSection, Config, DataConfig, DistBackend,
    DistConfig, EvalConfig, EvalMode, EvalSplit, LossKind, ModelConfig, OptimizerKind, Precision,
    RankerKind, RunConfig, SamplingConfig, SamplingMode, ScheduleKind, Task, TrainConfig,
};
