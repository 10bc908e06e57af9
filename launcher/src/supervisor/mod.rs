//! Spawning and supervising the node's workers.

mod event;
mod group;
pub mod logs;
mod signals;
mod spawn;
pub mod summary;

pub use event::{Event, StopReason};
pub use group::{run_attempt, wait_for_handler, AttemptOutcome, AttemptSpec, Control, WorkerState};
pub use signals::{block_handled, signal_name, spawn_intake, HANDLED};
pub use spawn::{signal_group, spawn, Spawned, WorkerSpec};
