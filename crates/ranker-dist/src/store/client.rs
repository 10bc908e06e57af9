//! The store client: one TCP connection, one request at a time, every call bounded by a timeout.
//!
//! Calls take `&self` (the connection sits behind a mutex), so a client can be shared between threads; a blocking
//! `wait` holds the connection, so a thread that waits for a long time (the launcher's failure watcher) should use a
//! client of its own. [`StoreClient::shutdown`] unblocks such a waiter from another thread.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::protocol::{read_frame, write_frame, Request, Response};
use crate::error::DistError;

/// Extra time the client allows beyond a blocking request's own timeout before it gives up on the server.
const SERVER_GRACE: Duration = Duration::from_secs(5);

/// A connection to the rendezvous store.
pub struct StoreClient {
    addr: String,
    stream: Mutex<TcpStream>,
    control: TcpStream,
    timeout: Duration,
}

impl std::fmt::Debug for StoreClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreClient")
            .field("addr", &self.addr)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl StoreClient {
    /// Connects to `addr` (`host:port`), retrying with backoff and jitter until `timeout`, then presents `token`.
    /// `timeout` is also the default bound of every later call.
    pub fn connect(addr: &str, token: &str, timeout: Duration) -> Result<StoreClient, DistError> {
        let stream = connect_with_retries(addr, timeout)?;
        let _ = stream.set_nodelay(true);
        let control = stream
            .try_clone()
            .map_err(|source| io_err(addr, "connect", "", source))?;
        let client = StoreClient {
            addr: addr.to_string(),
            stream: Mutex::new(stream),
            control,
            timeout,
        };
        match client.request(
            Request::Hello {
                token: token.as_bytes().to_vec(),
            },
            timeout,
            "",
        )? {
            Response::Ok => Ok(client),
            Response::Error(_) => Err(DistError::TokenRefused {
                addr: addr.to_string(),
            }),
            other => Err(client.unexpected("hello", other)),
        }
    }

    /// The address this client connected to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The default timeout of calls.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The local address of the connection: the interface through which this host reaches the store, which peers
    /// can usually reach too.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.control.local_addr().ok()
    }

    /// Stores `value` under `key`.
    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), DistError> {
        match self.request(
            Request::Set {
                key: key.into(),
                value: value.to_vec(),
            },
            self.timeout,
            key,
        )? {
            Response::Ok => Ok(()),
            other => Err(self.unexpected("set", other)),
        }
    }

    /// Waits (up to the default timeout) for `key` and returns its value.
    pub fn get(&self, key: &str) -> Result<Vec<u8>, DistError> {
        self.get_timeout(key, self.timeout)
    }

    /// Waits up to `timeout` for `key` and returns its value.
    pub fn get_timeout(&self, key: &str, timeout: Duration) -> Result<Vec<u8>, DistError> {
        let req = Request::Get {
            key: key.into(),
            timeout_ms: millis(timeout),
        };
        match self.request(req, timeout + SERVER_GRACE, key)? {
            Response::Value(v) => Ok(v),
            Response::Timeout(missing) => Err(DistError::StoreTimeout {
                addr: self.addr.clone(),
                op: "get",
                missing,
                timeout,
            }),
            other => Err(self.unexpected("get", other)),
        }
    }

    /// Waits up to `timeout` until every key exists; the error lists the keys still missing.
    pub fn wait(&self, keys: &[&str], timeout: Duration) -> Result<(), DistError> {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let first = keys.first().cloned().unwrap_or_default();
        let req = Request::Wait {
            keys,
            timeout_ms: millis(timeout),
        };
        match self.request(req, timeout + SERVER_GRACE, &first)? {
            Response::Ok => Ok(()),
            Response::Timeout(missing) => Err(DistError::StoreTimeout {
                addr: self.addr.clone(),
                op: "wait",
                missing,
                timeout,
            }),
            other => Err(self.unexpected("wait", other)),
        }
    }

    /// Whether every key exists now (no waiting).
    pub fn check(&self, keys: &[&str]) -> Result<bool, DistError> {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let first = keys.first().cloned().unwrap_or_default();
        match self.request(Request::Check { keys }, self.timeout, &first)? {
            Response::Bool(b) => Ok(b),
            other => Err(self.unexpected("check", other)),
        }
    }

    /// Adds `delta` to the integer counter under `key` (absent = 0); returns the new value.
    pub fn add(&self, key: &str, delta: i64) -> Result<i64, DistError> {
        match self.request(
            Request::Add {
                key: key.into(),
                delta,
            },
            self.timeout,
            key,
        )? {
            Response::Int(v) => Ok(v),
            Response::Error(detail) => Err(DistError::StoreValue {
                key: key.into(),
                detail,
            }),
            other => Err(self.unexpected("add", other)),
        }
    }

    /// Sets `key` to `desired` if its value is `expected` (`None`: the key is absent). Returns the value stored
    /// afterwards: `desired` when the swap happened, the other writer's value otherwise.
    pub fn compare_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        desired: &[u8],
    ) -> Result<Vec<u8>, DistError> {
        let req = Request::CompareSet {
            key: key.into(),
            expected: expected.map(<[u8]>::to_vec),
            desired: desired.to_vec(),
        };
        match self.request(req, self.timeout, key)? {
            Response::Value(v) => Ok(v),
            other => Err(self.unexpected("compare_set", other)),
        }
    }

    /// Removes `key`; returns whether it existed.
    pub fn delete(&self, key: &str) -> Result<bool, DistError> {
        match self.request(Request::Delete { key: key.into() }, self.timeout, key)? {
            Response::Bool(b) => Ok(b),
            other => Err(self.unexpected("delete", other)),
        }
    }

    /// Number of keys in the store.
    pub fn num_keys(&self) -> Result<i64, DistError> {
        match self.request(Request::NumKeys, self.timeout, "")? {
            Response::Int(v) => Ok(v),
            other => Err(self.unexpected("num_keys", other)),
        }
    }

    /// Registers a "last will": if this connection ends without [`StoreClient::clear_will`] (the process died), the
    /// server sets `key` to `value`.
    pub fn set_will(&self, key: &str, value: &[u8]) -> Result<(), DistError> {
        match self.request(
            Request::SetWill {
                key: key.into(),
                value: value.to_vec(),
            },
            self.timeout,
            key,
        )? {
            Response::Ok => Ok(()),
            other => Err(self.unexpected("set_will", other)),
        }
    }

    /// Cancels the last will.
    pub fn clear_will(&self) -> Result<(), DistError> {
        match self.request(Request::ClearWill, self.timeout, "")? {
            Response::Ok => Ok(()),
            other => Err(self.unexpected("clear_will", other)),
        }
    }

    /// A barrier of `world_size` participants named by `prefix` and `generation` (a fresh generation per use; keys
    /// are never reused). Each participant adds 1 to `{prefix}/{generation}/count`; the last one sets
    /// `{prefix}/{generation}/done`, which everyone waits for. The timeout error says how many arrived.
    pub fn barrier(
        &self,
        prefix: &str,
        generation: u64,
        world_size: usize,
        timeout: Duration,
    ) -> Result<(), DistError> {
        let count_key = format!("{prefix}/{generation}/count");
        let done_key = format!("{prefix}/{generation}/done");
        let arrived = self.add(&count_key, 1)?;
        if arrived as usize == world_size {
            self.set(&done_key, b"1")?;
        } else if arrived as usize > world_size {
            return Err(DistError::StoreValue {
                key: count_key,
                detail: format!(
                    "{arrived} arrivals for a barrier of {world_size}: generation reused"
                ),
            });
        }
        match self.wait(&[&done_key], timeout) {
            Ok(()) => Ok(()),
            Err(DistError::StoreTimeout { .. }) => {
                let arrived = self.add(&count_key, 0)?;
                Err(DistError::BarrierTimeout {
                    key: count_key,
                    arrived,
                    expected: world_size,
                    timeout,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Closes the connection from any thread; a call blocked in `wait`/`get` returns an error at once.
    pub fn shutdown(&self) {
        let _ = self.control.shutdown(Shutdown::Both);
    }

    fn lock(&self) -> MutexGuard<'_, TcpStream> {
        self.stream.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn request(
        &self,
        req: Request,
        io_timeout: Duration,
        key: &str,
    ) -> Result<Response, DistError> {
        let op = req.op_name();
        let mut stream = self.lock();
        let io_timeout = io_timeout.max(Duration::from_millis(1));
        stream
            .set_read_timeout(Some(io_timeout))
            .map_err(|e| io_err(&self.addr, op, key, e))?;
        stream
            .set_write_timeout(Some(io_timeout))
            .map_err(|e| io_err(&self.addr, op, key, e))?;
        write_frame(&mut *stream, &req.encode()).map_err(|e| io_err(&self.addr, op, key, e))?;
        let body = match read_frame(&mut *stream) {
            Ok(Some(body)) => body,
            Ok(None) => {
                return Err(io_err(
                    &self.addr,
                    op,
                    key,
                    io::Error::new(io::ErrorKind::UnexpectedEof, "store closed the connection"),
                ))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(DistError::StoreTimeout {
                    addr: self.addr.clone(),
                    op,
                    missing: vec![key.to_string()],
                    timeout: io_timeout,
                })
            }
            Err(e) => return Err(io_err(&self.addr, op, key, e)),
        };
        Response::decode(&body).map_err(|detail| DistError::StoreProtocol {
            addr: self.addr.clone(),
            detail,
        })
    }

    fn unexpected(&self, op: &str, resp: Response) -> DistError {
        DistError::StoreProtocol {
            addr: self.addr.clone(),
            detail: format!("unexpected answer to {op}: {resp:?}"),
        }
    }
}

fn io_err(addr: &str, op: &'static str, key: &str, source: io::Error) -> DistError {
    DistError::StoreIo {
        addr: addr.to_string(),
        op,
        key: key.to_string(),
        source,
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A few bits of jitter without an RNG dependency: the clock's nanoseconds mixed with the pid.
pub(crate) fn jitter(max: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mixed = (u64::from(nanos) ^ (u64::from(std::process::id()) << 17))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let max_us = max.as_micros().max(1) as u64;
    Duration::from_micros((mixed >> 33) % max_us)
}

/// Connects to `addr` until `timeout`, re-resolving the name each attempt (DNS may lag a node's boot).
fn connect_with_retries(addr: &str, timeout: Duration) -> Result<TcpStream, DistError> {
    let deadline = Instant::now() + timeout;
    let mut attempts = 0u32;
    let mut backoff = Duration::from_millis(20);
    // Spread the first connects of many workers (TCPStore sleeps 1..n ms for the same reason).
    thread::sleep(jitter(Duration::from_millis(10)));
    loop {
        attempts += 1;
        let remaining = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let last_err = match addr.to_socket_addrs() {
            Ok(addrs) => {
                let mut last = io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{addr} resolved to no address"),
                );
                for sa in addrs {
                    match TcpStream::connect_timeout(&sa, remaining.min(Duration::from_secs(5))) {
                        Ok(s) => return Ok(s),
                        Err(e) => last = e,
                    }
                }
                last
            }
            Err(e) => e,
        };
        if Instant::now() + backoff >= deadline {
            return Err(DistError::StoreConnect {
                addr: addr.to_string(),
                attempts,
                timeout,
                source: last_err,
            });
        }
        thread::sleep(backoff + jitter(backoff / 2));
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_below_its_bound() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_millis(3)) < Duration::from_millis(3));
        }
    }

    #[test]
    fn connect_to_nothing_fails_within_the_timeout_naming_the_address() {
        // Bind then drop to get a port with (almost certainly) no listener.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let err = StoreClient::connect(&addr, "t", Duration::from_millis(300)).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("store at {addr}: could not connect within 0.3s")),
            "{msg}"
        );
    }
}
