//! The one error type of this crate. Every message names the variable, key, address or rank involved.

use std::io;
use std::time::Duration;

/// Everything that can go wrong in the process group.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DistError {
    /// An env-contract variable holds a value we cannot use.
    #[error("environment variable {var}={value:?}: {reason}")]
    EnvInvalid {
        /// Variable name, e.g. `RANK`.
        var: String,
        /// The raw value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An env-contract variable that the other variables make mandatory is absent.
    #[error("environment variable {var} is not set: {reason}")]
    EnvMissing {
        /// Variable name.
        var: String,
        /// Why it is needed.
        reason: String,
    },
    /// Binding the store's listening socket failed.
    #[error("store: binding {addr}")]
    StoreBind {
        /// The address we tried to bind.
        addr: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The store could not be reached before the connect deadline.
    #[error("store at {addr}: could not connect within {:.1}s ({attempts} attempts)", timeout.as_secs_f64())]
    StoreConnect {
        /// Store address.
        addr: String,
        /// Connection attempts made.
        attempts: u32,
        /// Connect deadline.
        timeout: Duration,
        /// Last OS error.
        #[source]
        source: io::Error,
    },
    /// The store refused our job token.
    #[error("store at {addr} refused the job token: RANKER_STORE_TOKEN differs from the one the store was started with")]
    TokenRefused {
        /// Store address.
        addr: String,
    },
    /// A store request failed on the socket.
    #[error("store at {addr}: {op} {key:?}")]
    StoreIo {
        /// Store address.
        addr: String,
        /// Operation name (`set`, `wait`, …).
        op: &'static str,
        /// Key (or first key) involved.
        key: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A store request did not complete in time.
    #[error("store at {addr}: {op} timed out after {:.1}s; missing keys {missing:?}", timeout.as_secs_f64())]
    StoreTimeout {
        /// Store address.
        addr: String,
        /// Operation name.
        op: &'static str,
        /// Keys that were still absent.
        missing: Vec<String>,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// The store (or a client) sent bytes that do not follow the protocol.
    #[error("store at {addr}: protocol error: {detail}")]
    StoreProtocol {
        /// Peer address.
        addr: String,
        /// What was wrong.
        detail: String,
    },
    /// A store value could not be interpreted (wrong size, not UTF-8, not a number).
    #[error("store key {key:?}: {detail}")]
    StoreValue {
        /// The key whose value is bad.
        key: String,
        /// What was wrong.
        detail: String,
    },
    /// A store barrier did not complete.
    #[error("store barrier {key:?}: only {arrived}/{expected} ranks arrived within {:.1}s", timeout.as_secs_f64())]
    BarrierTimeout {
        /// Barrier counter key.
        key: String,
        /// Ranks that arrived.
        arrived: i64,
        /// Ranks expected.
        expected: usize,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// A socket operation with a peer rank failed (connection refused, reset, closed).
    #[error("rank {rank}: {op} with rank {peer} ({addr})")]
    Peer {
        /// Our rank.
        rank: usize,
        /// The peer's rank.
        peer: usize,
        /// Peer address.
        addr: String,
        /// Operation (`all_reduce`, `connect`, …).
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A peer rank did not answer within the collective timeout.
    #[error("rank {rank}: {op}: rank {peer} ({addr}) did not answer within {:.1}s (dead, hung, or stuck behind another rank)", timeout.as_secs_f64())]
    PeerTimeout {
        /// Our rank.
        rank: usize,
        /// The silent peer's rank.
        peer: usize,
        /// Peer address.
        addr: String,
        /// Operation.
        op: &'static str,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// Ranks called different collectives, or the same one with different sizes.
    #[error(
        "rank {rank}: collectives out of step with rank {peer}: expected {expected}, got {got}"
    )]
    Desync {
        /// Our rank.
        rank: usize,
        /// The peer's rank.
        peer: usize,
        /// What we expected.
        expected: String,
        /// What the peer sent.
        got: String,
    },
    /// An earlier collective failed, so the group is unusable: every later call fails at once.
    #[error("rank {rank}: {op}: the process group is unusable after an earlier collective failed ({cause})")]
    Poisoned {
        /// Our rank.
        rank: usize,
        /// The operation refused.
        op: &'static str,
        /// The first failure, as it was reported.
        cause: String,
    },
    /// A caller passed arguments that cannot work (root out of range, mismatched sizes).
    #[error("rank {rank}: {op}: {detail}")]
    InvalidArgument {
        /// Our rank.
        rank: usize,
        /// Operation.
        op: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A requested backend cannot run here (e.g. `nccl` without the feature or the library).
    #[error("rank {rank}: backend {backend} unavailable: {detail}")]
    BackendUnavailable {
        /// Our rank.
        rank: usize,
        /// Backend name.
        backend: &'static str,
        /// Why.
        detail: String,
    },
    /// A CUDA or NCCL call failed.
    #[error("rank {rank}: {op}: {detail}")]
    Device {
        /// Our rank.
        rank: usize,
        /// The call that failed.
        op: &'static str,
        /// The library's error text.
        detail: String,
    },
    /// Installing a signal handler failed.
    #[error("installing the {signal} handler")]
    SignalHandler {
        /// Signal name.
        signal: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}
