//! Wire format of the rendezvous store.
//!
//! Every message is a frame: `u32` little-endian body length, then the body. A body starts with a `u8` tag and
//! continues with fields: byte strings are `u32` length + bytes, integers are `i64`/`u64` little-endian.
//! The first request on a connection must be [`Request::Hello`] with the job token; anything else, or a wrong token,
//! gets [`Response::Error`] and the connection is closed.
//!
//! Blocking requests (`Get`, `Wait`) carry their timeout; the server answers [`Response::Timeout`] with the keys still
//! missing when it expires, so a client never sends a cancel message and never reads a late answer.

use std::io::{self, Read, Write};

/// Largest frame either side accepts (values are small: ids, addresses, records).
pub const MAX_FRAME: usize = 256 << 20;

/// A client request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Authenticate with the job token. Must come first.
    Hello {
        /// The job secret.
        token: Vec<u8>,
    },
    /// Store `value` under `key` (overwrites).
    Set {
        /// Key.
        key: String,
        /// Value.
        value: Vec<u8>,
    },
    /// Block until `key` exists (or the timeout), then return its value.
    Get {
        /// Key.
        key: String,
        /// Milliseconds the server waits before answering `Timeout`.
        timeout_ms: u64,
    },
    /// Block until every key exists (or the timeout).
    Wait {
        /// Keys.
        keys: Vec<String>,
        /// Milliseconds the server waits before answering `Timeout`.
        timeout_ms: u64,
    },
    /// Add `delta` to the counter under `key` (absent = 0) and return the new value.
    Add {
        /// Key.
        key: String,
        /// Increment.
        delta: i64,
    },
    /// If the current value equals `expected` (`None` = key absent) store `desired`; return the value now stored
    /// (empty when still absent).
    CompareSet {
        /// Key.
        key: String,
        /// Expected current value.
        expected: Option<Vec<u8>>,
        /// New value.
        desired: Vec<u8>,
    },
    /// Remove `key`; answers whether it existed.
    Delete {
        /// Key.
        key: String,
    },
    /// Whether every key exists, without blocking.
    Check {
        /// Keys.
        keys: Vec<String>,
    },
    /// When this connection ends without [`Request::ClearWill`], the server sets `key` to `value` ("last will").
    SetWill {
        /// Key.
        key: String,
        /// Value.
        value: Vec<u8>,
    },
    /// Cancel the last will.
    ClearWill,
    /// Number of keys in the store.
    NumKeys,
}

/// A server response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Done.
    Ok,
    /// A value.
    Value(Vec<u8>),
    /// A counter.
    Int(i64),
    /// A yes/no answer.
    Bool(bool),
    /// The request's timeout expired; these keys were still missing.
    Timeout(Vec<String>),
    /// The request was refused; the connection will be closed.
    Error(String),
}

/// Writes one frame holding `body`.
pub fn write_frame(w: &mut impl Write, body: &[u8]) -> io::Result<()> {
    let len = u32::try_from(body.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    let mut buf = Vec::with_capacity(4 + body.len());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(body);
    w.write_all(&buf)?;
    w.flush()
}

/// Reads one frame. `Ok(None)` on a clean end of stream before the first byte.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds {MAX_FRAME}"),
        ));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(Some(body))
}

struct Encoder(Vec<u8>);

impl Encoder {
    fn new(tag: u8) -> Self {
        Encoder(vec![tag])
    }
    fn bytes(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.0.extend_from_slice(b);
        self
    }
    fn str(self, s: &str) -> Self {
        self.bytes(s.as_bytes())
    }
    fn strs(mut self, keys: &[String]) -> Self {
        self.0.extend_from_slice(&(keys.len() as u32).to_le_bytes());
        for k in keys {
            self = self.str(k);
        }
        self
    }
    fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn i64(mut self, v: i64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
}

/// Reads fields from a frame body; every error says which field was malformed.
struct Decoder<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    fn new(body: &'a [u8]) -> Self {
        Decoder { body, pos: 0 }
    }
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.body.len());
        let Some(end) = end else {
            return Err(format!("truncated {what} at byte {}", self.pos));
        };
        let s = &self.body[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self, what: &str) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8 bytes"),
        ))
    }
    fn i64(&mut self, what: &str) -> Result<i64, String> {
        Ok(i64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8 bytes"),
        ))
    }
    fn bytes(&mut self, what: &str) -> Result<Vec<u8>, String> {
        let n = self.u32(what)? as usize;
        Ok(self.take(n, what)?.to_vec())
    }
    fn string(&mut self, what: &str) -> Result<String, String> {
        String::from_utf8(self.bytes(what)?).map_err(|_| format!("{what} is not UTF-8"))
    }
    fn strings(&mut self, what: &str) -> Result<Vec<String>, String> {
        let n = self.u32(what)? as usize;
        if n > self.body.len() {
            return Err(format!("{what}: count {n} exceeds the frame"));
        }
        (0..n).map(|_| self.string(what)).collect()
    }
    fn finish(self) -> Result<(), String> {
        if self.pos == self.body.len() {
            Ok(())
        } else {
            Err(format!("{} trailing bytes", self.body.len() - self.pos))
        }
    }
}

impl Request {
    /// Name used in error messages.
    pub fn op_name(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "hello",
            Request::Set { .. } => "set",
            Request::Get { .. } => "get",
            Request::Wait { .. } => "wait",
            Request::Add { .. } => "add",
            Request::CompareSet { .. } => "compare_set",
            Request::Delete { .. } => "delete",
            Request::Check { .. } => "check",
            Request::SetWill { .. } => "set_will",
            Request::ClearWill => "clear_will",
            Request::NumKeys => "num_keys",
        }
    }

    /// Encodes the request body (without the frame length).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Request::Hello { token } => Encoder::new(0).bytes(token),
            Request::Set { key, value } => Encoder::new(1).str(key).bytes(value),
            Request::Get { key, timeout_ms } => Encoder::new(2).str(key).u64(*timeout_ms),
            Request::Wait { keys, timeout_ms } => Encoder::new(3).strs(keys).u64(*timeout_ms),
            Request::Add { key, delta } => Encoder::new(4).str(key).i64(*delta),
            Request::CompareSet {
                key,
                expected,
                desired,
            } => {
                let e = Encoder::new(5).str(key);
                let e = match expected {
                    Some(v) => e.u8(1).bytes(v),
                    None => e.u8(0),
                };
                e.bytes(desired)
            }
            Request::Delete { key } => Encoder::new(6).str(key),
            Request::Check { keys } => Encoder::new(7).strs(keys),
            Request::SetWill { key, value } => Encoder::new(8).str(key).bytes(value),
            Request::ClearWill => Encoder::new(9),
            Request::NumKeys => Encoder::new(10),
        }
        .0
    }

    /// Decodes a request body.
    pub fn decode(body: &[u8]) -> Result<Request, String> {
        let mut d = Decoder::new(body);
        let req = match d.u8("tag")? {
            0 => Request::Hello {
                token: d.bytes("token")?,
            },
            1 => Request::Set {
                key: d.string("key")?,
                value: d.bytes("value")?,
            },
            2 => Request::Get {
                key: d.string("key")?,
                timeout_ms: d.u64("timeout")?,
            },
            3 => Request::Wait {
                keys: d.strings("keys")?,
                timeout_ms: d.u64("timeout")?,
            },
            4 => Request::Add {
                key: d.string("key")?,
                delta: d.i64("delta")?,
            },
            5 => {
                let key = d.string("key")?;
                let expected = match d.u8("expected flag")? {
                    0 => None,
                    1 => Some(d.bytes("expected")?),
                    f => return Err(format!("expected flag {f} is not 0 or 1")),
                };
                Request::CompareSet {
                    key,
                    expected,
                    desired: d.bytes("desired")?,
                }
            }
            6 => Request::Delete {
                key: d.string("key")?,
            },
            7 => Request::Check {
                keys: d.strings("keys")?,
            },
            8 => Request::SetWill {
                key: d.string("key")?,
                value: d.bytes("value")?,
            },
            9 => Request::ClearWill,
            10 => Request::NumKeys,
            t => return Err(format!("unknown request tag {t}")),
        };
        d.finish()?;
        Ok(req)
    }
}

impl Response {
    /// Encodes the response body.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Response::Ok => Encoder::new(0),
            Response::Value(v) => Encoder::new(1).bytes(v),
            Response::Int(i) => Encoder::new(2).i64(*i),
            Response::Bool(b) => Encoder::new(3).u8(u8::from(*b)),
            Response::Timeout(keys) => Encoder::new(4).strs(keys),
            Response::Error(msg) => Encoder::new(5).str(msg),
        }
        .0
    }

    /// Decodes a response body.
    pub fn decode(body: &[u8]) -> Result<Response, String> {
        let mut d = Decoder::new(body);
        let resp = match d.u8("tag")? {
            0 => Response::Ok,
            1 => Response::Value(d.bytes("value")?),
            2 => Response::Int(d.i64("int")?),
            3 => Response::Bool(d.u8("bool")? != 0),
            4 => Response::Timeout(d.strings("keys")?),
            5 => Response::Error(d.string("message")?),
            t => return Err(format!("unknown response tag {t}")),
        };
        d.finish()?;
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        let reqs = vec![
            Request::Hello {
                token: b"tok".to_vec(),
            },
            Request::Set {
                key: "a".into(),
                value: vec![1, 2, 3],
            },
            Request::Get {
                key: "k".into(),
                timeout_ms: 1500,
            },
            Request::Wait {
                keys: vec!["x".into(), "y".into()],
                timeout_ms: 7,
            },
            Request::Add {
                key: "c".into(),
                delta: -5,
            },
            Request::CompareSet {
                key: "c".into(),
                expected: None,
                desired: b"v".to_vec(),
            },
            Request::CompareSet {
                key: "c".into(),
                expected: Some(vec![]),
                desired: vec![],
            },
            Request::Delete { key: "d".into() },
            Request::Check { keys: vec![] },
            Request::SetWill {
                key: "w".into(),
                value: b"dead".to_vec(),
            },
            Request::ClearWill,
            Request::NumKeys,
        ];
        for r in reqs {
            assert_eq!(Request::decode(&r.encode()).unwrap(), r);
        }
    }

    #[test]
    fn responses_round_trip() {
        let resps = vec![
            Response::Ok,
            Response::Value(vec![0; 200]),
            Response::Int(i64::MIN),
            Response::Bool(true),
            Response::Timeout(vec!["missing/1".into()]),
            Response::Error("no".into()),
        ];
        for r in resps {
            assert_eq!(Response::decode(&r.encode()).unwrap(), r);
        }
    }

    #[test]
    fn malformed_bodies_are_rejected_with_the_field() {
        assert_eq!(
            Request::decode(&[42]).unwrap_err(),
            "unknown request tag 42"
        );
        let mut body = Request::Set {
            key: "key".into(),
            value: vec![1],
        }
        .encode();
        body.pop();
        assert!(Request::decode(&body)
            .unwrap_err()
            .contains("truncated value"));
        let mut body = Request::NumKeys.encode();
        body.push(0);
        assert_eq!(Request::decode(&body).unwrap_err(), "1 trailing bytes");
        assert!(Request::decode(&[]).unwrap_err().contains("truncated tag"));
    }

    #[test]
    fn frames_round_trip_and_eof() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"hello").unwrap();
        write_frame(&mut buf, b"").unwrap();
        let mut r = &buf[..];
        assert_eq!(read_frame(&mut r).unwrap().unwrap(), b"hello");
        assert_eq!(read_frame(&mut r).unwrap().unwrap(), b"");
        assert!(read_frame(&mut r).unwrap().is_none());
        let mut r = &buf[..6];
        assert_eq!(
            read_frame(&mut r).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let huge = ((MAX_FRAME + 1) as u32).to_le_bytes();
        assert_eq!(
            read_frame(&mut &huge[..]).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
