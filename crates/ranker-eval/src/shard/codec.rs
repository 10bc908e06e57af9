//! The bytes one rank sends the others: its predictions and counters, or its error.
//!
//! ```text
//! "RKEV" version:u8 status:u8
//! status 1: len:u32 message:utf8
//! status 0: forwards:u64 batches:u64 scorer_ns:u64 wall_ns:u64 count:u64, then per item
//!           index:u64 n:u32 scores:[f64; n] ranks:[u32; n] selected:u32
//!           has_matrix:u8 [f64; n·n]   has_bubble:u8 [steps:u32 (cur, next, better):[u32; 3]…]
//! ```
//! Little endian; floats travel as their bits, so results arrive bit-identical.

use std::time::Duration;

use crate::inference::InferenceStats;
use crate::item::{BubbleStep, ItemPrediction};

const MAGIC: &[u8; 4] = b"RKEV";
const VERSION: u8 = 1;

/// What a rank reports: its shard's predictions and counters, or its error on one line.
pub type ShardPayload = Result<(Vec<ItemPrediction>, InferenceStats), String>;

/// Encodes a rank's payload.
pub fn encode_shard(payload: &ShardPayload) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    match payload {
        Err(message) => {
            out.push(1);
            out.extend_from_slice(&(message.len() as u32).to_le_bytes());
            out.extend_from_slice(message.as_bytes());
        }
        Ok((predictions, stats)) => {
            out.push(0);
            for value in [
                stats.forwards,
                stats.batches,
                stats.scorer_time.as_nanos() as u64,
                stats.wall_time.as_nanos() as u64,
                predictions.len() as u64,
            ] {
                out.extend_from_slice(&value.to_le_bytes());
            }
            for p in predictions {
                encode_prediction(&mut out, p);
            }
        }
    }
    out
}

fn encode_prediction(out: &mut Vec<u8>, p: &ItemPrediction) {
    out.extend_from_slice(&(p.index as u64).to_le_bytes());
    out.extend_from_slice(&(p.scores.len() as u32).to_le_bytes());
    for s in &p.scores {
        out.extend_from_slice(&s.to_bits().to_le_bytes());
    }
    for r in &p.ranks {
        out.extend_from_slice(&r.to_le_bytes());
    }
    out.extend_from_slice(&(p.selected as u32).to_le_bytes());
    match &p.matrix {
        None => out.push(0),
        Some(matrix) => {
            out.push(1);
            for v in matrix {
                out.extend_from_slice(&v.to_bits().to_le_bytes());
            }
        }
    }
    match &p.bubble {
        None => out.push(0),
        Some(steps) => {
            out.push(1);
            out.extend_from_slice(&(steps.len() as u32).to_le_bytes());
            for s in steps {
                for v in [s.cur, s.next, s.better] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, len: usize) -> Result<&[u8], String> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| format!("truncated at byte {} (needed {len} more)", self.at))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn f64(&mut self) -> Result<f64, String> {
        Ok(f64::from_bits(self.u64()?))
    }

    fn flag(&mut self, what: &str) -> Result<bool, String> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!("{what} flag is {other}")),
        }
    }
}

/// Decodes a rank's payload; the outer error says why the bytes are not a payload at all.
pub fn decode_shard(bytes: &[u8]) -> Result<ShardPayload, String> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(4)? != MAGIC {
        return Err("not an evaluation payload (bad magic)".into());
    }
    let version = r.u8()?;
    if version != VERSION {
        return Err(format!(
            "payload version {version}, this build reads {VERSION}"
        ));
    }
    let payload = match r.u8()? {
        1 => {
            let len = r.u32()? as usize;
            let message = String::from_utf8_lossy(r.take(len)?).into_owned();
            Err(message)
        }
        0 => {
            let stats = InferenceStats {
                forwards: r.u64()?,
                batches: r.u64()?,
                scorer_time: Duration::from_nanos(r.u64()?),
                wall_time: Duration::from_nanos(r.u64()?),
            };
            let count = r.u64()? as usize;
            let mut predictions = Vec::with_capacity(count.min(1 << 20));
            for _ in 0..count {
                predictions.push(decode_prediction(&mut r)?);
            }
            Ok((predictions, stats))
        }
        other => return Err(format!("status byte is {other}")),
    };
    if r.at != bytes.len() {
        return Err(format!("{} trailing bytes", bytes.len() - r.at));
    }
    Ok(payload)
}

fn decode_prediction(r: &mut Reader<'_>) -> Result<ItemPrediction, String> {
    let index = r.u64()? as usize;
    let n = r.u32()? as usize;
    let scores = (0..n).map(|_| r.f64()).collect::<Result<Vec<_>, _>>()?;
    let ranks = (0..n).map(|_| r.u32()).collect::<Result<Vec<_>, _>>()?;
    let selected = r.u32()? as usize;
    let matrix = if r.flag("matrix")? {
        Some((0..n * n).map(|_| r.f64()).collect::<Result<Vec<_>, _>>()?)
    } else {
        None
    };
    let bubble = if r.flag("bubble")? {
        let steps = r.u32()? as usize;
        let mut out = Vec::with_capacity(steps.min(1 << 16));
        for _ in 0..steps {
            out.push(BubbleStep {
                cur: r.u32()?,
                next: r.u32()?,
                better: r.u32()?,
            });
        }
        Some(out)
    } else {
        None
    };
    Ok(ItemPrediction {
        index,
        scores,
        ranks,
        selected,
        matrix,
        bubble,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<ItemPrediction> {
        vec![
            ItemPrediction {
                index: 3,
                scores: vec![0.1, -0.0, f64::INFINITY],
                ranks: vec![2, 3, 1],
                selected: 2,
                matrix: Some(vec![0.0, 1.5, -2.0, 0.25, 0.0, 1e-300, 7.0, 8.0, 0.0]),
                bubble: None,
            },
            ItemPrediction {
                index: 4,
                scores: vec![1.0, 2.0],
                ranks: vec![2, 1],
                selected: 1,
                matrix: None,
                bubble: Some(vec![BubbleStep {
                    cur: 0,
                    next: 1,
                    better: 1,
                }]),
            },
        ]
    }

    #[test]
    fn round_trips_bit_for_bit() {
        let stats = InferenceStats {
            forwards: 8,
            batches: 2,
            scorer_time: Duration::from_nanos(123),
            wall_time: Duration::from_millis(5),
        };
        let payload: ShardPayload = Ok((sample(), stats));
        let decoded = decode_shard(&encode_shard(&payload)).unwrap();
        let (predictions, back) = decoded.unwrap();
        assert_eq!(back, stats);
        assert_eq!(predictions, sample());
        assert!(predictions[0].scores[1].is_sign_negative());
        let err: ShardPayload = Err("item 3: boom".into());
        assert_eq!(decode_shard(&encode_shard(&err)).unwrap(), err);
    }

    #[test]
    fn rejects_damaged_bytes() {
        let bytes = encode_shard(&Ok((sample(), InferenceStats::default())));
        assert!(decode_shard(&bytes[..bytes.len() - 1])
            .unwrap_err()
            .contains("truncated"));
        assert!(decode_shard(b"XXXX").unwrap_err().contains("bad magic"));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode_shard(&longer).unwrap_err(), "1 trailing bytes");
    }
}
