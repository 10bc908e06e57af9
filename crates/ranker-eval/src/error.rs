//! The crate's one error type.

use ranker_data::DataError;
use ranker_dist::DistError;
use ranker_metrics::MetricsError;

/// Everything that can go wrong in `ranker-eval`. Messages name the item (0-based input index and id), the option
/// key or the rank they are about; the cause, when there is one, is the [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// An item with fewer than two candidates: there is nothing to compare or rank.
    #[error("item {index} (id {id:?}): {found} candidate(s), at least 2 are needed to rank")]
    TooFewCandidates {
        /// 0-based index of the item in the input.
        index: usize,
        /// The item's id.
        id: String,
        /// Its candidate count.
        found: usize,
    },
    /// An item whose candidate models differ from the first evaluated item's where the same models are needed.
    #[error(
        "item {index} (id {id:?}): candidate models {found:?} differ from item {first_index}'s {expected:?}; \
         {what} compares candidates per model across items"
    )]
    ModelsDiffer {
        /// 0-based index of the item in the input.
        index: usize,
        /// The item's id.
        id: String,
        /// Its models.
        found: Vec<String>,
        /// The first item's models.
        expected: Vec<String>,
        /// Index of the item the models were taken from.
        first_index: usize,
        /// What needs them.
        what: &'static str,
    },
    /// A ≥X opponent that is not among an evaluated item's candidate models.
    #[error("item {index} (id {id:?}): beats opponent '{model}' is not among the candidate models {models:?}")]
    UnknownOpponent {
        /// 0-based index of the item in the input.
        index: usize,
        /// The item's id.
        id: String,
        /// The opponent as configured.
        model: String,
        /// The item's models.
        models: Vec<String>,
    },
    /// A metric computation failed on one item (a NaN score or logit, `cmp_results` naming an unknown model, …).
    #[error("item {index} (id {id:?})")]
    AtItem {
        /// 0-based index of the item in the input.
        index: usize,
        /// The item's id.
        id: String,
        /// What went wrong.
        #[source]
        source: MetricsError,
    },
    /// A metric computation over all items failed.
    #[error("computing {what}")]
    Metric {
        /// What was being computed.
        what: &'static str,
        /// What went wrong.
        #[source]
        source: MetricsError,
    },
    /// A scorer returned a different number of values than it was asked for.
    #[error("{what}: the scorer returned {found} values for {expected} requests")]
    ScorerOutput {
        /// Which call.
        what: &'static str,
        /// Values returned.
        found: usize,
        /// Values asked for.
        expected: usize,
    },
    /// A listwise scorer returned the wrong number of scores for an item.
    #[error(
        "item {index} (id {id:?}): the scorer returned {found} scores for {expected} candidates"
    )]
    ScoreCount {
        /// 0-based index of the item in the input.
        index: usize,
        /// The item's id.
        id: String,
        /// Scores returned.
        found: usize,
        /// Candidates of the item.
        expected: usize,
    },
    /// The model behind a scorer failed (tokenization, a forward pass, loading).
    #[error("{context}")]
    Scorer {
        /// What the scorer was doing, naming the item where known.
        context: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// An option with a value that has no meaning.
    #[error("{key} = {value}: {reason}")]
    InvalidOption {
        /// Key path of the option (as in the config).
        key: &'static str,
        /// The value as given.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
    /// Evaluation over an empty set of items.
    #[error("{what}: no items")]
    NoItems {
        /// What was asked for.
        what: &'static str,
    },
    /// A collective operation failed.
    #[error("rank {rank}: {op}")]
    Dist {
        /// This process's rank.
        rank: usize,
        /// The operation.
        op: &'static str,
        /// The cause.
        #[source]
        source: DistError,
    },
    /// Another rank failed during sharded inference; its error, as it reported it.
    #[error("rank {rank} failed: {message}")]
    RankFailed {
        /// The failing rank.
        rank: usize,
        /// Its error chain, on one line.
        message: String,
    },
    /// The results a rank sent could not be decoded or do not fit its shard.
    #[error("results from rank {rank}: {detail}")]
    BadShardResults {
        /// The sending rank.
        rank: usize,
        /// What is wrong.
        detail: String,
    },
    /// Writing predictions or the report failed.
    #[error("writing evaluation output")]
    Write(#[source] DataError),
    /// A reward-model input that is well-formed JSON but not a valid request (names the field).
    #[error("item {index} (id {id:?}): {field}: {reason}")]
    InvalidInput {
        /// 0-based index of the item in the input.
        index: usize,
        /// The item's id.
        id: String,
        /// The offending field, e.g. `conversation_b[2].role`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A request the loaded ranker type cannot serve (e.g. a single-order comparison on a listwise ranker).
    #[error("{what} needs a {needs} checkpoint; this one is a {found}")]
    Unsupported {
        /// The request.
        what: &'static str,
        /// The ranker type that can serve it.
        needs: &'static str,
        /// The loaded ranker type.
        found: &'static str,
    },
}

impl EvalError {
    /// Wraps a metrics error with the item it happened at.
    pub(crate) fn at_item(index: usize, id: &str, source: MetricsError) -> Self {
        EvalError::AtItem {
            index,
            id: id.to_owned(),
            source,
        }
    }

    /// Wraps any model or tokenizer error raised while scoring.
    pub fn scorer(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        EvalError::Scorer {
            context: context.into(),
            source: Box::new(source),
        }
    }

    /// The error and its causes on one line, `outer: inner: …` (what another rank is told).
    pub fn chain_line(&self) -> String {
        let mut line = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            line.push_str(": ");
            line.push_str(&cause.to_string());
            source = cause.source();
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_line_joins_the_causes() {
        let err = EvalError::at_item(
            3,
            "x/1",
            MetricsError::UnknownModel {
                key: "a,q".into(),
                model: "q".into(),
            },
        );
        assert_eq!(err.to_string(), r#"item 3 (id "x/1")"#);
        assert_eq!(
            err.chain_line(),
            r#"item 3 (id "x/1"): cmp_results key 'a,q': model 'q' is not among the candidates"#
        );
    }
}
