//! Request bodies and options: the CLI's JSON lines, one object or a list, validated before they are queued so
//! that a bad request is a 400 naming the field and never reaches the model.

use ranker_eval::reward::{
    CompareConversationsInput, CompareInput, CompareOrder, RankInput, SelectMode,
};
use ranker_eval::{BubbleOptions, BubbleTarget};
use serde::de::DeserializeOwned;

/// A request the model thread runs.
#[derive(Debug)]
pub enum Work {
    /// `POST /rank`.
    Rank(Vec<RankInput>),
    /// `POST /compare` and `/compare-conversations` (already turned into comparisons).
    Compare(Vec<CompareInput>, CompareOrder),
    /// `POST /best-of-n` and `/worst-of-n`.
    BestOfN {
        /// The items.
        inputs: Vec<RankInput>,
        /// Full or bubble.
        mode: SelectMode,
        /// Seed and target (best or worst).
        bubble: BubbleOptions,
        /// Whether to return the order.
        return_all: bool,
    },
}

impl Work {
    /// Comparisons (rows for a listwise ranker) the request costs, for filling batches.
    pub fn cost(&self, pairwise: bool) -> usize {
        let pairs = |n: usize, full: bool| match (pairwise, full) {
            (false, _) => n,
            (true, true) => n * n.saturating_sub(1),
            (true, false) => 2 * n.saturating_sub(1),
        };
        match self {
            Work::Rank(inputs) => inputs.iter().map(|i| pairs(i.candidates.len(), true)).sum(),
            Work::Compare(inputs, order) => {
                inputs.len() * if *order == CompareOrder::Both { 2 } else { 1 }
            }
            Work::BestOfN { inputs, mode, .. } => inputs
                .iter()
                .map(|i| pairs(i.candidates.len(), *mode == SelectMode::Full))
                .sum(),
        }
        .max(1)
    }
}

/// A 400 / 401 / 404 answer: the message names the field or option.
#[derive(Debug)]
pub struct BadRequest(pub String);

/// The body as one item or a list of items, and whether it was a list (the answer has the same shape).
pub fn parse_items<T: DeserializeOwned>(body: &[u8]) -> Result<(Vec<T>, bool), BadRequest> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| BadRequest(format!("body: malformed JSON: {e}")))?;
    let (values, is_list) = match value {
        serde_json::Value::Array(values) => (values, true),
        value @ serde_json::Value::Object(_) => (vec![value], false),
        other => {
            return Err(BadRequest(format!(
                "body: expected an object or a list of objects, found {}",
                json_kind(&other)
            )))
        }
    };
    if values.is_empty() {
        return Err(BadRequest("body: an empty list".into()));
    }
    let items = values
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
                let path = e.path().to_string();
                let prefix = if is_list {
                    format!("[{i}]")
                } else {
                    String::new()
                };
                let field = match (prefix.is_empty(), path.as_str()) {
                    (true, ".") => "body".to_owned(),
                    (false, ".") => prefix,
                    (true, _) => path,
                    (false, _) => format!("{prefix}.{path}"),
                };
                BadRequest(format!("{field}: {}", e.inner()))
            })
        })
        .collect::<Result<Vec<T>, _>>()?;
    Ok((items, is_list))
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

fn item_field(is_list: bool, i: usize, field: &str) -> String {
    if is_list {
        format!("[{i}].{field}")
    } else {
        field.to_owned()
    }
}

/// Every item needs at least two candidates.
pub fn check_candidates(inputs: &[RankInput], is_list: bool) -> Result<(), BadRequest> {
    for (i, input) in inputs.iter().enumerate() {
        if input.candidates.len() < 2 {
            return Err(BadRequest(format!(
                "{}: {} candidate(s), at least 2 are needed",
                item_field(is_list, i, "candidates"),
                input.candidates.len()
            )));
        }
    }
    Ok(())
}

/// Conversations as comparisons; errors name the item's field.
pub fn conversations(
    inputs: &[CompareConversationsInput],
    is_list: bool,
) -> Result<Vec<CompareInput>, BadRequest> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            c.to_compare_input(i).map_err(|e| match e {
                ranker_eval::EvalError::InvalidInput { field, reason, .. } => {
                    BadRequest(format!("{}: {reason}", item_field(is_list, i, &field)))
                }
                other => BadRequest(other.to_string()),
            })
        })
        .collect()
}

/// The query string as `key=value` pairs; every key must be one of `known`.
pub fn query_options<'a>(
    query: Option<&'a str>,
    known: &[&str],
) -> Result<Vec<(&'a str, &'a str)>, BadRequest> {
    let mut options = Vec::new();
    for part in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        if !known.contains(&key) {
            return Err(BadRequest(format!(
                "query {key}: unknown option (expected one of: {})",
                known.join(", ")
            )));
        }
        options.push((key, value));
    }
    Ok(options)
}

fn parse_bool(key: &str, value: &str) -> Result<bool, BadRequest> {
    match value {
        "" | "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(BadRequest(format!(
            "query {key}: {other:?} is not true or false"
        ))),
    }
}

/// `?order=both|ab|ba`.
pub fn compare_order(query: Option<&str>) -> Result<CompareOrder, BadRequest> {
    let mut order = CompareOrder::Both;
    for (_, value) in query_options(query, &["order"])? {
        order = value
            .parse()
            .map_err(|_| BadRequest(format!("query order: {value:?} is not both, ab or ba")))?;
    }
    Ok(order)
}

/// `?mode=bubble|full&return_all=true&seed=42` (and `worst=true` on `/best-of-n`).
pub fn best_of_n_options(
    query: Option<&str>,
    worst: bool,
) -> Result<(SelectMode, BubbleOptions, bool), BadRequest> {
    let mut mode = SelectMode::Bubble;
    let mut bubble = BubbleOptions {
        num_runs: 1,
        seed: 42,
        round: 0,
        target: if worst {
            BubbleTarget::Worst
        } else {
            BubbleTarget::Best
        },
    };
    let mut return_all = false;
    for (key, value) in query_options(query, &["mode", "return_all", "seed", "worst"])? {
        match key {
            "mode" => {
                mode = value.parse().map_err(|_| {
                    BadRequest(format!("query mode: {value:?} is not full or bubble"))
                })?
            }
            "return_all" => return_all = parse_bool(key, value)?,
            "worst" => {
                if parse_bool(key, value)? {
                    bubble.target = BubbleTarget::Worst;
                }
            }
            _ => {
                bubble.seed = value.parse().map_err(|_| {
                    BadRequest(format!("query seed: {value:?} is not an unsigned integer"))
                })?
            }
        }
    }
    Ok((mode, bubble, return_all))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> String {
        parse_items::<T>(body.as_bytes()).unwrap_err().0
    }

    #[test]
    fn bad_bodies_name_the_field() {
        assert!(err::<RankInput>("{").starts_with("body: malformed JSON"));
        assert!(err::<RankInput>("3").starts_with("body: expected an object"));
        assert!(err::<RankInput>(r#"{"input": "q"}"#).contains("missing field `candidates`"));
        assert!(
            err::<RankInput>(r#"{"input": "q", "candidates": ["a", 3]}"#)
                .starts_with("candidates[1]: invalid type")
        );
        assert!(err::<RankInput>(
            r#"[{"input": "q", "candidates": ["a"]}, {"input": 1, "candidates": []}]"#
        )
        .starts_with("[1].input: invalid type"));
        let (items, is_list) =
            parse_items::<RankInput>(br#"{"input": "q", "candidates": ["a"]}"#).unwrap();
        assert!(!is_list);
        assert_eq!(
            check_candidates(&items, is_list).unwrap_err().0,
            "candidates: 1 candidate(s), at least 2 are needed"
        );
    }

    #[test]
    fn options_are_checked() {
        assert_eq!(compare_order(Some("order=ba")).unwrap(), CompareOrder::BA);
        assert!(compare_order(Some("order=x"))
            .unwrap_err()
            .0
            .starts_with("query order"));
        assert!(compare_order(Some("mode=full"))
            .unwrap_err()
            .0
            .starts_with("query mode: unknown"));
        let (mode, bubble, all) =
            best_of_n_options(Some("mode=full&return_all=true&seed=7"), false).unwrap();
        assert_eq!((mode, bubble.seed, all), (SelectMode::Full, 7, true));
        assert_eq!(bubble.target, BubbleTarget::Best);
        let (_, bubble, _) = best_of_n_options(Some("worst"), false).unwrap();
        assert_eq!(bubble.target, BubbleTarget::Worst);
    }
}
