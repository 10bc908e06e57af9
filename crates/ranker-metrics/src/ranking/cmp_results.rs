//! ChatGPT pairwise judgements (`cmp_results` of MixInstruct's test split):
//! `{"modelA,modelB": "A is better" | "B is better" | "Same good" | "Same bad"}`.
//!
//! "A" and "B" refer to the order of the models in the key. Whether the field arrives as
//! a JSON string or an object is the data layer's business; this module types the object.

use std::collections::BTreeMap;
use std::fmt;

use crate::MetricsError;

/// One judgement of a pair `"modelA,modelB"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// `"A is better"`: the first model of the key wins.
    ABetter,
    /// `"B is better"`: the second model of the key wins.
    BBetter,
    /// `"Same good"`: a tie between two good answers.
    SameGood,
    /// `"Same bad"`: a tie between two bad answers.
    SameBad,
}

impl Verdict {
    /// Every verdict.
    pub const ALL: [Verdict; 4] = [
        Verdict::ABetter,
        Verdict::BBetter,
        Verdict::SameGood,
        Verdict::SameBad,
    ];

    /// The string used in the data.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::ABetter => "A is better",
            Verdict::BBetter => "B is better",
            Verdict::SameGood => "Same good",
            Verdict::SameBad => "Same bad",
        }
    }

    /// Parses the exact data string; `key` is only used to name the pair in the error.
    pub fn parse(value: &str, key: &str) -> Result<Verdict, MetricsError> {
        Verdict::ALL
            .into_iter()
            .find(|v| v.as_str() == value)
            .ok_or_else(|| MetricsError::UnknownVerdict {
                key: key.to_owned(),
                verdict: value.to_owned(),
            })
    }

    /// What the verdict is worth to the first model of the key when counting beats
    /// (LLM-Blender issue #6): a win 1, "Same good" 0.5, a loss or "Same bad" 0.
    pub fn value_for_a(self) -> f64 {
        match self {
            Verdict::ABetter => 1.0,
            Verdict::BBetter | Verdict::SameBad => 0.0,
            Verdict::SameGood => 0.5,
        }
    }

    /// What the verdict is worth to the second model of the key (see [`Self::value_for_a`]).
    pub fn value_for_b(self) -> f64 {
        match self {
            Verdict::BBetter => 1.0,
            Verdict::ABetter | Verdict::SameBad => 0.0,
            Verdict::SameGood => 0.5,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The judgements of one example, keyed by `(model_a, model_b)` in key order.
///
/// A key must contain exactly one comma with a non-empty model name on each side (the
/// reference splits on commas and would silently ignore a third part). Model names are
/// matched exactly, without trimming.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CmpResults {
    verdicts: BTreeMap<(String, String), Verdict>,
}

impl CmpResults {
    /// No judgements.
    pub fn new() -> Self {
        CmpResults::default()
    }

    /// Parses `("modelA,modelB", verdict)` entries; errors name the offending key.
    /// A repeated key is an error.
    pub fn from_entries<I, K, V>(entries: I) -> Result<Self, MetricsError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut results = CmpResults::new();
        for (key, value) in entries {
            let key = key.as_ref();
            let (model_a, model_b) = split_key(key)?;
            let verdict = Verdict::parse(value.as_ref(), key)?;
            if results
                .verdicts
                .insert((model_a.to_owned(), model_b.to_owned()), verdict)
                .is_some()
            {
                return Err(MetricsError::DuplicatePairKey {
                    key: key.to_owned(),
                });
            }
        }
        Ok(results)
    }

    /// Records a judgement, replacing any earlier one for the same ordered pair.
    pub fn insert(&mut self, model_a: &str, model_b: &str, verdict: Verdict) {
        self.verdicts
            .insert((model_a.to_owned(), model_b.to_owned()), verdict);
    }

    /// The verdict stored under the key `"model_a,model_b"` (this order only).
    pub fn get(&self, model_a: &str, model_b: &str) -> Option<Verdict> {
        // BTreeMap<(String, String), _> cannot be queried by (&str, &str) without owning.
        self.verdicts
            .get(&(model_a.to_owned(), model_b.to_owned()))
            .copied()
    }

    /// `(model_a, model_b, verdict)` for every key, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, Verdict)> + '_ {
        self.verdicts
            .iter()
            .map(|((a, b), &v)| (a.as_str(), b.as_str(), v))
    }

    /// Number of judged ordered pairs.
    pub fn len(&self) -> usize {
        self.verdicts.len()
    }

    /// Whether there are no judgements.
    pub fn is_empty(&self) -> bool {
        self.verdicts.is_empty()
    }

    /// What the judgements are worth to `model` against `opponent` when counting beats
    /// (≥X %): 1 for a win, 0.5 for "Same good" or when both are the same model, 0 for a
    /// loss or "Same bad". The pair may be stored in either order; when both orders are
    /// stored they must agree.
    pub fn beat_value(&self, model: &str, opponent: &str) -> Result<f64, MetricsError> {
        if model == opponent {
            return Ok(0.5);
        }
        let as_a = self.get(model, opponent).map(Verdict::value_for_a);
        let as_b = self.get(opponent, model).map(Verdict::value_for_b);
        match (as_a, as_b) {
            (Some(a), Some(b)) if a != b => Err(MetricsError::ConflictingVerdicts {
                model: model.to_owned(),
                opponent: opponent.to_owned(),
            }),
            (Some(value), _) | (None, Some(value)) => Ok(value),
            (None, None) => Err(MetricsError::MissingVerdict {
                model: model.to_owned(),
                opponent: opponent.to_owned(),
            }),
        }
    }
}

fn split_key(key: &str) -> Result<(&str, &str), MetricsError> {
    match key.split_once(',') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() && !b.contains(',') => Ok((a, b)),
        _ => Err(MetricsError::MalformedPairKey {
            key: key.to_owned(),
        }),
    }
}

impl serde::Serialize for CmpResults {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.verdicts.len()))?;
        for ((a, b), verdict) in &self.verdicts {
            map.serialize_entry(&format!("{a},{b}"), verdict.as_str())?;
        }
        map.end()
    }
}

impl<'de> serde::Deserialize<'de> for CmpResults {
    /// Reads the object form `{"modelA,modelB": "A is better", …}`.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = CmpResults;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object mapping \"modelA,modelB\" to a verdict string")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<CmpResults, A::Error> {
                let mut entries: Vec<(String, String)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, String>()? {
                    entries.push((key, value));
                }
                CmpResults::from_entries(entries).map_err(serde::de::Error::custom)
            }
        }

        deserializer.deserialize_map(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_verdicts() {
        let cmp = CmpResults::from_entries([("a,b", "A is better"), ("c,a", "Same bad")]).unwrap();
        assert_eq!(cmp.get("a", "b"), Some(Verdict::ABetter));
        assert_eq!(cmp.get("b", "a"), None);
        assert_eq!(cmp.len(), 2);
    }

    #[test]
    fn errors_name_the_key() {
        let err = CmpResults::from_entries([("a,b", "A is better!")]).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("cmp_results key 'a,b': unknown verdict 'A is better!'"));
        for key in ["ab", "a,b,c", ",b", "a,"] {
            let err = CmpResults::from_entries([(key, "Same good")]).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("cmp_results key '{key}': expected \"modelA,modelB\"")
            );
        }
        let err =
            CmpResults::from_entries([("a,b", "Same good"), ("a,b", "Same bad")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cmp_results key 'a,b' appears more than once"
        );
    }

    #[test]
    fn beat_values_follow_key_order() {
        let cmp = CmpResults::from_entries([
            ("x,v", "A is better"),
            ("v,y", "A is better"),
            ("z,v", "Same good"),
            ("v,w", "Same bad"),
        ])
        .unwrap();
        assert_eq!(cmp.beat_value("x", "v").unwrap(), 1.0);
        assert_eq!(cmp.beat_value("y", "v").unwrap(), 0.0);
        assert_eq!(cmp.beat_value("z", "v").unwrap(), 0.5);
        assert_eq!(cmp.beat_value("w", "v").unwrap(), 0.0);
        assert_eq!(cmp.beat_value("v", "v").unwrap(), 0.5);
        let err = cmp.beat_value("q", "v").unwrap_err();
        assert_eq!(
            err.to_string(),
            "cmp_results has no verdict for models 'q' and 'v'"
        );
    }

    #[test]
    fn both_orders_must_agree() {
        let agree =
            CmpResults::from_entries([("a,b", "A is better"), ("b,a", "B is better")]).unwrap();
        assert_eq!(agree.beat_value("a", "b").unwrap(), 1.0);
        let disagree =
            CmpResults::from_entries([("a,b", "A is better"), ("b,a", "A is better")]).unwrap();
        assert!(matches!(
            disagree.beat_value("a", "b"),
            Err(MetricsError::ConflictingVerdicts { .. })
        ));
    }

    #[test]
    fn round_trips_through_json() {
        let json = r#"{"a,b":"A is better","b,c":"Same good"}"#;
        let cmp: CmpResults = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&cmp).unwrap(), json);
        let err = serde_json::from_str::<CmpResults>(r#"{"a,b":"tie"}"#).unwrap_err();
        assert!(err
            .to_string()
            .contains("cmp_results key 'a,b': unknown verdict 'tie'"));
    }
}
