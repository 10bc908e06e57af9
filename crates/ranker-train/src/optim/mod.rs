//! Optimisers (AdamW, Adafactor), learning-rate schedules and the parameter table that fixes
//! the layout of gradients and optimiser state.

mod flat;
mod optimizer;
mod params;
mod rules;
mod schedule;

pub use optimizer::{Optimizer, OptimizerRule, OptimizerStateError};
pub use params::{ParamEntry, ParamTable};
pub use rules::{Adafactor, AdafactorState, AdamState, AdamW};
pub use schedule::LrSchedule;
