//! Optimisers (AdamW, Adafactor), learning-rate schedules and the parameter table that fixes
//! the layout of gradients and optimiser state.

mod optimizer;
mod params;
mod rules;
mod schedule;

pub use optimizer::*;
pub use params::*;
pub use rules::*;
pub use schedule::*;
