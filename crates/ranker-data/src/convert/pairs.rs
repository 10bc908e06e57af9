//! Preference pairs → n-candidate items: `ranker data convert --from pairs`.
//!
//! A row is one JSON object per line with a prompt and two responses:
//! - `{"prompt", "chosen", "rejected"}` (UltraFeedback-binarized, UnifiedFeedback-style and trl's preference
//!   format), or `{"instruction", "input"?, "chosen", "rejected"}`;
//! - `chosen` / `rejected` are strings or chat message lists (`[{"role", "content"}, …]`) whose last message is
//!   the assistant's response; without a `prompt`, a single user message before it is the prompt;
//! - without any prompt field and with string responses, the HH-RLHF transcript layout: both strings share the
//!   conversation up to their last `"\n\nAssistant:"`, which becomes the prompt.
//!
//! Each row becomes one item with two candidates, `human_preference` 1 (chosen) and 0 (rejected), in a seeded
//! order (so candidate 0 is not always the better one); `output`, the reference, is the chosen response. Rows
//! whose two responses are identical carry no preference and are skipped (counted).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::{Map, Value};

use crate::atomic::ItemWriter;
use crate::error::DataError;
use crate::read::DataFormat;
use crate::schema::{ItemId, MixCandidate, MixItem, Output, ScoreMap};

/// How rows are turned into items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairConvertOptions {
    /// The score name (`human_preference`, as PairRM's training data).
    pub metric: String,
    /// Seed of the per-row candidate order.
    pub seed: u64,
}

impl Default for PairConvertOptions {
    fn default() -> Self {
        Self {
            metric: "human_preference".into(),
            seed: 42,
        }
    }
}

/// What a conversion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairConvertSummary {
    /// Items written.
    pub written: usize,
    /// Rows skipped because chosen and rejected are the same text.
    pub identical: usize,
}

const ASSISTANT_TURN: &str = "\n\nAssistant:";

/// Converts the JSONL preference file `input` into items at `output` (`.json` or `.jsonl`, written atomically).
/// `progress` gets the number of rows read so far.
///
/// # Errors
/// The first bad row, as `file:line: message` naming the field; unreadable or unwritable files.
pub fn convert_pairs_file(
    input: &Path,
    output: &Path,
    options: &PairConvertOptions,
    progress: &dyn Fn(usize),
) -> Result<PairConvertSummary, DataError> {
    if DataFormat::from_path(input).ok() != Some(DataFormat::JsonLines) {
        return Err(DataError::Layout {
            path: input.to_path_buf(),
            message: "expected a .jsonl file with one preference pair per line".into(),
        });
    }
    let file = File::open(input).map_err(|source| DataError::Read {
        path: input.to_path_buf(),
        source,
    })?;
    let mut writer = ItemWriter::create(output)?;
    let mut summary = PairConvertSummary::default();
    let mut rows = 0;
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line_no = n + 1;
        let line = line.map_err(|source| DataError::ReadLine {
            path: input.to_path_buf(),
            line: line_no,
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| DataError::BadRow {
            path: input.to_path_buf(),
            line: line_no,
            message,
        };
        let row: Value =
            serde_json::from_str(&line).map_err(|e| bad(format!("malformed JSON: {e}")))?;
        match pair_row_item(&row, rows, options).map_err(bad)? {
            Some(item) => {
                writer.push(&item)?;
                summary.written += 1;
            }
            None => summary.identical += 1,
        }
        rows += 1;
        if rows % 1000 == 0 {
            progress(rows);
        }
    }
    progress(rows);
    if summary.written == 0 {
        return Err(DataError::Layout {
            path: input.to_path_buf(),
            message: if summary.identical > 0 {
                "every row's chosen and rejected responses are identical: nothing to write".into()
            } else {
                "no rows".into()
            },
        });
    }
    writer.finish()?;
    Ok(summary)
}

/// The item of one preference row (`index`: its 0-based position among the rows, the default id and the key
/// of its candidate order); `None` when both responses are the same text.
///
/// # Errors
/// A message naming the missing or mistyped field.
pub fn pair_row_item(
    row: &Value,
    index: usize,
    options: &PairConvertOptions,
) -> Result<Option<MixItem>, String> {
    let Value::Object(row) = row else {
        return Err("a row must be a JSON object".into());
    };
    let chosen = field(row, "chosen")?;
    let rejected = field(row, "rejected")?;
    let (instruction, input, chosen, rejected) = if let Some(instruction) = row.get("instruction") {
        let input = match row.get("input") {
            None | Some(Value::Null) => String::new(),
            Some(v) => string(v, "input")?.to_string(),
        };
        (
            string(instruction, "instruction")?.to_string(),
            input,
            response(chosen, "chosen")?.1,
            response(rejected, "rejected")?.1,
        )
    } else if let Some(prompt) = row.get("prompt") {
        (
            String::new(),
            prompt_text(prompt)?,
            response(chosen, "chosen")?.1,
            response(rejected, "rejected")?.1,
        )
    } else {
        let (chosen_prompt, chosen) = response(chosen, "chosen")?;
        let (rejected_prompt, rejected) = response(rejected, "rejected")?;
        let prompt = chosen_prompt.ok_or(
            "no `prompt` or `instruction`, and `chosen` is neither a chat with one user message nor an \
             HH-RLHF transcript (\"\\n\\nHuman: …\\n\\nAssistant: …\")",
        )?;
        if rejected_prompt.as_deref() != Some(prompt.as_str()) {
            return Err(
                "`chosen` and `rejected` do not share the same prompt (the conversation before the last \
                 assistant turn)"
                    .into(),
            );
        }
        (String::new(), prompt, chosen, rejected)
    };
    if chosen == rejected {
        return Ok(None);
    }
    let model = |key: &str, default: &str| match row.get(key) {
        Some(Value::String(name)) if !name.is_empty() => name.clone(),
        _ => default.to_string(),
    };
    let rating = |key: &str| row.get(key).and_then(Value::as_f64);
    let candidate = |text: &str, model: String, preference: f64, rating: Option<f64>| {
        let mut scores = ScoreMap::new();
        scores.insert(&options.metric, preference);
        if let Some(r) = rating {
            scores.insert("rating", r);
        }
        MixCandidate {
            model,
            decoding_method: "human".into(),
            text: text.to_string(),
            scores,
            extra: Map::new(),
        }
    };
    let mut candidates = vec![
        candidate(
            &chosen,
            model("chosen_model", "chosen"),
            1.0,
            rating("score_chosen"),
        ),
        candidate(
            &rejected,
            model("rejected_model", "rejected"),
            0.0,
            rating("score_rejected"),
        ),
    ];
    if (splitmix64(options.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) & 1) == 1 {
        candidates.swap(0, 1);
    }
    let id = match row.get("id").or_else(|| row.get("prompt_id")) {
        Some(Value::String(s)) => ItemId::Text(s.clone()),
        Some(Value::Number(n)) => ItemId::Text(n.to_string()),
        _ => ItemId::Text(index.to_string()),
    };
    Ok(Some(MixItem {
        id: Some(id),
        instruction,
        input,
        output: Output::Text(chosen),
        candidates,
        cmp_results: None,
        extra: Map::new(),
    }))
}

fn field<'a>(row: &'a Map<String, Value>, key: &str) -> Result<&'a Value, String> {
    row.get(key).ok_or_else(|| format!("missing field `{key}`"))
}

fn string<'a>(value: &'a Value, key: &str) -> Result<&'a str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("`{key}` must be a string, got {}", kind(value)))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A prompt: a string, or a chat with exactly one user message.
fn prompt_text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Array(messages) => match messages.as_slice() {
            [only] if role(only) == Some("user") => Ok(content(only, "prompt[0]")?.to_string()),
            _ => Err(format!(
                "`prompt` is a chat of {} message(s); only a single user message can be a prompt \
                 (flatten multi-turn prompts first)",
                messages.len()
            )),
        },
        other => Err(format!(
            "`prompt` must be a string or a chat message list, got {}",
            kind(other)
        )),
    }
}

fn role(message: &Value) -> Option<&str> {
    message.get("role").and_then(Value::as_str)
}

fn content<'a>(message: &'a Value, at: &str) -> Result<&'a str, String> {
    message
        .get("content")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{at}` has no string `content`"))
}

/// A response and, when the value carries it, its prompt: a chat's single user message, or the HH-RLHF
/// transcript before the last assistant turn.
fn response(value: &Value, key: &str) -> Result<(Option<String>, String), String> {
    match value {
        Value::String(text) => Ok(match text.rfind(ASSISTANT_TURN) {
            Some(at) if text.starts_with("\n\nHuman:") => {
                let split = at + ASSISTANT_TURN.len();
                (
                    Some(text[..split].to_string()),
                    text[split..].trim_start().to_string(),
                )
            }
            _ => (None, text.clone()),
        }),
        Value::Array(messages) => {
            let Some((last, before)) = messages.split_last() else {
                return Err(format!("`{key}` is an empty message list"));
            };
            if role(last) != Some("assistant") {
                return Err(format!(
                    "`{key}`: the last message must be the assistant's response, got role {:?}",
                    role(last).unwrap_or("(none)")
                ));
            }
            let text = content(last, &format!("{key}[{}]", messages.len() - 1))?.to_string();
            let prompt = match before {
                [only] if role(only) == Some("user") => {
                    Some(content(only, &format!("{key}[0]"))?.to_string())
                }
                _ => None,
            };
            Ok((prompt, text))
        }
        other => Err(format!(
            "`{key}` must be a string or a chat message list, got {}",
            kind(other)
        )),
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(row: Value) -> MixItem {
        pair_row_item(&row, 0, &PairConvertOptions::default())
            .unwrap()
            .unwrap()
    }

    fn preference_of(item: &MixItem, text: &str) -> f64 {
        let c = item.candidates.iter().find(|c| c.text == text).unwrap();
        c.scores.get("human_preference").unwrap().as_f64().unwrap()
    }

    #[test]
    fn prompt_rows_become_two_scored_candidates() {
        let it = item(json!({"prompt": "2+2?", "chosen": "4", "rejected": "5", "id": 7}));
        assert_eq!((it.instruction.as_str(), it.input.as_str()), ("", "2+2?"));
        assert_eq!(it.output.target(), "4");
        assert_eq!(it.id, Some(ItemId::Text("7".into())));
        assert_eq!(preference_of(&it, "4"), 1.0);
        assert_eq!(preference_of(&it, "5"), 0.0);
    }

    #[test]
    fn chat_lists_and_ultrafeedback_ratings() {
        let chat = |r: &str| json!([{"role": "user", "content": "hi"}, {"role": "assistant", "content": r}]);
        let it = item(
            json!({"prompt": "hi", "chosen": chat("hello"), "rejected": chat("go away"),
                             "score_chosen": 8.5, "score_rejected": 3.0}),
        );
        assert_eq!(it.input, "hi");
        let chosen = it.candidates.iter().find(|c| c.text == "hello").unwrap();
        assert_eq!(chosen.scores.get("rating").unwrap().as_f64(), Some(8.5));
        // Without `prompt`, the single user message is the prompt.
        let it = item(json!({"chosen": chat("hello"), "rejected": chat("go away")}));
        assert_eq!(it.input, "hi");
    }

    #[test]
    fn instruction_rows_keep_instruction_and_input_apart() {
        let it = item(
            json!({"instruction": "Translate.", "input": "chat", "chosen": "cat", "rejected": "dog"}),
        );
        assert_eq!(
            (it.instruction.as_str(), it.input.as_str()),
            ("Translate.", "chat")
        );
    }

    #[test]
    fn hh_rlhf_transcripts_split_at_the_last_assistant_turn() {
        let p = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?\n\nAssistant:";
        let it = item(json!({"chosen": format!("{p} A pun."), "rejected": format!("{p} No.")}));
        assert_eq!(it.input, p);
        assert_eq!(preference_of(&it, "A pun."), 1.0);
        let err = pair_row_item(
            &json!({"chosen": format!("{p} A pun."), "rejected": "\n\nHuman: other\n\nAssistant: No."}),
            0,
            &PairConvertOptions::default(),
        )
        .unwrap_err();
        assert!(err.contains("do not share the same prompt"), "{err}");
    }

    #[test]
    fn candidate_order_is_seeded_and_mixed() {
        let row = json!({"prompt": "p", "chosen": "a", "rejected": "b"});
        let first: Vec<String> = (0..64)
            .map(|i| {
                pair_row_item(&row, i, &PairConvertOptions::default())
                    .unwrap()
                    .unwrap()
                    .candidates[0]
                    .text
                    .clone()
            })
            .collect();
        let chosen_first = first.iter().filter(|t| *t == "a").count();
        assert!((16..=48).contains(&chosen_first), "{chosen_first} of 64");
        let again: Vec<String> = (0..64)
            .map(|i| {
                pair_row_item(&row, i, &PairConvertOptions::default())
                    .unwrap()
                    .unwrap()
                    .candidates[0]
                    .text
                    .clone()
            })
            .collect();
        assert_eq!(first, again);
    }

    #[test]
    fn bad_rows_name_the_field() {
        let opts = PairConvertOptions::default();
        let err = |row: Value| pair_row_item(&row, 0, &opts).unwrap_err();
        assert_eq!(
            err(json!({"prompt": "p", "chosen": "a"})),
            "missing field `rejected`"
        );
        assert_eq!(
            err(json!({"prompt": 3, "chosen": "a", "rejected": "b"})),
            "`prompt` must be a string or a chat message list, got a number"
        );
        assert!(err(
            json!({"prompt": "p", "chosen": [{"role": "user", "content": "x"}], "rejected": "b"})
        )
        .contains("the last message must be the assistant's response"));
        assert!(err(json!({"chosen": "a", "rejected": "b"}))
            .starts_with("no `prompt` or `instruction`"));
        assert!(pair_row_item(
            &json!({"prompt": "p", "chosen": "a", "rejected": "a"}),
            0,
            &opts
        )
        .unwrap()
        .is_none());
    }

    #[test]
    fn files_convert_atomically_and_errors_name_the_line() {
        let dir = std::env::temp_dir().join(format!("ranker-convert-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("prefs.jsonl");
        let output = dir.join("out.jsonl");
        std::fs::write(
            &input,
            "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n\n\
             {\"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"c\"}\n",
        )
        .unwrap();
        let summary =
            convert_pairs_file(&input, &output, &PairConvertOptions::default(), &|_| {}).unwrap();
        assert_eq!(
            summary,
            PairConvertSummary {
                written: 1,
                identical: 1
            }
        );
        let dataset = crate::Dataset::load(
            &output,
            &crate::LoadOptions {
                metrics: vec!["human_preference".into()],
                ..crate::LoadOptions::default()
            },
        )
        .unwrap();
        assert_eq!(dataset.examples[0].n_candidates(), 2);
        std::fs::write(
            &input,
            "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n{\"prompt\": \"p\"}\n",
        )
        .unwrap();
        let bad = dir.join("bad.jsonl");
        let err =
            convert_pairs_file(&input, &bad, &PairConvertOptions::default(), &|_| {}).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}:2: missing field `chosen`", input.display())
        );
        assert!(!bad.exists(), "nothing half-written");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
