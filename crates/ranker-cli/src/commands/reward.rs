//! `ranker rank | compare | compare-conversations | rank-with-ref | best-of-n | worst-of-n`: a trained ranker
//! as a reward model over JSONL streams (stdin → stdout by default), batched across lines.

use std::io::Write;

use anyhow::{anyhow, Context};
use burn::tensor::backend::Backend;
use ranker_eval::reward::{
    for_each_chunk, CompareConversationsInput, CompareInput, CompareOrder, RankInput, RefMode,
    RewardModel, SelectMode,
};
use ranker_eval::{BatchOptions, BubbleOptions, BubbleTarget, InferenceStats};
use ranker_train::worker::Device;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::args::{
    BestOfNArgs, CompareArgs, ModelArgs, OrderArg, RankArgs, RankWithRefArgs, RewardModelArgs,
    SelectModeArg,
};
use crate::device::on_device;
use crate::io::{input_name, open_input, LineChunks, Output};

/// Lines handed to the model at once (their comparisons share batches).
const CHUNK_LINES: usize = 64;

pub(crate) fn rank(args: RankArgs) -> anyhow::Result<()> {
    on_device!(placement(&args.common.model)?, B, dev => stream::<B, _, _, _>(
        &args.common,
        &dev,
        |model, first, lines: Vec<RankInput>, batch, stats| model.rank(first, &lines, batch, stats),
    ))
}

pub(crate) fn compare(args: CompareArgs) -> anyhow::Result<()> {
    let order = compare_order(args.order);
    on_device!(placement(&args.common.model)?, B, dev => stream::<B, _, _, _>(
        &args.common,
        &dev,
        |model, first, lines: Vec<CompareInput>, batch, stats| {
            model.compare(first, &lines, order, batch, stats)
        },
    ))
}

pub(crate) fn compare_conversations(args: CompareArgs) -> anyhow::Result<()> {
    let order = compare_order(args.order);
    on_device!(placement(&args.common.model)?, B, dev => stream::<B, _, _, _>(
        &args.common,
        &dev,
        |model, first, lines: Vec<CompareConversationsInput>, batch, stats| {
            let pairs = lines
                .iter()
                .enumerate()
                .map(|(i, c)| c.to_compare_input(first + i))
                .collect::<Result<Vec<_>, _>>()?;
            model.compare(first, &pairs, order, batch, stats)
        },
    ))
}

pub(crate) fn rank_with_ref(args: RankWithRefArgs) -> anyhow::Result<()> {
    let mode: RefMode = args.ref_mode.parse().context("--ref-mode")?;
    on_device!(placement(&args.common.model)?, B, dev => stream::<B, _, _, _>(
        &args.common,
        &dev,
        |model, first, lines: Vec<RankInput>, batch, stats| {
            model.rank_with_ref(first, &lines, mode, batch, stats)
        },
    ))
}

pub(crate) fn best_of_n(args: BestOfNArgs, worst: bool) -> anyhow::Result<()> {
    let bubble = BubbleOptions {
        num_runs: 1,
        seed: args.seed,
        round: 0,
        target: if worst || args.worst {
            BubbleTarget::Worst
        } else {
            BubbleTarget::Best
        },
    };
    let mode = select_mode(args.mode);
    let return_all = args.return_all;
    on_device!(placement(&args.common.model)?, B, dev => stream::<B, _, _, _>(
        &args.common,
        &dev,
        |model, first, lines: Vec<RankInput>, batch, stats| {
            model.best_of_n(first, &lines, mode, &bubble, return_all, batch, stats)
        },
    ))
}

pub(crate) fn compare_order(order: OrderArg) -> CompareOrder {
    match order {
        OrderArg::Both => CompareOrder::Both,
        OrderArg::Ab => CompareOrder::AB,
        OrderArg::Ba => CompareOrder::BA,
    }
}

pub(crate) fn select_mode(mode: SelectModeArg) -> SelectMode {
    match mode {
        SelectModeArg::Full => SelectMode::Full,
        SelectModeArg::Bubble => SelectMode::Bubble,
    }
}

/// Loads the model, then reads `args.input` a chunk of lines at a time, runs `process` on each
/// chunk and writes one output line per input line, in order.
fn stream<B, I, O, F>(
    args: &RewardModelArgs,
    device: &B::Device,
    mut process: F,
) -> anyhow::Result<()>
where
    B: Backend,
    I: DeserializeOwned,
    O: Serialize,
    F: FnMut(
        &mut RewardModel<B>,
        usize,
        Vec<I>,
        &BatchOptions,
        &mut InferenceStats,
    ) -> Result<Vec<O>, ranker_eval::EvalError>,
{
    let mut model = load::<B>(&args.model, device)?;
    let batch = BatchOptions::with_batch_size(args.batch_size);
    batch.validate().context("--batch-size")?;
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
        let outputs = process(&mut model, first, chunk, &batch, &mut stats)
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

/// The device `args` asks for, after checking that its backend computes in the asked precision.
pub(crate) fn placement(args: &ModelArgs) -> anyhow::Result<Device> {
    let device = crate::device::resolve(args.device)?;
    if let Some(dtype) = args.precision.compute_dtype() {
        let supported = on_device!(device, B, dev => B::supports_dtype(&dev, dtype.into()));
        if !supported {
            anyhow::bail!(
                "--precision {}: the {device:?} backend of this build cannot compute in it; use --precision fp32",
                args.precision.as_str()
            );
        }
    }
    Ok(device)
}

/// Loads the checkpoint `args` names as the ranker type it declares.
pub(crate) fn load<B: Backend>(
    args: &ModelArgs,
    device: &B::Device,
) -> anyhow::Result<RewardModel<B>> {
    let lengths = match (args.source_max_len, args.candidate_max_len) {
        (Some(s), Some(c)) => Some((s, c)),
        (None, None) => None,
        _ => anyhow::bail!("--source-max-len and --candidate-max-len go together"),
    };
    let model = RewardModel::<B>::load(
        &args.model,
        args.base_model.as_deref(),
        lengths,
        device.clone(),
    )
    .with_context(|| format!("loading {}", args.model.display()))?;
    let model = match args.precision.compute_dtype() {
        Some(dtype) => model.with_compute_dtype(dtype, device)?,
        None => model,
    };
    tracing::info!(
        "loaded a {} from {}",
        model.ranker_type(),
        args.model.display()
    );
    Ok(model)
}
