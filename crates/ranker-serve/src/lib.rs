//! `ranker serve`: a ranker checkpoint as a reward model over HTTP, for RLHF trainers that call a reward model as
//! a service.
//!
//! - `POST /rank`, `/compare`, `/compare-conversations`, `/best-of-n`, `/worst-of-n` take the JSON of the
//!   matching `ranker` command's input lines — one object, or a list — and answer with the command's output
//!   lines (an object, or a list in the same order). Options go in the query string: `?order=both|ab|ba`
//!   (compare), `?mode=bubble|full&return_all=true&seed=42` (best-of-n / worst-of-n).
//! - `GET /health` (`{"status": "ok", "ranker_type", "queued"}`, never needs the token), `GET /metrics`
//!   (Prometheus text: requests, errors, latency histogram, batch sizes, queue depth).
//! - Dynamic batching: one model thread takes the queued requests, waits up to `max_wait` for more until
//!   `max_batch_pairs` comparisons are waiting, and runs them together, `max_batch_pairs` pairs per forward.
//!   Each item is tokenized on its own, so an answer does not depend on which requests shared its batch.
//! - Errors are one-line JSON objects `{"error": "field: what is wrong"}`: 400 for a malformed or invalid body or
//!   option, 401 without the bearer token (when the server has one), 413 over the body limit, 503 with
//!   `Retry-After` when the queue is full, 422 when the model rejects an input.
//! - SIGTERM or Ctrl-C: stop accepting, answer every request already received, then return.
//!
//! The model runs on its own thread; the HTTP side runs on a small tokio runtime.

#![forbid(unsafe_code)]

mod batcher;
mod endpoint;
mod http;
mod metrics;
mod request;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use burn::tensor::backend::Backend;
use ranker_eval::reward::RewardModel;

pub use metrics::Metrics;

/// How the server listens and batches.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Address to bind (loopback by default: a reward model is an internal service).
    pub host: String,
    /// Port to bind (0 for any free port; the bound address is passed to `on_ready`).
    pub port: u16,
    /// Comparisons per model batch and per forward (1 disables batching).
    pub max_batch_pairs: usize,
    /// How long the first queued request waits for others to share its batch.
    pub max_wait: Duration,
    /// Requests waiting for the model before new ones get 503.
    pub queue_size: usize,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Bearer token every endpoint but `/health` requires, if set.
    pub token: Option<String>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8000,
            max_batch_pairs: 64,
            max_wait: Duration::from_millis(5),
            queue_size: 256,
            max_body_bytes: 8 << 20,
            token: None,
        }
    }
}

/// Why the server could not start or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// An option out of range.
    #[error("{key} = {value}: {reason}")]
    InvalidOption {
        /// The option.
        key: &'static str,
        /// Its value.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The model failed to load.
    #[error("loading the model: {0}")]
    Load(String),
    /// The address could not be bound.
    #[error("binding {addr}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The runtime or the server failed.
    #[error("serving")]
    Io(#[source] std::io::Error),
    /// The model thread panicked.
    #[error("the model thread panicked")]
    ModelThread,
}

/// Loads the model with `load` on the model thread, binds, calls `on_ready` with the bound address and the
/// ranker type, and serves until SIGTERM or Ctrl-C; returns once every received request is answered.
///
/// # Errors
/// Options out of range, the model failing to load, the address failing to bind, or the model thread panicking.
pub fn serve<B, L, E>(
    load: L,
    options: ServeOptions,
    on_ready: impl FnOnce(SocketAddr, &'static str),
) -> Result<(), ServeError>
where
    B: Backend,
    L: FnOnce() -> Result<RewardModel<B>, E> + Send + 'static,
    E: std::fmt::Display,
{
    for (key, value) in [
        ("max_batch_pairs", options.max_batch_pairs),
        ("queue_size", options.queue_size),
        ("max_body_bytes", options.max_body_bytes),
    ] {
        if value == 0 {
            return Err(ServeError::InvalidOption {
                key,
                value: "0".into(),
                reason: "must be at least 1",
            });
        }
    }
    let metrics = Arc::new(Metrics::default());
    let (jobs, queue) = std::sync::mpsc::sync_channel(options.queue_size);
    let (loaded_tx, loaded_rx) = std::sync::mpsc::channel();
    let batching = batcher::Batching {
        max_batch_pairs: options.max_batch_pairs,
        max_wait: options.max_wait,
    };
    let thread_metrics = Arc::clone(&metrics);
    let model_thread = std::thread::Builder::new()
        .name("ranker-model".into())
        .spawn(move || match load() {
            Ok(model) => {
                let _ = loaded_tx.send(Ok((model.ranker_type(), model.is_pairwise())));
                batcher::run(model, queue, batching, thread_metrics);
            }
            Err(e) => {
                let _ = loaded_tx.send(Err(e.to_string()));
            }
        })
        .map_err(ServeError::Io)?;
    let (ranker_type, pairwise) = match loaded_rx.recv() {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(message)) => {
            let _ = model_thread.join();
            return Err(ServeError::Load(message));
        }
        Err(_) => {
            let _ = model_thread.join();
            return Err(ServeError::ModelThread);
        }
    };
    let state = Arc::new(http::AppState {
        jobs,
        metrics,
        token: options.token.clone(),
        model: endpoint::ModelKind {
            ranker_type,
            pairwise,
        },
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ranker-http")
        .enable_all()
        .build()
        .map_err(ServeError::Io)?;
    let served = runtime.block_on(async move {
        let addr = format!("{}:{}", options.host, options.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        let bound = listener.local_addr().map_err(ServeError::Io)?;
        if options.token.is_none() && !bound.ip().is_loopback() {
            tracing::warn!(
                "listening on {bound} without a bearer token: anyone who can reach it can use the model \
                 (--token-file)"
            );
        }
        on_ready(bound, ranker_type);
        let app = http::router(state, options.max_body_bytes);
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(ServeError::Io)
    });
    // The router (and with it every job sender) is gone: the model thread answers what is queued, then ends.
    runtime.shutdown_timeout(Duration::from_secs(1));
    model_thread.join().map_err(|_| ServeError::ModelThread)?;
    served
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::warn!("cannot listen for SIGTERM ({e}); stop with Ctrl-C");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: answering the requests already received");
}
