//! `ranker score`: ROUGE / BLEU for JSONL pairs, in parallel, output in input order.

use std::io::Write;

use anyhow::{anyhow, Context};
use ranker_metrics::{ScoreRequest, TextMetric, TextScorer};
use rayon::prelude::*;

use crate::args::ScoreArgs;
use crate::io::{input_name, open_input, LineChunks, Output};
use crate::progress::Progress;

/// Lines scored per parallel chunk.
const CHUNK_LINES: usize = 8192;

pub(crate) fn run(args: ScoreArgs, quiet: bool) -> anyhow::Result<()> {
    let metrics = TextMetric::parse_list(&args.metrics).context("--metrics")?;
    let scorer = TextScorer::new(&metrics)?;
    let name = input_name(&args.input);
    let mut lines = LineChunks::new(open_input(&args.input)?, CHUNK_LINES);
    let mut output = Output::create(args.output.as_deref())?;
    let progress = Progress::new("pairs scored", None, quiet);
    let mut done = 0;
    loop {
        let chunk = lines
            .next_chunk()
            .with_context(|| format!("reading {name}"))?;
        if chunk.is_empty() {
            break;
        }
        let scored: Vec<anyhow::Result<String>> = chunk
            .par_iter()
            .map(|(line_no, line)| {
                score_line(&scorer, line).map_err(|e| anyhow!("{name}:{line_no}: {e}"))
            })
            .collect();
        for result in scored {
            writeln!(output, "{}", result?)?;
        }
        done += chunk.len();
        progress.set(done);
    }
    output.finish()?;
    progress.finish(done);
    Ok(())
}

fn score_line(scorer: &TextScorer, line: &str) -> anyhow::Result<String> {
    let request: ScoreRequest = serde_json::from_str(line)?;
    let scores = scorer.score(&request.prediction, request.reference.as_slice())?;
    Ok(serde_json::to_string(&scores)?)
}
