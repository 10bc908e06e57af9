//! One `ranker train | eval | run` process: join the process group the launcher describes, train or
//! evaluate on the chosen device, and leave the group (or report a failure so the launcher tears every
//! rank down at once). The command line only parses its arguments, sets up logging and prints.

use std::path::Path;
use std::time::Duration;

use burn::backend::Flex;
use ranker_dist::{BackendChoice, DistOptions, ProcessGroup};
use ranker_eval::EvalOutcome;

use crate::config::{Config, DistBackend};
use crate::error::TrainError;
use crate::evaluation;
use crate::trainer::{train_on, Resume, TrainObserver, TrainSummary};

/// The device a worker asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRequest {
    /// CUDA when this build has it (`--features cuda`), else the CPU.
    Auto,
    /// The CPU (burn's Flex backend).
    Cpu,
    /// The GPU `LOCAL_RANK`.
    Cuda,
}

/// The compute device of a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// The CPU (burn's Flex backend).
    Cpu,
    /// A CUDA device by ordinal.
    #[cfg(feature = "cuda")]
    Cuda(usize),
}

impl Device {
    /// Resolves `request` for the worker with local rank `local_rank` (its GPU ordinal).
    pub fn resolve(request: DeviceRequest, local_rank: usize) -> Result<Self, TrainError> {
        match request {
            DeviceRequest::Cpu => Ok(Device::Cpu),
            #[cfg(feature = "cuda")]
            DeviceRequest::Auto | DeviceRequest::Cuda => Ok(Device::Cuda(local_rank)),
            #[cfg(not(feature = "cuda"))]
            DeviceRequest::Auto => {
                let _ = local_rank;
                Ok(Device::Cpu)
            }
            #[cfg(not(feature = "cuda"))]
            DeviceRequest::Cuda => Err(TrainError::Setup {
                key: "--device",
                message: "cuda: this binary was built without CUDA support; rebuild with `--features cuda`"
                    .into(),
            }),
        }
    }

    fn cuda_ordinal(self) -> Option<usize> {
        match self {
            Device::Cpu => None,
            #[cfg(feature = "cuda")]
            Device::Cuda(ordinal) => Some(ordinal),
        }
    }
}

/// What `ranker train` produced on this rank.
#[derive(Debug)]
pub struct TrainOutcome {
    /// How training ended.
    pub summary: TrainSummary,
    /// The test-set evaluation of the selected checkpoint (when `data.test` is set and training
    /// was not stopped by a checkpoint request); the report is complete on rank 0.
    pub test: Option<EvalOutcome>,
}

/// One worker process: its place in the process group and its device.
pub struct Worker {
    pg: ProcessGroup,
    device: Device,
}

impl Worker {
    /// Joins the process group described by the launcher's environment (a group of one without
    /// it), with the transport, timeout and device `config.dist` asks for; installs the SIGUSR1
    /// checkpoint-request handler.
    pub fn join(config: &Config, device: Device) -> Result<Self, TrainError> {
        ranker_dist::signals::install_checkpoint_handler()?;
        let options = DistOptions {
            backend: match config.dist.backend {
                DistBackend::Auto => BackendChoice::Auto,
                DistBackend::Nccl => BackendChoice::Nccl,
                DistBackend::Tcp => BackendChoice::Tcp,
            },
            timeout: Duration::from_secs(config.dist.timeout_s),
            cuda_device: device.cuda_ordinal(),
        };
        let pg = ranker_dist::init_from_env(&options)?;
        Ok(Self { pg, device })
    }

    /// This worker's rank.
    pub fn rank(&self) -> usize {
        self.pg.rank()
    }

    /// The number of workers.
    pub fn world_size(&self) -> usize {
        self.pg.world_size()
    }

    /// The device it computes on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Trains, then evaluates the selected checkpoint on `data.test` when the config has one.
    pub fn train(
        &mut self,
        config: &Config,
        resume: Resume,
        observer: &mut dyn TrainObserver,
    ) -> Result<TrainOutcome, TrainError> {
        let summary = match self.device {
            Device::Cpu => {
                train_on::<Flex>(config, &mut self.pg, &Default::default(), resume, observer)?
            }
            #[cfg(feature = "cuda")]
            Device::Cuda(ordinal) => train_on::<burn::backend::Cuda>(
                config,
                &mut self.pg,
                &burn::backend::cuda::CudaDevice::new(ordinal),
                resume,
                observer,
            )?,
        };
        let mut summary = summary;
        // A stop request that arrived after the last step is honoured before the test evaluation, so that the
        // job requeues instead of running out its time limit in an evaluation (the ranks agree on it).
        if !summary.stopped_on_request && config.data.test.is_some() && self.stop_requested()? {
            tracing::info!("checkpoint request before the test evaluation: stopping for requeue");
            summary.stopped_on_request = true;
        }
        if summary.stopped_on_request {
            return Ok(TrainOutcome {
                summary,
                test: None,
            });
        }
        if let Some(best) = summary.best {
            tracing::info!("best dev_score {:.4} at step {}", best.dev_score, best.step);
        }
        let test = match config.data.test {
            Some(_) => Some(self.evaluate(config, None)?),
            None => None,
        };
        Ok(TrainOutcome { summary, test })
    }

    /// Whether any rank received a checkpoint request (SIGUSR1); every rank gets the same answer.
    fn stop_requested(&mut self) -> Result<bool, TrainError> {
        let mut flag = [f32::from(u8::from(
            ranker_dist::signals::checkpoint_requested(),
        ))];
        if self.world_size() > 1 {
            self.pg
                .collective()
                .all_reduce(&mut flag, ranker_dist::ReduceOp::Sum)?;
        }
        Ok(flag[0] > 0.0)
    }

    /// Evaluates `checkpoint` (default: `eval.checkpoint`, else the run's `best`) on the configured
    /// split; rank 0 writes the predictions and the report.
    pub fn evaluate(
        &mut self,
        config: &Config,
        checkpoint: Option<&Path>,
    ) -> Result<EvalOutcome, TrainError> {
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
        if self.rank() == 0 {
            tracing::info!(
                "wrote {}",
                crate::run_dir::RunDir::new(config.output_dir())
                    .eval()
                    .display()
            );
        }
        Ok(outcome)
    }

    /// Leaves the group cleanly after `result` succeeded; after a failure, reports it (with its
    /// causes) to the launcher so that every rank is torn down at once, and returns it.
    pub fn finish<T>(self, result: Result<T, TrainError>) -> Result<T, TrainError> {
        match result {
            Ok(value) => {
                self.pg.finish()?;
                Ok(value)
            }
            Err(err) => {
                if let Err(report) = self.pg.report_failure(&error_chain(&err)) {
                    tracing::warn!("could not report the failure to the launcher: {report}");
                }
                Err(err)
            }
        }
    }
}

/// `err` and its causes on one line, `: `-separated (as anyhow's `{:#}` prints them).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut cause = err.source();
    while let Some(source) = cause {
        line.push_str(": ");
        line.push_str(&source.to_string());
        cause = source.source();
    }
    line
}
