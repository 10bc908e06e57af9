//! `ranker train`, `ranker eval` and `ranker run`: config → logging → [`Worker`] → print.

use std::io::IsTerminal;

use anyhow::Context;
use ranker_dist::DistEnv;
use ranker_eval::{render_table, EvalOutcome};
use ranker_train::config::{Config, Override, Task};
use ranker_train::run_dir::RunDir;
use ranker_train::worker::{Device, Worker};
use ranker_train::{LogObserver, Resume};

use crate::args::{ConfigArgs, EvalArgs, GlobalArgs, RunArgs, TrainArgs};
use crate::logging::{self, LogSetup};
use crate::progress::TrainProgress;

pub(crate) fn train(args: TrainArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    if args.dry_run {
        let config = load_config(&args.config)?;
        return super::dry_run::run(&config, &args);
    }
    let resume = if args.resume {
        Resume::Required
    } else {
        Resume::Auto
    };
    let config = load_config(&args.config)?;
    run_train(&config, &args.config, resume, global)
}

pub(crate) fn eval(mut args: EvalArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    if let Some(precision) = args.precision {
        args.config
            .overrides
            .push(format!("eval.precision={}", precision.as_str()));
    }
    let config = load_config(&args.config)?;
    let (mut worker, _) = start(&config, &args.config, global, "eval")?;
    let result = worker.evaluate(&config, args.checkpoint.as_deref());
    let rank = worker.rank();
    print_report(rank, &worker.finish(result)?);
    Ok(())
}

pub(crate) fn run(args: RunArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let config = load_config(&args.config)?;
    match config.task {
        Task::Train => run_train(&config, &args.config, Resume::Auto, global),
        Task::Eval => {
            let (mut worker, _) = start(&config, &args.config, global, "eval")?;
            let result = worker.evaluate(&config, None);
            let rank = worker.rank();
            print_report(rank, &worker.finish(result)?);
            Ok(())
        }
    }
}

fn run_train(
    config: &Config,
    args: &ConfigArgs,
    resume: Resume,
    global: &GlobalArgs,
) -> anyhow::Result<()> {
    let (mut worker, progress_bar) = start(config, args, global, "train")?;
    let mut bar;
    let mut log;
    let observer: &mut dyn ranker_train::TrainObserver = if progress_bar {
        bar = TrainProgress::new(global.quiet);
        &mut bar
    } else {
        log = LogObserver::new(config.train.log_every as u64);
        &mut log
    };
    let result = worker.train(config, resume, observer);
    let rank = worker.rank();
    let outcome = worker.finish(result)?;
    if outcome.summary.stopped_on_request {
        return Err(StoppedForRequeue.into());
    }
    if let Some(test) = &outcome.test {
        print_report(rank, test);
    }
    Ok(())
}

/// Training stopped at a checkpoint because SIGUSR1 asked for it: `ranker` exits with
/// [`ranker_dist::signals::STOPPED_FOR_REQUEUE`] so that launch and Slurm requeue the run instead of taking it as
/// finished.
#[derive(Debug)]
pub(crate) struct StoppedForRequeue;

impl std::fmt::Display for StoppedForRequeue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stopped at a checkpoint on request (SIGUSR1); requeue or rerun to resume"
        )
    }
}

impl std::error::Error for StoppedForRequeue {}

fn load_config(args: &ConfigArgs) -> anyhow::Result<Config> {
    let overrides = args
        .overrides
        .iter()
        .map(|s| s.parse::<Override>())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Config::load(&args.config, &overrides)?)
}

/// Sets up this worker's logging (console on rank 0, a log file per rank) and joins the process
/// group; also says whether rank 0 draws a progress bar.
fn start(
    config: &Config,
    args: &ConfigArgs,
    global: &GlobalArgs,
    what: &str,
) -> anyhow::Result<(Worker, bool)> {
    let env = DistEnv::from_process_env()?;
    let rank = env.rank;
    let progress_bar = rank == 0 && !global.quiet && std::io::stderr().is_terminal();
    let log_file = RunDir::new(config.output_dir())
        .logs()
        .join(format!("{what}.rank{rank}.log"));
    logging::init(LogSetup {
        verbose: global.verbose,
        quiet: global.quiet,
        console_warnings_only: rank != 0 || (progress_bar && what == "train"),
        file: Some(&log_file),
    })?;
    // The GPU this worker may use: LOCAL_RANK, or 0 when Slurm bound the task to one GPU (--gpus-per-task=1).
    let device = Device::resolve(crate::device::request(args.device), env.cuda_device)?;
    crate::device::prepare(device);
    let worker = Worker::join(config, device).context("joining the process group")?;
    tracing::info!(
        "{what} {}: rank {} of {}, device {device:?}, log {}",
        args.config.display(),
        worker.rank(),
        worker.world_size(),
        log_file.display()
    );
    Ok((worker, progress_bar))
}

/// Rank 0 prints the evaluation report.
fn print_report(rank: usize, outcome: &EvalOutcome) {
    if rank == 0 {
        print!("{}", render_table(&outcome.report));
    }
}
