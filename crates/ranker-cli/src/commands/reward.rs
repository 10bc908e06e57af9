//! `ranker rank | compare | rank-with-ref | best-of-n`: a trained PairRanker as a reward model over
//! JSONL streams (stdin → stdout by default), batched across lines.

use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, Context};
use burn::backend::Flex;
use ranker_eval::reward::{self, for_each_chunk, CompareInput, RankInput, RefMode};
use ranker_eval::{BatchOptions, BubbleOptions, BubbleTarget, InferenceStats, PairRankerScorer};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::args::{BestOfNArgs, CompareArgs, RankArgs, RankWithRefArgs, RewardModelArgs};
use crate::io::{input_name, open_input, LineChunks, Output};

/// Lines handed to the model at once (their comparisons share batches).
const CHUNK_LINES: usize = 64;

pub(crate) fn rank(args: RankArgs) -> anyhow::Result<()> {
    let c = &args.common;
    stream(c, |scorer, first, lines: Vec<RankInput>, batch, stats| {
        reward::rank(scorer, first, &lines, batch, stats)
    })
}

pub(crate) fn compare(args: CompareArgs) -> anyhow::Result<()> {
    let c = &args.common;
    stream(
        c,
        |scorer, first, lines: Vec<CompareInput>, batch, stats| {
            reward::compare(scorer, first, &lines, batch, stats)
        },
    )
}

pub(crate) fn rank_with_ref(args: RankWithRefArgs) -> anyhow::Result<()> {
    let mode: RefMode = args.ref_mode.parse().context("--ref-mode")?;
    stream(
        &args.common,
        |scorer, first, lines: Vec<RankInput>, batch, stats| {
            reward::rank_with_ref(scorer, first, &lines, mode, batch, stats)
        },
    )
}

pub(crate) fn best_of_n(args: BestOfNArgs) -> anyhow::Result<()> {
    let bubble = BubbleOptions {
        num_runs: 1,
        seed: args.seed,
        round: 0,
        target: if args.worst {
            BubbleTarget::Worst
        } else {
            BubbleTarget::Best
        },
    };
    let return_all = args.return_all;
    stream(
        &args.common,
        |scorer, first, lines: Vec<RankInput>, batch, stats| {
            reward::best_of_n(scorer, first, &lines, &bubble, return_all, batch, stats)
        },
    )
}

type Scorer = PairRankerScorer<Flex>;

/// Loads the model, then reads `args.input` a chunk of lines at a time, runs `process` on each
/// chunk and writes one output line per input line, in order.
fn stream<I, O, F>(args: &RewardModelArgs, mut process: F) -> anyhow::Result<()>
where
    I: DeserializeOwned,
    O: Serialize,
    F: FnMut(
        &mut Scorer,
        usize,
        Vec<I>,
        &BatchOptions,
        &mut InferenceStats,
    ) -> Result<Vec<O>, ranker_eval::EvalError>,
{
    let mut scorer = load(args)?;
    let batch = BatchOptions::with_batch_size(args.batch_size);
    let mut stats = InferenceStats::default();
    let name = input_name(&args.input);
    let mut output = Output::create(args.output.as_deref())?;
    let mut lines = LineChunks::new(open_input(&args.input)?, CHUNK_LINES);
    let parsed = std::iter::from_fn(|| match lines.next_chunk() {
        Ok(chunk) if chunk.is_empty() => None,
        Ok(chunk) => Some(Ok(chunk)),
        Err(e) => Some(Err(anyhow!(e).context(format!("reading {name}")))),
    })
    .flat_map(|chunk: anyhow::Result<Vec<(usize, String)>>| match chunk {
        Ok(chunk) => chunk
            .into_iter()
            .map(|(line_no, line)| {
                serde_json::from_str::<I>(&line).map_err(|e| anyhow!("{name}:{line_no}: {e}"))
            })
            .collect::<Vec<_>>(),
        Err(e) => vec![Err(e)],
    });
    for_each_chunk(parsed, CHUNK_LINES, |first, chunk| {
        let outputs = process(&mut scorer, first, chunk, &batch, &mut stats)
            .map_err(|e| anyhow!("{name}: {e}"))?;
        for out in outputs {
            serde_json::to_writer(&mut output, &out)?;
            output.write_all(b"\n")?;
        }
        Ok(())
    })?;
    output.finish()?;
    tracing::info!(
        "{} comparisons in {:.1}s",
        stats.forwards,
        stats.wall_time.as_secs_f64()
    );
    Ok(())
}

fn load(args: &RewardModelArgs) -> anyhow::Result<Scorer> {
    let lengths = match (args.source_max_len, args.candidate_max_len) {
        (Some(s), Some(c)) => Some((s, c)),
        (None, None) => None,
        _ => anyhow::bail!("--source-max-len and --candidate-max-len go together"),
    };
    PairRankerScorer::<Flex>::from_checkpoint(
        &args.model,
        args.base_model.as_deref().map(Path::new),
        lengths,
        Default::default(),
    )
    .with_context(|| format!("loading {}", args.model.display()))
}
