//! The line formats of `ranker rank | compare | rank-with-ref | best-of-n` and chunked streaming.

use ranker_data::ItemId;
use serde::{Deserialize, Serialize};

/// One item to rank (`ranker rank`, best-of-n, rank with a reference):
/// `{"id"?, "instruction"?, "input", "candidates": [str], "reference"?}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RankInput {
    /// Optional id, used in error messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ItemId>,
    /// Prepended to `input` with no separator, as the reference does.
    #[serde(default)]
    pub instruction: String,
    /// The input text.
    pub input: String,
    /// The candidates.
    pub candidates: Vec<String>,
    /// Rank with a reference only: an explicit reference text (the reference's `ref_candidates`), overriding the
    /// reference mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl RankInput {
    /// The ranker's source text: `instruction + input`.
    pub fn source(&self) -> String {
        format!("{}{}", self.instruction, self.input)
    }
}

/// One pair to compare (`ranker compare`): `{"id"?, "instruction"?, "input", "candidate_a", "candidate_b"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareInput {
    /// Optional id, used in error messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ItemId>,
    /// Prepended to `input` with no separator.
    #[serde(default)]
    pub instruction: String,
    /// The input text.
    pub input: String,
    /// Candidate A.
    pub candidate_a: String,
    /// Candidate B.
    pub candidate_b: String,
}

/// One pair of conversations to compare (`ranker compare-conversations`):
/// `{"id"?, "conversation_a": [{"role", "content"}], "conversation_b": [...]}`; turns alternate user / assistant,
/// starting with the user, and both conversations share the user turns (`Blender.compare_conversations`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareConversationsInput {
    /// Optional id, used in error messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ItemId>,
    /// Conversation A.
    pub conversation_a: Vec<Turn>,
    /// Conversation B.
    pub conversation_b: Vec<Turn>,
}

/// One turn of a conversation: `{"role": "user" | "assistant", "content": str}` (the role in any case; the
/// reference spells them `USER` / `ASSISTANT`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// `user` or `assistant`.
    pub role: String,
    /// The text of the turn.
    pub content: String,
}

/// `{"scores": [f64], "ranks": [u32]}`: higher score is better, rank 1 is best (competition ranks).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankOutput {
    /// One score per candidate.
    pub scores: Vec<f64>,
    /// Competition ranks of the scores.
    pub ranks: Vec<u32>,
}

/// `{"logit": f64, "a_better": bool}`: with `--order both` (the default) `logit = f(A, B) − f(B, A)`, positive
/// when A is better; with `ab` the single forward `f(A, B)` (positive: A better), with `ba` the single forward
/// `f(B, A)` (positive: B better) — the values `Blender.compare(…, return_logits=True, mode=…)` returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompareOutput {
    /// The comparison logit of the order(s) run.
    pub logit: f64,
    /// Whether A is the better candidate (`logit > 0`, or `logit < 0` for `ba`; the reference's boolean for
    /// `[B,A]` is `f(B, A) > 0`, i.e. "B is better", which this field does not copy).
    pub a_better: bool,
}

/// `{"best": u32, "candidate": str, "order"?: [u32]}`: the selected candidate (the best, or the worst for
/// worst-of-n), its text, and with `return_all` an order: in full mode all candidates by rank (best first, or worst
/// first for worst-of-n; ties by index), in bubble mode the reference's order (the winner, then the candidate
/// left behind by each comparison — not a total order).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BestOfNOutput {
    /// Index of the selected candidate.
    pub best: u32,
    /// Its text.
    pub candidate: String,
    /// `return_all`: candidate indices, the selected one first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Vec<u32>>,
}

/// Pulls `chunk_size` items at a time from `items` and hands each chunk to `process` with the 0-based index of
/// its first item, so that a stream is processed in bounded memory with full batches across items. Stops at the
/// first error (from the stream or from `process`).
pub fn for_each_chunk<T, E>(
    items: impl IntoIterator<Item = Result<T, E>>,
    chunk_size: usize,
    mut process: impl FnMut(usize, Vec<T>) -> Result<(), E>,
) -> Result<(), E> {
    let chunk_size = chunk_size.max(1);
    let mut chunk = Vec::with_capacity(chunk_size);
    let mut first = 0;
    for item in items {
        chunk.push(item?);
        if chunk.len() == chunk_size {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(chunk_size));
            let len = full.len();
            process(first, full)?;
            first += len;
        }
    }
    if !chunk.is_empty() {
        process(first, chunk)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_carry_their_first_index() {
        let mut seen = Vec::new();
        for_each_chunk((0..7).map(Ok::<_, String>), 3, |first, chunk| {
            seen.push((first, chunk));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [(0, vec![0, 1, 2]), (3, vec![3, 4, 5]), (6, vec![6])]);
        let err = for_each_chunk([Ok(1), Err("line 2: bad".to_owned())], 5, |_, _| Ok(()));
        assert_eq!(err.unwrap_err(), "line 2: bad");
    }

    #[test]
    fn input_lines_parse_as_documented() {
        let input: RankInput =
            serde_json::from_str(r#"{"input": "q", "candidates": ["a", "b"], "id": 7}"#).unwrap();
        assert_eq!(input.source(), "q");
        assert_eq!(input.id, Some(ItemId::Integer(7)));
        assert!(
            serde_json::from_str::<RankInput>(r#"{"input": "q", "candidates": [], "x": 1}"#)
                .is_err()
        );
        let out = serde_json::to_string(&BestOfNOutput {
            best: 1,
            candidate: "b".into(),
            order: None,
        })
        .unwrap();
        assert_eq!(out, r#"{"best":1,"candidate":"b"}"#);
    }
}
