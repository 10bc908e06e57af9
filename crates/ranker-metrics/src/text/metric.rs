//! The text metrics by name, as the CLI and configs spell them.

use std::fmt;
use std::str::FromStr;

use super::rouge::RougeType;
use crate::MetricsError;

/// One supported text metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TextMetric {
    /// ROUGE-1 F-measure in `[0, 1]`.
    Rouge1,
    /// ROUGE-2 F-measure in `[0, 1]`.
    Rouge2,
    /// ROUGE-L F-measure in `[0, 1]`.
    RougeL,
    /// ROUGE-Lsum F-measure in `[0, 1]` (lines are the summary's sentences).
    RougeLsum,
    /// sacrebleu sentence BLEU in `[0, 100]`.
    Bleu,
}

/// The names [`TextMetric::from_str`] accepts, for error messages.
const SUPPORTED: &str = "rouge1, rouge2, rougeL, rougeLsum, bleu";

impl TextMetric {
    /// Every metric, in the canonical output order.
    pub const ALL: [TextMetric; 5] = [
        TextMetric::Rouge1,
        TextMetric::Rouge2,
        TextMetric::RougeL,
        TextMetric::RougeLsum,
        TextMetric::Bleu,
    ];

    /// The name used in data files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TextMetric::Rouge1 => "rouge1",
            TextMetric::Rouge2 => "rouge2",
            TextMetric::RougeL => "rougeL",
            TextMetric::RougeLsum => "rougeLsum",
            TextMetric::Bleu => "bleu",
        }
    }

    /// The ROUGE variant, or `None` for BLEU.
    pub fn rouge_type(self) -> Option<RougeType> {
        match self {
            TextMetric::Rouge1 => Some(RougeType::Rouge1),
            TextMetric::Rouge2 => Some(RougeType::Rouge2),
            TextMetric::RougeL => Some(RougeType::RougeL),
            TextMetric::RougeLsum => Some(RougeType::RougeLsum),
            TextMetric::Bleu => None,
        }
    }

    /// Parses a comma-separated list such as `"rouge1,rouge2,bleu"` (spaces around names
    /// are allowed). Unknown and repeated names are errors, and so is an empty list.
    pub fn parse_list(list: &str) -> Result<Vec<TextMetric>, MetricsError> {
        let mut metrics = Vec::new();
        for name in list.split(',').map(str::trim) {
            let metric: TextMetric = name.parse()?;
            if metrics.contains(&metric) {
                return Err(MetricsError::DuplicateTextMetric {
                    name: metric.name(),
                });
            }
            metrics.push(metric);
        }
        Ok(metrics)
    }
}

impl FromStr for TextMetric {
    type Err = MetricsError;

    /// Exact, case-sensitive names: `rouge1`, `rouge2`, `rougeL`, `rougeLsum`, `bleu`.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        TextMetric::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| MetricsError::UnknownTextMetric {
                name: name.to_owned(),
                supported: SUPPORTED,
            })
    }
}

impl fmt::Display for TextMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for TextMetric {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for TextMetric {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for metric in TextMetric::ALL {
            assert_eq!(metric.name().parse::<TextMetric>().unwrap(), metric);
            assert_eq!(metric.to_string(), metric.name());
        }
    }

    #[test]
    fn unknown_names_list_the_supported_ones() {
        let err = "rougeLSum".parse::<TextMetric>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown text metric 'rougeLSum' (supported: rouge1, rouge2, rougeL, rougeLsum, bleu)"
        );
    }

    #[test]
    fn parses_lists() {
        assert_eq!(
            TextMetric::parse_list("rouge1, bleu,rougeL").unwrap(),
            [TextMetric::Rouge1, TextMetric::Bleu, TextMetric::RougeL]
        );
        assert!(matches!(
            TextMetric::parse_list("bleu,bleu"),
            Err(MetricsError::DuplicateTextMetric { name: "bleu" })
        ));
        assert!(matches!(
            TextMetric::parse_list(""),
            Err(MetricsError::UnknownTextMetric { .. })
        ));
    }
}
