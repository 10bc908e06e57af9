//! Slurm support: hostlist expansion and reading `SLURM_*`.

mod env;
pub mod hostlist;

pub use env::{
    detect, parse_tasks_per_node, port_for_job, store_port_for_job, SlurmError, SlurmInfo,
    SlurmMode,
};
