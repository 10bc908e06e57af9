//! The host backend: a TCP ring between worker processes.
//!
//! # Setup
//! Each rank binds a listener on the interface through which it reaches the store (port 0), publishes
//! `{prefix}/host/{rank}` = `ip:port`, connects to rank `r+1` ("next") and accepts rank `r-1` ("prev"). Both
//! connections open with a hello frame carrying the job token and the sender's rank.
//!
//! # All-reduce (ring reduce-scatter + all-gather)
//! The buffer is cut into `n` contiguous segments ([`segment_bounds`]: the first `len % n` segments get one extra
//! element). Reduce-scatter takes `n-1` steps: at step `s` rank `r` sends segment `(r-s) mod n` to next and adds the
//! segment `(r-s-1) mod n` received from prev into its own. All-gather takes `n-1` more steps that copy the finished
//! segments around the ring. While a step's segment is sent by a helper thread the receiver reduces it as it arrives,
//! so large buffers stream through the socket in pipeline.
//!
//! **Summation order (fixed, documented, identical on every rank).** Element `i` of segment `k` is the left fold
//! in ring order starting at rank `k`: `((x_k + x_{k+1}) + x_{k+2}) + … + x_{k-1}` (indices mod `n`). Only one
//! rank computes each finished segment; the others receive its bytes, so every rank ends with identical bits, and
//! the result does not depend on timing. `Mean` divides the summed value by `n` on every rank.
//!
//! # Timeouts
//! Every socket read and write is bounded by the collective timeout. A peer that closes its socket yields
//! [`DistError::Peer`] at once; a peer that stays silent yields [`DistError::PeerTimeout`] naming it after the
//! timeout. A rank further along the ring may instead blame its own (alive but waiting) neighbour; the first rank
//! to fail exits, and the launcher tears the job down. After an error the collective is poisoned: every later
//! call fails at once.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::ops::Range;
use std::thread;
use std::time::{Duration, Instant};

use super::base::{BackendKind, Collective, ReduceOp};
use crate::error::DistError;
use crate::store::{jitter, StoreClient};

const MAGIC: u32 = 0x5241_4e4b; // "RANK"
const HEADER_LEN: usize = 24;
/// Receive buffer size: the unit in which incoming data is reduced while the rest is still in flight.
const CHUNK_BYTES: usize = 1 << 20;

/// What a frame belongs to; its byte is the frame header's `op` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Op {
    Hello = 1,
    ReduceScatter = 2,
    AllGatherF32 = 3,
    Broadcast = 4,
    Gather = 5,
}

impl Op {
    const ALL: [Op; 5] = [
        Op::Hello,
        Op::ReduceScatter,
        Op::AllGatherF32,
        Op::Broadcast,
        Op::Gather,
    ];

    /// The name errors use.
    fn name(self) -> &'static str {
        match self {
            Op::Hello => "hello",
            Op::ReduceScatter => "all_reduce (reduce-scatter)",
            Op::AllGatherF32 => "all_reduce (all-gather)",
            Op::Broadcast => "broadcast",
            Op::Gather => "all_gather",
        }
    }
}

impl TryFrom<u8> for Op {
    /// The unknown byte.
    type Error = u8;

    fn try_from(byte: u8) -> Result<Self, u8> {
        Op::ALL.into_iter().find(|op| *op as u8 == byte).ok_or(byte)
    }
}

/// Frame header preceding every message between ring neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    op: Op,
    step: u32,
    seq: u64,
    len: u64,
}

impl Header {
    fn encode(self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        b[4] = self.op as u8;
        b[8..12].copy_from_slice(&self.step.to_le_bytes());
        b[12..20].copy_from_slice(&self.seq.to_le_bytes());
        b[20..24].copy_from_slice(&(self.len as u32).to_le_bytes());
        // Lengths above 4 GiB are split by callers; keep the high half for a sanity check.
        b[5..8].copy_from_slice(&((self.len >> 32) as u32).to_le_bytes()[..3]);
        b
    }

    /// The header in `b`; `None` unless it starts with the magic number and names a known op.
    fn decode(b: &[u8; HEADER_LEN]) -> Option<Header> {
        if u32::from_le_bytes(b[0..4].try_into().ok()?) != MAGIC {
            return None;
        }
        let op = Op::try_from(b[4]).ok()?;
        let mut hi = [0u8; 4];
        hi[..3].copy_from_slice(&b[5..8]);
        let len = (u64::from(u32::from_le_bytes(hi)) << 32)
            | u64::from(u32::from_le_bytes(b[20..24].try_into().ok()?));
        Some(Header {
            op,
            step: u32::from_le_bytes(b[8..12].try_into().ok()?),
            seq: u64::from_le_bytes(b[12..20].try_into().ok()?),
            len,
        })
    }

    fn describe(self) -> String {
        format!(
            "{} #{} step {} of {} bytes",
            self.op.name(),
            self.seq,
            self.step,
            self.len
        )
    }
}

/// One end of a ring connection.
struct Link {
    peer: usize,
    addr: String,
    stream: TcpStream,
}

/// The contiguous segments of a buffer of `len` elements cut for `n` ranks: the first `len % n` segments hold one
/// element more than the rest.
pub fn segment_bounds(len: usize, n: usize) -> Vec<Range<usize>> {
    let n = n.max(1);
    let base = len / n;
    let extra = len % n;
    let mut start = 0;
    (0..n)
        .map(|k| {
            let size = base + usize::from(k < extra);
            let r = start..start + size;
            start += size;
            r
        })
        .collect()
}

/// The host (TCP ring) backend.
pub struct HostCollective {
    rank: usize,
    world: usize,
    timeout: Duration,
    next: Option<Link>,
    prev: Option<Link>,
    seq: u64,
    poisoned: Option<String>,
    recv_buf: Vec<u8>,
}

impl std::fmt::Debug for HostCollective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostCollective")
            .field("rank", &self.rank)
            .field("world", &self.world)
            .finish()
    }
}

impl HostCollective {
    /// Builds the ring: publishes this rank's listening address under `{prefix}/host/{rank}`, connects to the next
    /// rank and accepts the previous one, all within `timeout`.
    pub fn connect(
        store: &StoreClient,
        prefix: &str,
        rank: usize,
        world: usize,
        token: &str,
        timeout: Duration,
    ) -> Result<HostCollective, DistError> {
        if rank >= world {
            return Err(DistError::InvalidArgument {
                rank,
                op: "host backend setup",
                detail: format!("rank {rank} is not below world size {world}"),
            });
        }
        let mut coll = HostCollective {
            rank,
            world,
            timeout,
            next: None,
            prev: None,
            seq: 0,
            poisoned: None,
            recv_buf: vec![0u8; CHUNK_BYTES],
        };
        if world == 1 {
            return Ok(coll);
        }
        let ip = store
            .local_addr()
            .map(|a| a.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let listener =
            TcpListener::bind(SocketAddr::new(ip, 0)).map_err(|source| DistError::StoreBind {
                addr: format!("{ip}:0 (host backend, rank {rank})"),
                source,
            })?;
        let my_addr = listener
            .local_addr()
            .map_err(|source| DistError::StoreBind {
                addr: ip.to_string(),
                source,
            })?;
        store.set(
            &format!("{prefix}/host/{rank}"),
            my_addr.to_string().as_bytes(),
        )?;

        let next_rank = (rank + 1) % world;
        let prev_rank = (rank + world - 1) % world;
        let deadline = Instant::now() + timeout;
        let accept = thread::scope(|s| {
            let acceptor =
                s.spawn(|| accept_prev(&listener, rank, prev_rank, token, deadline, timeout));
            let next = connect_next(store, prefix, rank, next_rank, token, deadline, timeout);
            let prev = acceptor.join().unwrap_or_else(|_| {
                Err(DistError::InvalidArgument {
                    rank,
                    op: "host backend setup",
                    detail: "acceptor panicked".into(),
                })
            });
            (next, prev)
        });
        let (next, prev) = accept;
        coll.next = Some(next?);
        coll.prev = Some(prev?);
        for link in [&coll.next, &coll.prev].into_iter().flatten() {
            configure(&link.stream, timeout).map_err(|source| DistError::Peer {
                rank,
                peer: link.peer,
                addr: link.addr.clone(),
                op: "configure socket",
                source,
            })?;
        }
        Ok(coll)
    }

    fn check_poisoned(&self, op: &'static str) -> Result<(), DistError> {
        match &self.poisoned {
            Some(cause) => Err(DistError::Poisoned {
                rank: self.rank,
                op,
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Marks the group unusable and closes both sockets so a blocked helper thread returns.
    fn poison(&mut self, err: &DistError) {
        self.poisoned = Some(err.to_string());
        for link in [&self.next, &self.prev].into_iter().flatten() {
            let _ = link.stream.shutdown(Shutdown::Both);
        }
    }

    fn links(&mut self) -> (&mut Link, &mut Link, &mut Vec<u8>) {
        let next = self.next.as_mut().expect("ring connected when world > 1");
        let prev = self.prev.as_mut().expect("ring connected when world > 1");
        (next, prev, &mut self.recv_buf)
    }

    fn ring_all_reduce(&mut self, buf: &mut [f32]) -> Result<(), DistError> {
        let (n, r, seq, timeout) = (self.world, self.rank, self.seq, self.timeout);
        let bounds = segment_bounds(buf.len(), n);
        let (next, prev, chunk) = self.links();
        for step in 0..n - 1 {
            let send_k = (r + n - step) % n;
            let recv_k = (r + 2 * n - step - 1) % n;
            let (send, recv) = disjoint(buf, bounds[send_k].clone(), bounds[recv_k].clone());
            let h = Header {
                op: Op::ReduceScatter,
                step: step as u32,
                seq,
                len: (send.len() * 4) as u64,
            };
            let expect = Header {
                len: (recv.len() * 4) as u64,
                ..h
            };
            exchange(r, next, prev, h, f32_bytes(send), timeout, |prev| {
                recv_f32(r, prev, expect, recv, chunk, timeout, |acc, x| *acc += x)
            })?;
        }
        for step in 0..n - 1 {
            let send_k = (r + 1 + n - step) % n;
            let recv_k = (r + n - step) % n;
            let (send, recv) = disjoint(buf, bounds[send_k].clone(), bounds[recv_k].clone());
            let h = Header {
                op: Op::AllGatherF32,
                step: step as u32,
                seq,
                len: (send.len() * 4) as u64,
            };
            let expect = Header {
                len: (recv.len() * 4) as u64,
                ..h
            };
            exchange(r, next, prev, h, f32_bytes(send), timeout, |prev| {
                recv_f32(r, prev, expect, recv, chunk, timeout, |acc, x| *acc = x)
            })?;
        }
        Ok(())
    }

    fn ring_broadcast(&mut self, buf: &mut Vec<u8>, root: usize) -> Result<(), DistError> {
        let (n, r, seq, timeout) = (self.world, self.rank, self.seq, self.timeout);
        let pos = (r + n - root) % n;
        let (next, prev, _) = self.links();
        if pos == 0 {
            let h = Header {
                op: Op::Broadcast,
                step: 0,
                seq,
                len: buf.len() as u64,
            };
            return send_message(r, next, h, buf, timeout);
        }
        let h = read_header(r, prev, Op::Broadcast, timeout)?;
        let expect = Header {
            op: Op::Broadcast,
            step: 0,
            seq,
            len: h.len,
        };
        check_header(r, prev.peer, expect, h)?;
        let forward = pos != n - 1;
        if forward {
            write_all(r, next, &h.encode(), h.op, timeout)?;
        }
        buf.clear();
        buf.resize(h.len as usize, 0);
        // Forward chunk by chunk so a long chain pipelines instead of storing and forwarding whole buffers.
        for piece in buf.chunks_mut(CHUNK_BYTES) {
            read_exact(r, prev, piece, Op::Broadcast, timeout)?;
            if forward {
                write_all(r, next, piece, h.op, timeout)?;
            }
        }
        Ok(())
    }

    fn ring_all_gather(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, DistError> {
        let (n, r, seq, timeout) = (self.world, self.rank, self.seq, self.timeout);
        let mut items: Vec<Vec<u8>> = vec![Vec::new(); n];
        items[r] = bytes.to_vec();
        let (next, prev, _) = self.links();
        for step in 0..n - 1 {
            let send_k = (r + n - step) % n;
            let recv_k = (r + 2 * n - step - 1) % n;
            let h = Header {
                op: Op::Gather,
                step: step as u32,
                seq,
                len: items[send_k].len() as u64,
            };
            let received = exchange(r, next, prev, h, &items[send_k], timeout, |prev| {
                let got = read_header(r, prev, Op::Gather, timeout)?;
                check_header(r, prev.peer, Header { len: got.len, ..h }, got)?;
                let mut data = vec![0u8; got.len as usize];
                read_exact(r, prev, &mut data, Op::Gather, timeout)?;
                Ok(data)
            })?;
            items[recv_k] = received;
        }
        Ok(items)
    }

    /// Runs `f` as collective number `seq`, poisoning the group on error.
    fn run<T>(
        &mut self,
        op: &'static str,
        f: impl FnOnce(&mut Self) -> Result<T, DistError>,
    ) -> Result<T, DistError> {
        self.check_poisoned(op)?;
        self.seq += 1;
        let out = f(self);
        if let Err(e) = &out {
            self.poison(e);
        }
        out
    }
}

impl Collective for HostCollective {
    fn rank(&self) -> usize {
        self.rank
    }
    fn world_size(&self) -> usize {
        self.world
    }
    fn backend(&self) -> BackendKind {
        BackendKind::Host
    }

    fn all_reduce(&mut self, buf: &mut [f32], op: ReduceOp) -> Result<(), DistError> {
        if self.world == 1 {
            return Ok(());
        }
        self.run("all_reduce", |c| c.ring_all_reduce(buf))?;
        if op == ReduceOp::Mean {
            let n = self.world as f32;
            buf.iter_mut().for_each(|x| *x /= n);
        }
        Ok(())
    }

    fn broadcast(&mut self, buf: &mut Vec<u8>, root: usize) -> Result<(), DistError> {
        if root >= self.world {
            return Err(DistError::InvalidArgument {
                rank: self.rank,
                op: "broadcast",
                detail: format!("root {root} is not below world size {}", self.world),
            });
        }
        if self.world == 1 {
            return Ok(());
        }
        self.run("broadcast", |c| c.ring_broadcast(buf, root))
    }

    fn all_gather(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, DistError> {
        if self.world == 1 {
            return Ok(vec![bytes.to_vec()]);
        }
        self.run("all_gather", |c| c.ring_all_gather(bytes))
    }

    fn barrier(&mut self) -> Result<(), DistError> {
        self.all_gather(&[]).map(|_| ())
    }
}

fn configure(stream: &TcpStream, timeout: Duration) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))
}

/// Two disjoint segments of `buf`: one to read (send) and one to write (receive into).
fn disjoint(buf: &mut [f32], send: Range<usize>, recv: Range<usize>) -> (&[f32], &mut [f32]) {
    if send.start <= recv.start {
        let (lo, hi) = buf.split_at_mut(recv.start);
        (&lo[send], &mut hi[..recv.end - recv.start])
    } else {
        let (lo, hi) = buf.split_at_mut(send.start);
        (&hi[..send.end - send.start], &mut lo[recv])
    }
}

/// The little-endian bytes of an `f32` slice, without copying on little-endian targets.
#[cfg(target_endian = "little")]
fn f32_bytes(x: &[f32]) -> &[u8] {
    // SAFETY: f32 has no padding and every bit pattern is a valid u8; alignment of u8 is 1; the length is exact.
    unsafe { std::slice::from_raw_parts(x.as_ptr().cast::<u8>(), std::mem::size_of_val(x)) }
}

#[cfg(not(target_endian = "little"))]
compile_error!(
    "the host collective sends f32 buffers in native order and supports little-endian targets only"
);

/// Sends `header` + `payload` to next on a helper thread while `recv` runs on this one.
fn exchange<T: Send>(
    rank: usize,
    next: &mut Link,
    prev: &mut Link,
    header: Header,
    payload: &[u8],
    timeout: Duration,
    recv: impl FnOnce(&mut Link) -> Result<T, DistError>,
) -> Result<T, DistError> {
    let abort = next.stream.try_clone().ok();
    thread::scope(|s| {
        let sender = s.spawn(|| send_message(rank, next, header, payload, timeout));
        let received = recv(prev);
        if received.is_err() {
            // Unblock the sender if the next rank stopped reading.
            if let Some(a) = &abort {
                let _ = a.shutdown(Shutdown::Both);
            }
        }
        let sent = sender.join().unwrap_or_else(|_| {
            Err(DistError::InvalidArgument {
                rank,
                op: "send",
                detail: "sender thread panicked".into(),
            })
        });
        let value = received?;
        sent?;
        Ok(value)
    })
}

fn send_message(
    rank: usize,
    next: &mut Link,
    header: Header,
    payload: &[u8],
    timeout: Duration,
) -> Result<(), DistError> {
    write_all(rank, next, &header.encode(), header.op, timeout)?;
    write_all(rank, next, payload, header.op, timeout)
}

/// Receives an `f32` message into `dst`, combining each element with `combine(dst_elem, received)` as it arrives.
fn recv_f32(
    rank: usize,
    prev: &mut Link,
    expect: Header,
    dst: &mut [f32],
    chunk: &mut [u8],
    timeout: Duration,
    combine: impl Fn(&mut f32, f32),
) -> Result<(), DistError> {
    let got = read_header(rank, prev, expect.op, timeout)?;
    check_header(rank, prev.peer, expect, got)?;
    for piece in dst.chunks_mut(chunk.len() / 4) {
        let bytes = &mut chunk[..piece.len() * 4];
        read_exact(rank, prev, bytes, expect.op, timeout)?;
        for (acc, b) in piece.iter_mut().zip(bytes.chunks_exact(4)) {
            combine(acc, f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        }
    }
    Ok(())
}

fn check_header(rank: usize, peer: usize, expect: Header, got: Header) -> Result<(), DistError> {
    if got == expect {
        Ok(())
    } else {
        Err(DistError::Desync {
            rank,
            peer,
            expected: expect.describe(),
            got: got.describe(),
        })
    }
}

/// Reads the next frame header from prev while waiting for a frame of `op` (which a timeout names).
fn read_header(
    rank: usize,
    prev: &mut Link,
    op: Op,
    timeout: Duration,
) -> Result<Header, DistError> {
    let mut b = [0u8; HEADER_LEN];
    read_exact(rank, prev, &mut b, op, timeout)?;
    Header::decode(&b).ok_or_else(|| DistError::Desync {
        rank,
        peer: prev.peer,
        expected: format!("a {} frame header", op.name()),
        got: format!("bytes {:02x?}", &b[..8]),
    })
}

fn read_exact(
    rank: usize,
    link: &mut Link,
    buf: &mut [u8],
    op: Op,
    timeout: Duration,
) -> Result<(), DistError> {
    link.stream
        .read_exact(buf)
        .map_err(|e| peer_error(rank, link, op, timeout, e))
}

fn write_all(
    rank: usize,
    link: &mut Link,
    buf: &[u8],
    op: Op,
    timeout: Duration,
) -> Result<(), DistError> {
    link.stream
        .write_all(buf)
        .map_err(|e| peer_error(rank, link, op, timeout, e))
}

fn peer_error(rank: usize, link: &Link, op: Op, timeout: Duration, e: io::Error) -> DistError {
    if matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) {
        DistError::PeerTimeout {
            rank,
            peer: link.peer,
            addr: link.addr.clone(),
            op: op.name(),
            timeout,
        }
    } else {
        DistError::Peer {
            rank,
            peer: link.peer,
            addr: link.addr.clone(),
            op: op.name(),
            source: e,
        }
    }
}

fn hello_payload(token: &str, rank: usize) -> Vec<u8> {
    let mut p = (rank as u64).to_le_bytes().to_vec();
    p.extend_from_slice(token.as_bytes());
    p
}

fn connect_next(
    store: &StoreClient,
    prefix: &str,
    rank: usize,
    next_rank: usize,
    token: &str,
    deadline: Instant,
    timeout: Duration,
) -> Result<Link, DistError> {
    let key = format!("{prefix}/host/{next_rank}");
    let remaining = deadline.saturating_duration_since(Instant::now());
    let addr_bytes = store.get_timeout(&key, remaining)?;
    let addr = String::from_utf8(addr_bytes).map_err(|_| DistError::StoreValue {
        key: key.clone(),
        detail: "address is not UTF-8".into(),
    })?;
    let sock: SocketAddr = addr.parse().map_err(|_| DistError::StoreValue {
        key: key.clone(),
        detail: format!("{addr:?} is not ip:port"),
    })?;
    let mut backoff = Duration::from_millis(10);
    let stream = loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match TcpStream::connect_timeout(&sock, remaining.max(Duration::from_millis(1))) {
            Ok(s) => break s,
            Err(source) if Instant::now() + backoff >= deadline => {
                return Err(DistError::Peer {
                    rank,
                    peer: next_rank,
                    addr,
                    op: "connect",
                    source,
                })
            }
            Err(_) => {
                thread::sleep(backoff + jitter(backoff));
                backoff = (backoff * 2).min(Duration::from_millis(500));
            }
        }
    };
    let mut link = Link {
        peer: next_rank,
        addr,
        stream,
    };
    configure(&link.stream, timeout).map_err(|source| DistError::Peer {
        rank,
        peer: next_rank,
        addr: link.addr.clone(),
        op: "connect",
        source,
    })?;
    let payload = hello_payload(token, rank);
    let h = Header {
        op: Op::Hello,
        step: 0,
        seq: 0,
        len: payload.len() as u64,
    };
    send_message(rank, &mut link, h, &payload, timeout)?;
    Ok(link)
}

/// Accepts connections until one from `prev_rank` presents the right token; strays are dropped.
fn accept_prev(
    listener: &TcpListener,
    rank: usize,
    prev_rank: usize,
    token: &str,
    deadline: Instant,
    timeout: Duration,
) -> Result<Link, DistError> {
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let to_err = |source: io::Error| DistError::Peer {
        rank,
        peer: prev_rank,
        addr: local.clone(),
        op: "accept",
        source,
    };
    listener.set_nonblocking(true).map_err(to_err)?;
    let expected = hello_payload(token, prev_rank);
    loop {
        match listener.accept() {
            Ok((stream, addr)) => {
                stream.set_nonblocking(false).map_err(to_err)?;
                let remaining = deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1));
                let mut link = Link {
                    peer: prev_rank,
                    addr: addr.to_string(),
                    stream,
                };
                configure(&link.stream, remaining.min(timeout)).map_err(to_err)?;
                let ok = read_header(rank, &mut link, Op::Hello, timeout)
                    .ok()
                    .filter(|h| h.op == Op::Hello && h.len == expected.len() as u64);
                if ok.is_some() {
                    let mut payload = vec![0u8; expected.len()];
                    if read_exact(rank, &mut link, &mut payload, Op::Hello, timeout).is_ok()
                        && payload == expected
                    {
                        return Ok(link);
                    }
                }
                tracing::warn!("rank {rank}: dropped a ring connection from {addr}: not rank {prev_rank} with the job token");
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(DistError::PeerTimeout {
                        rank,
                        peer: prev_rank,
                        addr: local.clone(),
                        op: "accept (ring setup)",
                        timeout,
                    });
                }
                thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(to_err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_the_buffer_evenly() {
        assert_eq!(segment_bounds(10, 3), vec![0..4, 4..7, 7..10]);
        assert_eq!(segment_bounds(2, 4), vec![0..1, 1..2, 2..2, 2..2]);
        assert_eq!(segment_bounds(0, 2), vec![0..0, 0..0]);
        assert_eq!(segment_bounds(5, 1), vec![0..5]);
    }

    #[test]
    fn header_round_trips_including_large_lengths() {
        let h = Header {
            op: Op::AllGatherF32,
            step: 7,
            seq: 1 << 40,
            len: (5u64 << 32) + 17,
        };
        assert_eq!(Header::decode(&h.encode()), Some(h));
        let mut bad = h.encode();
        bad[0] ^= 1;
        assert_eq!(Header::decode(&bad), None);
        let mut unknown = h.encode();
        unknown[4] = 9;
        assert_eq!(Header::decode(&unknown), None);
    }

    #[test]
    fn every_op_round_trips_through_its_byte() {
        for op in Op::ALL {
            assert_eq!(Op::try_from(op as u8), Ok(op));
        }
        assert_eq!(Op::try_from(0), Err(0));
        assert_eq!(Op::try_from(6), Err(6));
    }

    #[test]
    fn a_silent_peer_times_out_naming_the_operation_awaited() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let _silent = TcpStream::connect(addr).unwrap();
        let (stream, _) = listener.accept().unwrap();
        let timeout = Duration::from_millis(50);
        configure(&stream, timeout).unwrap();
        let mut link = Link {
            peer: 1,
            addr: addr.to_string(),
            stream,
        };
        let err = read_header(0, &mut link, Op::ReduceScatter, timeout).unwrap_err();
        assert!(
            matches!(err, DistError::PeerTimeout { op, .. } if op == "all_reduce (reduce-scatter)"),
            "{err}"
        );
        assert!(err.to_string().contains("all_reduce"), "{err}");
    }

    #[test]
    fn disjoint_returns_the_requested_ranges() {
        let mut v: Vec<f32> = (0..10).map(|x| x as f32).collect();
        let (s, r) = disjoint(&mut v, 7..10, 0..4);
        assert_eq!(s, [7.0, 8.0, 9.0]);
        r[0] = -1.0;
        let (s, r) = disjoint(&mut v, 0..4, 4..7);
        assert_eq!(s, [-1.0, 1.0, 2.0, 3.0]);
        assert_eq!(r, [4.0, 5.0, 6.0]);
    }
}
