use std::path::PathBuf;

use clap::Args;

use super::ModelArgs;

/// `ranker serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The checkpoint and where it runs.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Address to bind (loopback by default; bind other addresses with --token-file).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind (0: any free port; the address is printed on stdout once the server listens).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Comparisons per model batch and per forward, across concurrent requests (1: no batching).
    #[arg(long, default_value_t = 64)]
    pub max_batch_pairs: usize,
    /// How long a request waits for others to share its batch, in milliseconds.
    #[arg(long, default_value_t = 5)]
    pub max_wait_ms: u64,
    /// Requests waiting for the model before new ones are answered 503 with Retry-After.
    #[arg(long, default_value_t = 256)]
    pub queue_size: usize,
    /// Largest request body in bytes (larger ones are answered 413).
    #[arg(long, default_value_t = 8 << 20)]
    pub max_body_bytes: usize,
    /// A file holding the bearer token every endpoint but /health requires (`Authorization: Bearer …`).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}
