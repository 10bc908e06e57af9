//! The rendezvous store: a token-guarded key-value server and its client.

mod client;
pub mod protocol;
mod server;

pub(crate) use client::jitter;
pub use client::StoreClient;
pub use server::{RefusalHook, StoreServer};
