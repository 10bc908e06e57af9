//! `ranker data synth | stats | score | convert | prepare`.

use std::fmt::Write as _;

use anyhow::Context;
use ranker_data::{synth_file, DataStats, Dataset, LoadOptions, SynthOptions};
use ranker_metrics::{TextMetric, TextScorer};

use crate::args::{ConvertArgs, ConvertFrom, DataScoreArgs, PrepareArgs, StatsArgs, SynthArgs};
use crate::progress::Progress;

pub(crate) fn synth(args: SynthArgs, quiet: bool) -> anyhow::Result<()> {
    let options = SynthOptions {
        n_items: args.items,
        n_candidates: args.candidates,
        seed: args.seed,
        cmp_fraction: args.cmp_fraction,
        ..SynthOptions::default()
    };
    let progress = Progress::new("items written", Some(args.items as u64), quiet);
    let n = synth_file(&args.output, options, &|done| progress.set(done))?;
    progress.finish(n);
    tracing::info!("wrote {n} synthetic items to {}", args.output.display());
    Ok(())
}

pub(crate) fn stats(args: StatsArgs) -> anyhow::Result<()> {
    let metrics = match &args.metrics {
        Some(list) => list.split(',').map(|m| m.trim().to_string()).collect(),
        None => Vec::new(),
    };
    let options = LoadOptions {
        metrics,
        apply_metric_weights: args.weighted,
        ..LoadOptions::default()
    };
    let dataset = Dataset::load(&args.input, &options)?;
    let stats = DataStats::of(&dataset);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        print!("{}", stats_table(&stats));
    }
    Ok(())
}

fn stats_table(stats: &DataStats) -> String {
    let mut out = String::new();
    let scale = if stats.weighted { "weighted" } else { "raw" };
    let _ = writeln!(
        out,
        "{} examples, {} candidates ({}–{} per example), {scale} scores",
        stats.n_examples, stats.n_candidates, stats.min_candidates, stats.max_candidates
    );
    let header: String = stats.metrics.iter().map(|m| format!("{m:>11}")).collect();
    let row = |label: &str, values: &[f64]| -> String {
        let cells: String = values.iter().map(|v| format!("{v:>11.4}")).collect();
        format!("{label:<24}{cells}\n")
    };
    let _ = writeln!(out, "\n{:<24}{header}", "");
    out += &row("oracle (best per item)", &stats.oracle);
    out += &row("mean (all candidates)", &stats.mean);
    let _ = writeln!(out, "\n{:<24}{header}", "by position");
    for group in &stats.by_position {
        out += &row(
            &format!("  {} (n={})", group.name, group.count),
            &group.mean,
        );
    }
    let _ = writeln!(out, "\n{:<24}{header}", "by model");
    for group in &stats.by_model {
        out += &row(&format!("  {}", group.name), &group.mean);
    }
    out
}

pub(crate) fn score(args: DataScoreArgs, quiet: bool) -> anyhow::Result<()> {
    let metrics = TextMetric::parse_list(&args.metrics).context("--metrics")?;
    let scorer = TextScorer::new(&metrics)?;
    let total = ranker_data::count_items(&args.input)?;
    let progress = Progress::new("items scored", Some(total as u64), quiet);
    let n = ranker_data::rescore_file(&args.input, &args.output, &scorer, &|done| {
        progress.set(done)
    })?;
    progress.finish(n);
    tracing::info!("rescored {n} items into {}", args.output.display());
    Ok(())
}

pub(crate) fn convert(args: ConvertArgs, quiet: bool) -> anyhow::Result<()> {
    match args.from {
        ConvertFrom::Pairs => {
            let options = ranker_data::PairConvertOptions {
                metric: args.metric,
                seed: args.seed,
            };
            let progress = Progress::new("rows read", None, quiet);
            let summary =
                ranker_data::convert_pairs_file(&args.input, &args.output, &options, &|done| {
                    progress.set(done)
                })?;
            progress.finish(summary.written + summary.identical);
            tracing::info!(
                "wrote {} items (two candidates each, `{}` 1 / 0) to {}",
                summary.written,
                options.metric,
                args.output.display()
            );
            if summary.identical > 0 {
                tracing::warn!(
                    "skipped {} row(s) whose chosen and rejected responses are identical",
                    summary.identical
                );
            }
        }
    }
    Ok(())
}

pub(crate) fn prepare(args: PrepareArgs, quiet: bool) -> anyhow::Result<()> {
    let out_dir = args
        .output_dir
        .as_deref()
        .unwrap_or(args.data_dir.as_path());
    for set in &args.sets {
        let output = out_dir.join(format!("{set}_data_prepared.json"));
        let progress = Progress::new("candidate files merged", None, quiet);
        let summary =
            ranker_data::prepare_split(&args.data_dir, set, &output, &|done| progress.set(done))?;
        progress.finish(summary.sources.len());
        tracing::info!(
            "{set}: {} items with candidates from {} file(s) ({}) → {}",
            summary.items,
            summary.sources.len(),
            summary
                .sources
                .iter()
                .map(|(method, model)| format!("{method}/{model}"))
                .collect::<Vec<_>>()
                .join(", "),
            output.display()
        );
    }
    Ok(())
}
