//! The model endpoints: each one's path and how its query string and body become [`Work`] for the model thread.
//! The HTTP side ([`crate::http`]) treats them all alike.

use ranker_eval::reward::{CompareConversationsInput, CompareInput, CompareOrder, RankInput};

use crate::request::{self, BadRequest, Work};

/// A `POST` endpoint that queues work for the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Rank,
    Compare,
    CompareConversations,
    BestOfN,
    WorstOfN,
}

/// What the server needs to know about its checkpoint to validate a request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ModelKind {
    /// `pairranker`, `summareranker` or `simcls`.
    pub ranker_type: &'static str,
    /// Whether the checkpoint compares pairs (PairRanker) rather than scoring candidates one by one.
    pub pairwise: bool,
}

impl Endpoint {
    /// Every model endpoint, in the order the 404 message lists them.
    pub const ALL: [Endpoint; 5] = [
        Endpoint::Rank,
        Endpoint::Compare,
        Endpoint::CompareConversations,
        Endpoint::BestOfN,
        Endpoint::WorstOfN,
    ];

    /// The route, also the `endpoint` label of the request metrics.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Rank => "/rank",
            Endpoint::Compare => "/compare",
            Endpoint::CompareConversations => "/compare-conversations",
            Endpoint::BestOfN => "/best-of-n",
            Endpoint::WorstOfN => "/worst-of-n",
        }
    }

    /// Validates the query string and the body; returns the work and whether the body was a list (the answer
    /// then is a list too).
    pub fn parse(
        self,
        model: ModelKind,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<(Work, bool), BadRequest> {
        match self {
            Endpoint::Rank => {
                request::query_options(query, &[])?;
                let (inputs, is_list) = request::parse_items::<RankInput>(body)?;
                request::check_candidates(&inputs, is_list)?;
                Ok((Work::Rank(inputs), is_list))
            }
            Endpoint::Compare => {
                let order = compare_order(model, query)?;
                let (inputs, is_list) = request::parse_items::<CompareInput>(body)?;
                Ok((Work::Compare(inputs, order), is_list))
            }
            Endpoint::CompareConversations => {
                let order = compare_order(model, query)?;
                let (inputs, is_list) = request::parse_items::<CompareConversationsInput>(body)?;
                let pairs = request::conversations(&inputs, is_list)?;
                Ok((Work::Compare(pairs, order), is_list))
            }
            Endpoint::BestOfN => select(query, body, false),
            Endpoint::WorstOfN => select(query, body, true),
        }
    }
}

/// `?order=`; a single order needs a pairwise checkpoint.
fn compare_order(model: ModelKind, query: Option<&str>) -> Result<CompareOrder, BadRequest> {
    let order = request::compare_order(query)?;
    if !model.pairwise && order != CompareOrder::Both {
        return Err(BadRequest(format!(
            "query order: a single order needs a pairranker checkpoint; this one is a {}",
            model.ranker_type
        )));
    }
    Ok(order)
}

/// `/best-of-n` and `/worst-of-n`.
fn select(query: Option<&str>, body: &[u8], worst: bool) -> Result<(Work, bool), BadRequest> {
    let (mode, bubble, return_all) = request::best_of_n_options(query, worst)?;
    let (inputs, is_list) = request::parse_items::<RankInput>(body)?;
    request::check_candidates(&inputs, is_list)?;
    Ok((
        Work::BestOfN {
            inputs,
            mode,
            bubble,
            return_all,
        },
        is_list,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTWISE: ModelKind = ModelKind {
        ranker_type: "simcls",
        pairwise: false,
    };
    const PAIRWISE: ModelKind = ModelKind {
        ranker_type: "pairranker",
        pairwise: true,
    };

    #[test]
    fn paths_are_distinct_routes() {
        let paths: std::collections::HashSet<_> = Endpoint::ALL.iter().map(|e| e.path()).collect();
        assert_eq!(paths.len(), Endpoint::ALL.len());
        assert!(paths.iter().all(|p| p.starts_with('/')));
    }

    #[test]
    fn a_single_order_needs_a_pairwise_checkpoint() {
        let body = br#"{"input": "s", "candidate_a": "a", "candidate_b": "b"}"#;
        let err = Endpoint::Compare
            .parse(LISTWISE, Some("order=ab"), body)
            .unwrap_err();
        assert!(err.0.contains("this one is a simcls"), "{}", err.0);
        let (work, is_list) = Endpoint::Compare
            .parse(PAIRWISE, Some("order=ab"), body)
            .unwrap();
        assert!(!is_list);
        assert!(matches!(work, Work::Compare(inputs, CompareOrder::AB) if inputs.len() == 1));
    }

    #[test]
    fn worst_of_n_selects_the_worst() {
        let body = br#"[{"input": "s", "candidates": ["a", "b", "c"]}]"#;
        let (best, _) = Endpoint::BestOfN.parse(PAIRWISE, None, body).unwrap();
        let (worst, is_list) = Endpoint::WorstOfN.parse(PAIRWISE, None, body).unwrap();
        assert!(is_list);
        use ranker_eval::BubbleTarget;
        assert!(
            matches!(best, Work::BestOfN { bubble, .. } if bubble.target == BubbleTarget::Best)
        );
        assert!(
            matches!(worst, Work::BestOfN { bubble, .. } if bubble.target == BubbleTarget::Worst)
        );
    }
}
