//! The store server: a key-value map behind a `Mutex` + `Condvar`, one thread per connection.
//!
//! Blocking requests wait on the condvar with their own deadline; every mutation wakes all waiters. The listener is
//! bound once and kept open for the server's lifetime (port 0 → the OS picks a free port, reported by
//! [`StoreServer::local_addr`]; no reserve-then-bind race). Dropping the server closes the listener and every
//! connection.

use std::collections::HashMap;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::protocol::{read_frame, write_frame, Request, Response};
use crate::error::DistError;

/// Called with the peer address whenever a connection presents a wrong token.
pub type RefusalHook = Arc<dyn Fn(SocketAddr) + Send + Sync>;

/// A running store server.
pub struct StoreServer {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    accept_thread: Option<thread::JoinHandle<()>>,
}

struct Shared {
    token: Vec<u8>,
    map: Mutex<HashMap<String, Vec<u8>>>,
    changed: Condvar,
    stopping: AtomicBool,
    refused: AtomicU64,
    on_refused: Option<RefusalHook>,
    connections: Mutex<HashMap<u64, TcpStream>>,
    next_conn: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<u8>>> {
        // A panicking connection thread cannot leave the map half-updated: every mutation is a single insert.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, key: String, value: Vec<u8>) {
        self.lock().insert(key, value);
        self.changed.notify_all();
    }
}

impl StoreServer {
    /// Binds `addr` (e.g. `127.0.0.1:0`, `0.0.0.0:29500`) and starts serving with `token`.
    pub fn bind(addr: &str, token: &str) -> Result<StoreServer, DistError> {
        let listener = TcpListener::bind(addr).map_err(|source| DistError::StoreBind {
            addr: addr.to_string(),
            source,
        })?;
        Self::from_listener(listener, token, None)
    }

    /// Serves on an already bound listener; `on_refused` is told about wrong tokens.
    pub fn from_listener(
        listener: TcpListener,
        token: &str,
        on_refused: Option<RefusalHook>,
    ) -> Result<StoreServer, DistError> {
        let local_addr = listener
            .local_addr()
            .map_err(|source| DistError::StoreBind {
                addr: "<listener>".to_string(),
                source,
            })?;
        let shared = Arc::new(Shared {
            token: token.as_bytes().to_vec(),
            map: Mutex::new(HashMap::new()),
            changed: Condvar::new(),
            stopping: AtomicBool::new(false),
            refused: AtomicU64::new(0),
            on_refused,
            connections: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name("store-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))
            .map_err(|source| DistError::StoreBind {
                addr: local_addr.to_string(),
                source,
            })?;
        Ok(StoreServer {
            shared,
            local_addr,
            accept_thread: Some(accept_thread),
        })
    }

    /// The bound address (with the port the OS chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How many connections presented a wrong token so far.
    pub fn refused_count(&self) -> u64 {
        self.shared.refused.load(Ordering::Relaxed)
    }

    /// Sets a key directly (no network round trip), e.g. for the launcher's own records.
    pub fn set_local(&self, key: &str, value: &[u8]) {
        self.shared.set(key.to_string(), value.to_vec());
    }

    /// Reads a key directly.
    pub fn get_local(&self, key: &str) -> Option<Vec<u8>> {
        self.shared.lock().get(key).cloned()
    }
}

impl Drop for StoreServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        for (_, conn) in self
            .shared
            .connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
        {
            let _ = conn.shutdown(Shutdown::Both);
        }
        // Wake the blocking accept() so the thread sees `stopping`.
        let wake = match self.local_addr {
            SocketAddr::V4(a) if a.ip().is_unspecified() => {
                SocketAddr::from(([127, 0, 0, 1], a.port()))
            }
            SocketAddr::V6(a) if a.ip().is_unspecified() => {
                SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, a.port()))
            }
            a => a,
        };
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("store: accept failed: {e}");
                // EMFILE and friends: back off instead of spinning.
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
        if let Ok(clone) = stream.try_clone() {
            shared
                .connections
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, clone);
        }
        let conn_shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name("store-conn".into())
            .spawn(move || {
                serve(stream, &conn_shared);
                conn_shared
                    .connections
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
            });
        if let Err(e) = spawned {
            tracing::warn!("store: cannot spawn a connection thread: {e}");
        }
    }
}

/// Serves one connection until it closes; applies its last will if it ends without clearing it.
fn serve(mut stream: TcpStream, shared: &Shared) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "<unknown>".into());
    if !authenticate(&mut stream, shared) {
        return;
    }
    let mut will: Option<(String, Vec<u8>)> = None;
    loop {
        let body = match read_frame(&mut stream) {
            Ok(Some(b)) => b,
            Ok(None) => break,
            Err(e) => {
                if !shared.stopping.load(Ordering::SeqCst) {
                    tracing::debug!("store: connection from {peer} ended: {e}");
                }
                break;
            }
        };
        let response = match Request::decode(&body) {
            Ok(Request::SetWill { key, value }) => {
                will = Some((key, value));
                Response::Ok
            }
            Ok(Request::ClearWill) => {
                will = None;
                Response::Ok
            }
            Ok(req) => handle(shared, req),
            Err(detail) => Response::Error(format!("malformed request: {detail}")),
        };
        let fatal = matches!(response, Response::Error(_));
        if write_frame(&mut stream, &response.encode()).is_err() || fatal {
            break;
        }
    }
    if let Some((key, value)) = will {
        if !shared.stopping.load(Ordering::SeqCst) {
            tracing::warn!(
                "store: connection from {peer} dropped; applying its last will on {key:?}"
            );
            shared.set(key, value);
        }
    }
}

fn authenticate(stream: &mut TcpStream, shared: &Shared) -> bool {
    let peer = stream.peer_addr().ok();
    // A client that connects and says nothing must not pin a thread forever.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let hello = read_frame(stream)
        .ok()
        .flatten()
        .map(|b| Request::decode(&b));
    let _ = stream.set_read_timeout(None);
    match hello {
        Some(Ok(Request::Hello { token })) if constant_time_eq(&token, &shared.token) => {
            write_frame(stream, &Response::Ok.encode()).is_ok()
        }
        Some(Ok(Request::Hello { .. })) => {
            shared.refused.fetch_add(1, Ordering::Relaxed);
            let who = peer
                .map(|p| p.to_string())
                .unwrap_or_else(|| "<unknown>".into());
            tracing::warn!(
                "store: refused a connection from {who}: wrong job token (RANKER_STORE_TOKEN)"
            );
            if let (Some(hook), Some(p)) = (&shared.on_refused, peer) {
                hook(p);
            }
            let _ = write_frame(stream, &Response::Error("wrong job token".into()).encode());
            false
        }
        Some(_) => {
            let _ = write_frame(
                stream,
                &Response::Error("the first request must be hello with the token".into()).encode(),
            );
            false
        }
        None => false,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn handle(shared: &Shared, req: Request) -> Response {
    match req {
        Request::Set { key, value } => {
            shared.set(key, value);
            Response::Ok
        }
        Request::Get { key, timeout_ms } => {
            let keys = [key];
            match wait_for(shared, &keys, timeout_ms) {
                Ok(map) => Response::Value(map.get(&keys[0]).cloned().unwrap_or_default()),
                Err(missing) => Response::Timeout(missing),
            }
        }
        Request::Wait { keys, timeout_ms } => match wait_for(shared, &keys, timeout_ms) {
            Ok(_) => Response::Ok,
            Err(missing) => Response::Timeout(missing),
        },
        Request::Add { key, delta } => {
            let mut map = shared.lock();
            let current = map
                .get(&key)
                .and_then(|v| std::str::from_utf8(v).ok()?.parse::<i64>().ok());
            if map.contains_key(&key) && current.is_none() {
                return Response::Error(format!(
                    "add on key {key:?} whose value is not an integer"
                ));
            }
            let new = current.unwrap_or(0).wrapping_add(delta);
            map.insert(key, new.to_string().into_bytes());
            drop(map);
            shared.changed.notify_all();
            Response::Int(new)
        }
        Request::CompareSet {
            key,
            expected,
            desired,
        } => {
            let mut map = shared.lock();
            let matches = map.get(&key) == expected.as_ref();
            if matches {
                map.insert(key.clone(), desired);
            }
            let now = map.get(&key).cloned().unwrap_or_default();
            drop(map);
            if matches {
                shared.changed.notify_all();
            }
            Response::Value(now)
        }
        Request::Delete { key } => Response::Bool(shared.lock().remove(&key).is_some()),
        Request::Check { keys } => {
            let map = shared.lock();
            Response::Bool(keys.iter().all(|k| map.contains_key(k)))
        }
        Request::NumKeys => Response::Int(shared.lock().len() as i64),
        Request::Hello { .. } => Response::Error("hello sent twice".into()),
        Request::SetWill { .. } | Request::ClearWill => {
            Response::Error("will handled per connection".into())
        }
    }
}

/// Blocks until every key exists; `Err(missing keys)` when the timeout expires or the server stops.
fn wait_for<'a>(
    shared: &'a Shared,
    keys: &[String],
    timeout_ms: u64,
) -> Result<MutexGuard<'a, HashMap<String, Vec<u8>>>, Vec<String>> {
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    let mut map = shared.lock();
    loop {
        let missing: Vec<String> = keys
            .iter()
            .filter(|k| !map.contains_key(*k))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(map);
        }
        let now = Instant::now();
        if now >= deadline || shared.stopping.load(Ordering::SeqCst) {
            return Err(missing);
        }
        map = shared
            .changed
            .wait_timeout(map, deadline - now)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_tokens() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn port_zero_reports_the_chosen_port_and_local_access_works() {
        let server = StoreServer::bind("127.0.0.1:0", "t").unwrap();
        assert_ne!(server.local_addr().port(), 0);
        server.set_local("k", b"v");
        assert_eq!(server.get_local("k").unwrap(), b"v");
        assert_eq!(server.refused_count(), 0);
    }
}
