//! `ranker train CONFIG --dry-run [--strict] [--world-size N]`: the plan, without training.

use anyhow::Context;
use ranker_train::config::Config;
use ranker_train::plan::{plan, InputSurvey};

use crate::args::TrainArgs;

pub(crate) fn run(config: &Config, args: &TrainArgs) -> anyhow::Result<()> {
    let world = match args.world_size {
        Some(n) => n as usize,
        None => match std::env::var("WORLD_SIZE") {
            Ok(v) => v
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .with_context(|| format!("WORLD_SIZE={v}: not a positive integer"))?,
            Err(_) => 1,
        },
    };
    let survey = InputSurvey::inspect(config)
        .with_context(|| format!("{}: checking inputs", args.config.config.display()))?;
    let plan = plan(config, world, &survey);
    println!("{}: valid", args.config.config.display());
    println!("{plan}");
    for missing in &plan.missing {
        eprintln!("warning: missing input: {missing}");
    }
    if args.strict && !plan.missing.is_empty() {
        anyhow::bail!(
            "--strict: {} input(s) missing (listed above)",
            plan.missing.len()
        );
    }
    Ok(())
}
