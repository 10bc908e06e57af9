//! The failure and heartbeat channel shared by launchers and workers through the store.
//!
//! Keys are scoped by attempt (`TORCHELASTIC_RESTART_COUNT`), so a restarted group never sees the previous
//! attempt's records:
//! - [`failed_key`] `launch/{attempt}/failed` holds the **first** failure of the attempt (set with
//!   `compare_set`, so later failures do not overwrite the root cause). Every launcher watches it and tears down its
//!   node's workers the moment it appears; a worker that hits a fatal error may publish it too
//!   ([`publish_failure`]) so remote nodes stop before their collectives time out.
//! - [`heartbeat_key`] `launch/{attempt}/heartbeat/{rank}` holds `"{step} {unix_ms}"`, the worker's latest progress.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::DistError;
use crate::store::StoreClient;

/// The key holding the first failure of `attempt`.
pub fn failed_key(attempt: u32) -> String {
    format!("launch/{attempt}/failed")
}

/// The key holding `rank`'s latest heartbeat in `attempt`.
pub fn heartbeat_key(attempt: u32, rank: usize) -> String {
    format!("launch/{attempt}/heartbeat/{rank}")
}

/// One failure, as published on the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRecord {
    /// Global rank that failed, if a worker (`None`: a whole node or launcher).
    pub rank: Option<usize>,
    /// Node rank.
    pub node: usize,
    /// Host name.
    pub host: String,
    /// Process id, if known.
    pub pid: Option<u32>,
    /// How it ended, e.g. `exit code 3`, `signal SIGKILL`, `error`.
    pub exit: String,
    /// Free text: the error message or the launcher's reason.
    pub reason: String,
}

impl FailureRecord {
    /// Encodes as `key=value` lines (newlines and backslashes in values are escaped).
    pub fn encode(&self) -> Vec<u8> {
        let fields = [
            ("rank", self.rank.map(|r| r.to_string()).unwrap_or_default()),
            ("node", self.node.to_string()),
            ("host", self.host.clone()),
            ("pid", self.pid.map(|p| p.to_string()).unwrap_or_default()),
            ("exit", self.exit.clone()),
            ("reason", self.reason.clone()),
        ];
        let mut out = String::new();
        for (k, v) in fields {
            out.push_str(k);
            out.push('=');
            out.push_str(&v.replace('\\', "\\\\").replace('\n', "\\n"));
            out.push('\n');
        }
        out.into_bytes()
    }

    /// Decodes [`FailureRecord::encode`]'s format; `key` names the store key in errors.
    pub fn decode(key: &str, bytes: &[u8]) -> Result<FailureRecord, DistError> {
        let bad = |detail: String| DistError::StoreValue {
            key: key.to_string(),
            detail,
        };
        let text =
            std::str::from_utf8(bytes).map_err(|_| bad("failure record is not UTF-8".into()))?;
        let mut rec = FailureRecord {
            rank: None,
            node: 0,
            host: String::new(),
            pid: None,
            exit: String::new(),
            reason: String::new(),
        };
        for (i, line) in text.lines().enumerate() {
            let Some((k, v)) = line.split_once('=') else {
                return Err(bad(format!("line {}: no '=' in {line:?}", i + 1)));
            };
            let v = unescape(v);
            let num = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| bad(format!("line {}: {k}={v:?} is not a number", i + 1)))
            };
            match k {
                "rank" if v.is_empty() => rec.rank = None,
                "rank" => rec.rank = Some(num(&v)? as usize),
                "node" => rec.node = num(&v)? as usize,
                "host" => rec.host = v,
                "pid" if v.is_empty() => rec.pid = None,
                "pid" => rec.pid = Some(num(&v)? as u32),
                "exit" => rec.exit = v,
                "reason" => rec.reason = v,
                _ => {} // newer writers may add fields
            }
        }
        Ok(rec)
    }

    /// One line for logs: `rank 3 on node01 (node 0, pid 1234): exit code 1: reason`.
    pub fn describe(&self) -> String {
        let who = match self.rank {
            Some(r) => format!("rank {r}"),
            None => "launcher".to_string(),
        };
        let pid = self.pid.map(|p| format!(", pid {p}")).unwrap_or_default();
        let reason = if self.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", self.reason)
        };
        format!(
            "{who} on {} (node {}{pid}): {}{reason}",
            self.host, self.node, self.exit
        )
    }
}

fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Publishes `record` as the failure of `attempt` unless one is already there; returns the record that is now
/// stored (the root cause: ours, or the one published first).
pub fn publish_failure(
    store: &StoreClient,
    attempt: u32,
    record: &FailureRecord,
) -> Result<FailureRecord, DistError> {
    let key = failed_key(attempt);
    let stored = store.compare_set(&key, None, &record.encode())?;
    FailureRecord::decode(&key, &stored)
}

/// Waits up to `timeout` for a failure of `attempt`; `Ok(None)` when none appeared.
pub fn wait_failure(
    store: &StoreClient,
    attempt: u32,
    timeout: Duration,
) -> Result<Option<FailureRecord>, DistError> {
    let key = failed_key(attempt);
    match store.get_timeout(&key, timeout) {
        Ok(bytes) => FailureRecord::decode(&key, &bytes).map(Some),
        Err(DistError::StoreTimeout { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Records that `rank` reached `step` now.
pub fn publish_heartbeat(
    store: &StoreClient,
    attempt: u32,
    rank: usize,
    step: u64,
) -> Result<(), DistError> {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    store.set(
        &heartbeat_key(attempt, rank),
        format!("{step} {ms}").as_bytes(),
    )
}

/// Reads `rank`'s latest heartbeat: `(step, unix_ms)`, or `None` if it never beat.
pub fn read_heartbeat(
    store: &StoreClient,
    attempt: u32,
    rank: usize,
) -> Result<Option<(u64, u64)>, DistError> {
    let key = heartbeat_key(attempt, rank);
    if !store.check(&[&key])? {
        return Ok(None);
    }
    let bytes = store.get(&key)?;
    let text = String::from_utf8_lossy(&bytes);
    let parsed = text
        .split_once(' ')
        .and_then(|(s, t)| Some((s.parse().ok()?, t.parse().ok()?)));
    parsed.map(Some).ok_or_else(|| DistError::StoreValue {
        key,
        detail: format!("heartbeat {text:?} is not \"step unix_ms\""),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_with_awkward_text() {
        let rec = FailureRecord {
            rank: Some(3),
            node: 1,
            host: "node07".into(),
            pid: Some(4242),
            exit: "signal SIGKILL".into(),
            reason: "line one\nline=two \\ end".into(),
        };
        assert_eq!(FailureRecord::decode("k", &rec.encode()).unwrap(), rec);
        let launcher = FailureRecord {
            rank: None,
            pid: None,
            ..rec.clone()
        };
        assert_eq!(
            FailureRecord::decode("k", &launcher.encode()).unwrap(),
            launcher
        );
        assert_eq!(
            rec.describe(),
            "rank 3 on node07 (node 1, pid 4242): signal SIGKILL: line one\nline=two \\ end"
        );
    }

    #[test]
    fn malformed_record_names_the_key_and_line() {
        let err = FailureRecord::decode("launch/0/failed", b"rank=x\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "store key \"launch/0/failed\": line 1: rank=\"x\" is not a number"
        );
        let err = FailureRecord::decode("k", b"node=1\nnonsense\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2: no '='"), "{err}");
    }

    #[test]
    fn keys_are_scoped_by_attempt() {
        assert_eq!(failed_key(2), "launch/2/failed");
        assert_eq!(heartbeat_key(0, 5), "launch/0/heartbeat/5");
    }
}
