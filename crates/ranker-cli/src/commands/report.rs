//! `ranker report RUN… --output TABLE.md [--plot CHART.png]`.

use std::io::Write as _;

use anyhow::Context;
use ranker_eval::report::{compare_runs, comparison_chart, CompareOptions, RunReport};

use crate::args::ReportArgs;

pub(crate) fn run(args: ReportArgs) -> anyhow::Result<()> {
    let runs = args
        .inputs
        .iter()
        .map(|p| RunReport::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    let options = CompareOptions {
        with_llms: args.with_llms,
        opponents: args.vs,
    };
    let table = compare_runs(&runs, &options)?;
    let mut file = ranker_data::atomic::AtomicFile::create(&args.output)?;
    file.write_all(table.as_bytes())
        .with_context(|| format!("{}: cannot write", args.output.display()))?;
    file.commit()?;
    print!("{table}");
    tracing::info!("wrote {}", args.output.display());
    if let Some(plot) = &args.plot {
        comparison_chart(&runs, plot)?;
        tracing::info!("wrote {}", plot.display());
    }
    Ok(())
}
