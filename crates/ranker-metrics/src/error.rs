//! The crate's one error type.

/// Everything that can go wrong in `ranker-metrics`. Messages name the offending metric,
/// key, row or example index; callers add the file and line they read it from.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// A metric name that is not one of the supported text metrics.
    #[error("unknown text metric '{name}' (supported: {supported})")]
    UnknownTextMetric {
        /// The name as given.
        name: String,
        /// The supported names, comma-separated.
        supported: &'static str,
    },
    /// The same text metric was requested twice.
    #[error("text metric '{name}' is listed more than once")]
    DuplicateTextMetric {
        /// The repeated name.
        name: &'static str,
    },
    /// A scorer was asked for no metrics at all.
    #[error("no text metrics requested")]
    NoTextMetrics,
    /// A prediction came with an empty list of references.
    #[error("no references given (at least one is needed)")]
    NoReferences,
    /// References prepared by one scorer were used with a scorer for other metrics.
    #[error(
        "references were prepared for metrics [{prepared}] but this scorer computes [{scorer}]"
    )]
    PreparedForOtherMetrics {
        /// The metrics the references were prepared for.
        prepared: String,
        /// The metrics of the scorer they were used with.
        scorer: String,
    },
    /// Corpus BLEU got a different number of hypotheses and reference lists.
    #[error("corpus BLEU: {hypotheses} hypotheses but {references} reference lists")]
    CorpusLengthMismatch {
        /// Number of hypotheses.
        hypotheses: usize,
        /// Number of per-segment reference lists.
        references: usize,
    },
    /// A segment of a corpus has no reference.
    #[error("corpus BLEU: segment {segment} has no references")]
    SegmentWithoutReferences {
        /// Zero-based segment index.
        segment: usize,
    },
    /// The ROUGE backend rejected its configuration.
    #[error("configuring the ROUGE scorer")]
    Rouge(#[source] rougers::Error),
    /// A `cmp_results` key that is not of the form `"modelA,modelB"`.
    #[error("cmp_results key '{key}': expected \"modelA,modelB\"")]
    MalformedPairKey {
        /// The key as given.
        key: String,
    },
    /// A `cmp_results` value that is not one of the four verdicts.
    #[error(
        "cmp_results key '{key}': unknown verdict '{verdict}' (expected \"A is better\", \
         \"B is better\", \"Same good\" or \"Same bad\")"
    )]
    UnknownVerdict {
        /// The key whose value is wrong.
        key: String,
        /// The value as given.
        verdict: String,
    },
    /// The same `"modelA,modelB"` key appears twice.
    #[error("cmp_results key '{key}' appears more than once")]
    DuplicatePairKey {
        /// The repeated key.
        key: String,
    },
    /// A `cmp_results` key names a model that is not among the candidates.
    #[error("cmp_results key '{key}': model '{model}' is not among the candidates")]
    UnknownModel {
        /// The key naming the model.
        key: String,
        /// The model missing from the candidate list.
        model: String,
    },
    /// A model is listed twice among the candidates of one example.
    #[error("candidate model '{model}' is listed more than once")]
    DuplicateModel {
        /// The repeated model name.
        model: String,
    },
    /// No verdict exists for a pair of models that a metric needs.
    #[error("cmp_results has no verdict for models '{model}' and '{opponent}'")]
    MissingVerdict {
        /// The model whose result was asked for.
        model: String,
        /// Its opponent.
        opponent: String,
    },
    /// `"A,B"` and `"B,A"` are both present and disagree.
    #[error("cmp_results keys '{model},{opponent}' and '{opponent},{model}' disagree")]
    ConflictingVerdicts {
        /// One model of the pair.
        model: String,
        /// The other.
        opponent: String,
    },
    /// A score that cannot be ranked.
    #[error("{what}: value {index} is NaN")]
    NanScore {
        /// What the values are.
        what: &'static str,
        /// Zero-based index of the NaN.
        index: usize,
    },
    /// Matrix data whose length does not match its shape, or ragged rows.
    #[error("{what}: {detail}")]
    BadShape {
        /// What the matrix is.
        what: &'static str,
        /// The mismatch, spelled out.
        detail: String,
    },
    /// An index into a row that is out of range.
    #[error("{what}: example {example} selects candidate {index} but has {len} candidates")]
    IndexOutOfRange {
        /// What the index selects.
        what: &'static str,
        /// Zero-based example index.
        example: usize,
        /// The index as given.
        index: usize,
        /// Number of candidates in that example.
        len: usize,
    },
    /// An aggregate over zero examples.
    #[error("{what}: no examples")]
    NoExamples {
        /// What was being aggregated.
        what: &'static str,
    },
    /// A metric failed on one example of a batch.
    #[error("example {example}")]
    AtExample {
        /// Zero-based example index.
        example: usize,
        /// What went wrong there.
        #[source]
        source: Box<MetricsError>,
    },
}

impl MetricsError {
    /// Wraps an error with the index of the example it happened in.
    pub(crate) fn at_example(self, example: usize) -> MetricsError {
        MetricsError::AtExample {
            example,
            source: Box::new(self),
        }
    }
}
