//! `ranker train`, `ranker eval` and `ranker run`: config → logging → process group → backend → library.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::AutodiffBackend;
use ranker_dist::{BackendChoice, DistEnv, DistOptions, ProcessGroup};
use ranker_eval::render_table;
use ranker_train::config::{Config, DistBackend, Override, Task};
use ranker_train::evaluation;
use ranker_train::run_dir::RunDir;
use ranker_train::{LogObserver, Resume, TrainObserver, TrainSummary};

use crate::args::{ConfigArgs, DeviceArg, EvalArgs, GlobalArgs, RunArgs, TrainArgs};
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
    let mut worker = Worker::start(&config, &args.config, global, "train")?;
    let result = worker.train(&config, resume, global);
    worker.finish(result)
}

pub(crate) fn eval(args: EvalArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let config = load_config(&args.config)?;
    let mut worker = Worker::start(&config, &args.config, global, "eval")?;
    let result = worker.eval(&config, args.checkpoint.as_deref());
    worker.finish(result)
}

pub(crate) fn run(args: RunArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let config = load_config(&args.config)?;
    match config.task {
        Task::Train => {
            let mut worker = Worker::start(&config, &args.config, global, "train")?;
            let result = worker.train(&config, Resume::Auto, global);
            worker.finish(result)
        }
        Task::Eval => {
            let mut worker = Worker::start(&config, &args.config, global, "eval")?;
            let result = worker.eval(&config, None);
            worker.finish(result)
        }
    }
}

fn load_config(args: &ConfigArgs) -> anyhow::Result<Config> {
    let overrides = args
        .overrides
        .iter()
        .map(|s| s.parse::<Override>())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Config::load(&args.config, &overrides)?)
}

/// The compute device chosen for this worker.
#[derive(Debug, Clone, Copy)]
enum Device {
    Cpu,
    #[cfg(feature = "cuda")]
    Cuda(usize),
}

fn resolve_device(arg: DeviceArg, local_rank: usize) -> anyhow::Result<Device> {
    match arg {
        DeviceArg::Cpu => Ok(Device::Cpu),
        #[cfg(feature = "cuda")]
        DeviceArg::Auto | DeviceArg::Cuda => Ok(Device::Cuda(local_rank)),
        #[cfg(not(feature = "cuda"))]
        DeviceArg::Auto => {
            let _ = local_rank;
            Ok(Device::Cpu)
        }
        #[cfg(not(feature = "cuda"))]
        DeviceArg::Cuda => anyhow::bail!(
            "--device cuda: this binary was built without CUDA support; rebuild with `--features cuda`"
        ),
    }
}

/// One worker: its rank, logging, process group and device.
struct Worker {
    pg: ProcessGroup,
    device: Device,
    progress_bar: bool,
}

impl Worker {
    fn start(
        config: &Config,
        args: &ConfigArgs,
        global: &GlobalArgs,
        what: &str,
    ) -> anyhow::Result<Self> {
        let env = DistEnv::from_process_env()?;
        let rank = env.rank;
        let progress_bar = rank == 0 && !global.quiet && std::io::stderr().is_terminal();
        let run_dir = RunDir::new(config.output_dir());
        let log_file = run_dir.logs().join(format!("{what}.rank{rank}.log"));
        logging::init(LogSetup {
            verbose: global.verbose,
            quiet: global.quiet,
            console_warnings_only: rank != 0 || (progress_bar && what == "train"),
            file: Some(&log_file),
        })?;
        let device = resolve_device(args.device, env.local_rank)?;
        ranker_dist::signals::install_checkpoint_handler()?;
        let options = DistOptions {
            backend: match config.dist.backend {
                DistBackend::Auto => BackendChoice::Auto,
                DistBackend::Nccl => BackendChoice::Nccl,
                DistBackend::Tcp => BackendChoice::Tcp,
            },
            timeout: Duration::from_secs(config.dist.timeout_s),
            cuda_device: match device {
                Device::Cpu => None,
                #[cfg(feature = "cuda")]
                Device::Cuda(ordinal) => Some(ordinal),
            },
        };
        let pg = ranker_dist::init_from_env(&options).context("joining the process group")?;
        tracing::info!(
            "{what} {}: rank {} of {}, device {device:?}, log {}",
            args.config.display(),
            pg.rank(),
            pg.world_size(),
            log_file.display()
        );
        Ok(Self {
            pg,
            device,
            progress_bar,
        })
    }

    fn train(
        &mut self,
        config: &Config,
        resume: Resume,
        global: &GlobalArgs,
    ) -> anyhow::Result<()> {
        let summary = match self.device {
            Device::Cpu => {
                self.train_on::<Autodiff<Flex>>(config, &Default::default(), resume, global)?
            }
            #[cfg(feature = "cuda")]
            Device::Cuda(ordinal) => self.train_on::<Autodiff<burn::backend::Cuda>>(
                config,
                &burn::backend::cuda::CudaDevice::new(ordinal),
                resume,
                global,
            )?,
        };
        if summary.stopped_on_request {
            return Ok(());
        }
        if let Some(best) = summary.best {
            tracing::info!("best dev_score {:.4} at step {}", best.dev_score, best.step);
        }
        if config.data.test.is_some() {
            let checkpoint = evaluation::resolve_checkpoint(config, None)?;
            self.eval(config, Some(&checkpoint))?;
        }
        Ok(())
    }

    fn train_on<B: AutodiffBackend>(
        &mut self,
        config: &Config,
        device: &B::Device,
        resume: Resume,
        global: &GlobalArgs,
    ) -> anyhow::Result<TrainSummary> {
        let mut bar;
        let mut log = LogObserver::new(config.train.log_every as u64);
        let observer: &mut dyn TrainObserver = if self.progress_bar {
            bar = TrainProgress::new(global.quiet);
            &mut bar
        } else {
            &mut log
        };
        Ok(ranker_train::train::<B>(
            config,
            &mut self.pg,
            device,
            resume,
            observer,
        )?)
    }

    fn eval(&mut self, config: &Config, checkpoint: Option<&Path>) -> anyhow::Result<()> {
        let checkpoint = evaluation::resolve_checkpoint(config, checkpoint)?;
        let outcome = match self.device {
            Device::Cpu => evaluation::evaluate::<Flex>(
                config,
                &checkpoint,
                &mut self.pg,
                &Default::default(),
            )?,
            #[cfg(feature = "cuda")]
            Device::Cuda(ordinal) => evaluation::evaluate::<burn::backend::Cuda>(
                config,
                &checkpoint,
                &mut self.pg,
                &burn::backend::cuda::CudaDevice::new(ordinal),
            )?,
        };
        if self.pg.rank() == 0 {
            print!("{}", render_table(&outcome.report));
            tracing::info!(
                "wrote {}",
                RunDir::new(config.output_dir()).eval().display()
            );
        }
        Ok(())
    }

    /// Reports a failure to the launcher (so every rank is torn down at once) or leaves the group cleanly.
    fn finish(self, result: anyhow::Result<()>) -> anyhow::Result<()> {
        match result {
            Ok(()) => Ok(self.pg.finish()?),
            Err(err) => {
                let _ = self.pg.report_failure(&format!("{err:#}"));
                Err(err)
            }
        }
    }
}
