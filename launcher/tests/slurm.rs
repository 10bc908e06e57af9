//! The Slurm templates in experiments/slurm/, submitted to a real one-node Slurm cluster on this machine
//! (experiments/slurm/ci-cluster.sh starts it; CPU variants: `--gpus-per-node=0`, `NPROC`, `MODE`).
//!
//! They skip, saying why, off Linux or without root; under `CI=true` they must run. The workers are shell
//! programs (seconds per job); a resumable one emulates a trainer: it counts steps in a state file, stops at a
//! checkpoint on SIGUSR1 with exit 75, and resumes from the file.

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const LAUNCH: &str = env!("CARGO_BIN_EXE_launch");

/// The repository root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("launcher/ is in the workspace root")
        .to_path_buf()
}

/// One job at a time: the cluster has the machine's CPUs, and the tests' jobs each take all of them.
static CLUSTER: Mutex<()> = Mutex::new(());

/// Starts (or checks) the cluster; `None` with the reason printed when the tests cannot run here.
fn cluster() -> Option<std::sync::MutexGuard<'static, ()>> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let skip = |why: &str| {
        assert!(!ci, "CI=true but the Slurm tests cannot run: {why}");
        eprintln!("SKIPPED (Slurm end-to-end): {why}");
        None
    };
    if !cfg!(target_os = "linux") {
        return skip("not Linux");
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return skip("not root (experiments/slurm/ci-cluster.sh installs and starts slurmctld, slurmd, munged)");
    }
    let guard = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(repo().join("experiments/slurm/ci-cluster.sh"))
        .output()
        .expect("running experiments/slurm/ci-cluster.sh");
    assert!(
        out.status.success(),
        "ci-cluster.sh failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(guard)
}

fn template(name: &str) -> PathBuf {
    repo().join("experiments/slurm").join(name)
}

/// One node with two tasks of one CPU each: per-task mode.
const PER_TASK_OPTIONS: &[&str] = &["--nodes=1", "--ntasks-per-node=2", "--cpus-per-task=1"];

/// `sbatch OPTIONS TEMPLATE [-- WORKER...]` for a CPU run in `dir`, with `vars` exported to the job.
fn sbatch(
    dir: &Path,
    template_name: &str,
    options: &[&str],
    vars: &[(&str, &str)],
    worker: &[&str],
) -> Command {
    let mut c = Command::new("sbatch");
    c.current_dir(dir)
        .args(["--parsable", "--gpus-per-node=0"])
        .arg(format!("--chdir={}", dir.display()))
        .arg(format!("--output={}/slurm-%j.out", dir.display()))
        .args(options)
        .env("LAUNCH", LAUNCH)
        .envs(vars.iter().copied())
        .arg(template(template_name));
    if !worker.is_empty() {
        c.arg("--").args(worker);
    }
    c
}

/// The job id `sbatch --parsable` printed (`ID` or `ID;CLUSTER`).
fn job_id(out: &std::process::Output) -> String {
    let id = String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        !id.is_empty(),
        "sbatch printed no job id: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    id
}

/// Submits with `--wait` (sbatch then exits with the job's code, so its status is not checked); returns the job
/// id and the job's output once it ended.
fn run_to_end(
    dir: &Path,
    template_name: &str,
    options: &[&str],
    vars: &[(&str, &str)],
    worker: &[&str],
) -> (String, String) {
    let options: Vec<&str> = std::iter::once("--wait")
        .chain(options.iter().copied())
        .collect();
    let out = sbatch(dir, template_name, &options, vars, worker)
        .output()
        .expect("sbatch");
    let id = job_id(&out);
    let out = job_output(dir, &id);
    (id, out)
}

/// Submits without waiting; returns the job id.
fn submit(mut cmd: Command) -> String {
    let out = cmd.output().expect("sbatch");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    job_id(&out)
}

/// `scontrol show job` fields.
fn job_field(id: &str, field: &str) -> String {
    let out = Command::new("scontrol")
        .args(["show", "job", id])
        .output()
        .expect("scontrol");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{field}=")))
        .unwrap_or_default()
        .to_string()
}

fn job_output(dir: &Path, id: &str) -> String {
    std::fs::read_to_string(dir.join(format!("slurm-{id}.out"))).unwrap_or_default()
}

fn wait_until(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A worker that counts `steps` steps (one per 0.1 s) in `state_$RANK`, resuming from it; SIGUSR1 makes it stop
/// after the current step with exit 75 (a checkpoint for requeue). It writes `ready_$RANK` at step 3 and prints
/// its final count and the sum of the steps it ran over all requeues.
const RESUMABLE: &str = r#"
state=state_$RANK
step=0; sum=0
[ -f $state ] && read step sum < $state
stop=0; trap 'stop=1' USR1
echo "rank $RANK starts at step $step (requeue ${SLURM_RESTART_COUNT:-0})"
while [ $step -lt $STEPS ]; do
    step=$((step + 1)); sum=$((sum + step))
    echo "$step $sum" > $state.tmp && mv $state.tmp $state
    [ $step = 3 ] && touch ready_$RANK
    if [ $stop = 1 ]; then echo "rank $RANK stopped at step $step for requeue"; exit 75; fi
    sleep 0.1
done
echo "rank $RANK final step=$step sum=$sum"
"#;

#[test]
fn per_node_mode_runs_nproc_workers_and_keeps_per_requeue_logs() {
    let Some(_cluster) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (id, out) = run_to_end(
        dir.path(),
        "1node-8gpu.sbatch",
        &["--cpus-per-task=2"],
        &[("NPROC", "2")],
        &["sh", "-c", "echo rank=$RANK/$WORLD_SIZE local=$LOCAL_RANK"],
    );
    assert_eq!(job_field(&id, "JobState"), "COMPLETED", "{out}");
    assert!(
        out.contains("r0] rank=0/2 local=0") && out.contains("r1] rank=1/2 local=1"),
        "{out}"
    );
    assert!(
        dir.path()
            .join(format!("logs/{id}/requeue_0/attempt_0/rank_1/stdout.log"))
            .is_file(),
        "{out}"
    );
}

#[test]
fn per_task_mode_runs_one_rank_per_task_with_labels() {
    let Some(_cluster) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (id, out) = run_to_end(
        dir.path(),
        "multinode.sbatch",
        PER_TASK_OPTIONS,
        &[("MODE", "per-task")],
        &[
            "sh",
            "-c",
            "echo rank=$RANK/$WORLD_SIZE store_host=$RANKER_HOST_STORE",
        ],
    );
    assert_eq!(job_field(&id, "JobState"), "COMPLETED", "{out}");
    assert!(
        out.contains("0: rank=0/2 store_host=1") && out.contains("1: rank=1/2 store_host=1"),
        "{out}"
    );
    assert!(
        out.contains("(per-task mode)"),
        "launch says which mode: {out}"
    );
}

#[test]
fn a_failing_worker_ends_the_job_failed_with_its_exit_code() {
    let Some(_cluster) = cluster() else { return };
    let fail = "echo rank=$RANK; if [ $RANK = 1 ]; then sleep 0.5; exit 3; fi; sleep 30";
    // Per-node mode (multinode template, srun with one launch per node).
    let dir = tempfile::tempdir().unwrap();
    let (id, out) = run_to_end(
        dir.path(),
        "multinode.sbatch",
        &["--nodes=1", "--cpus-per-task=2"],
        &[("NPROC", "2")],
        &["sh", "-c", fail],
    );
    assert_eq!(job_field(&id, "JobState"), "FAILED", "{out}");
    assert_eq!(job_field(&id, "ExitCode"), "3:0", "{out}");
    // Per-task mode: the other task is terminated by srun.
    let dir = tempfile::tempdir().unwrap();
    let (id, out) = run_to_end(
        dir.path(),
        "multinode.sbatch",
        PER_TASK_OPTIONS,
        &[("MODE", "per-task")],
        &["sh", "-c", fail],
    );
    assert_eq!(job_field(&id, "JobState"), "FAILED", "{out}");
    // slurmstepd signals the surviving task's launch and its worker at once; whichever sees it first, that task
    // must exit below 3 so srun reports the failing worker's code.
    assert_eq!(job_field(&id, "ExitCode"), "3:0", "{out}");
}

#[test]
fn a_config_less_submission_fails_with_the_usage_line() {
    let Some(_cluster) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (id, out) = run_to_end(
        dir.path(),
        "1node-8gpu.sbatch",
        &["--cpus-per-task=1"],
        &[],
        &[],
    );
    assert_eq!(job_field(&id, "JobState"), "FAILED", "{out}");
    assert!(out.contains("usage: sbatch"), "{out}");
    // Without NPROC on a node without GPUs, `--nproc gpu` says so instead of starting one worker.
    let (id, out) = run_to_end(
        dir.path(),
        "1node-8gpu.sbatch",
        &["--cpus-per-task=1"],
        &[],
        &["true"],
    );
    assert_eq!(job_field(&id, "JobState"), "FAILED", "{out}");
    assert!(out.contains("--nproc \"gpu\": no GPU is visible"), "{out}");
}

/// Submits the resumable worker, waits for step 3, signals the job with `scancel ARGS`, lets the requeued job
/// start at once, and returns (job id, output) once it completed.
fn interrupted_run(
    dir: &Path,
    template_name: &str,
    options: &[&str],
    scancel: &[&str],
) -> (String, String) {
    let id = submit(sbatch(
        dir,
        template_name,
        options,
        &[("NPROC", "2"), ("STEPS", "40")],
        &["sh", "-c", RESUMABLE],
    ));
    wait_until("step 3 of both ranks", Duration::from_secs(120), || {
        dir.join("ready_0").exists() && dir.join("ready_1").exists()
    });
    let status = Command::new("scancel")
        .args(scancel)
        .arg(&id)
        .status()
        .expect("scancel");
    assert!(status.success());
    wait_until("the requeue", Duration::from_secs(60), || {
        job_field(&id, "Restarts") == "1"
    });
    wait_until("the resumed job to end", Duration::from_secs(120), || {
        let state = job_field(&id, "JobState");
        if state == "PENDING" {
            // A requeued job waits ~2 minutes before it starts again; start it now. Repeated because an update
            // sent while the job is still completing is ignored.
            let _ = Command::new("scontrol")
                .args(["update", &format!("JobId={id}"), "StartTime=now"])
                .status();
        }
        matches!(state.as_str(), "COMPLETED" | "FAILED" | "CANCELLED")
    });
    let out = job_output(dir, &id);
    assert_eq!(job_field(&id, "JobState"), "COMPLETED", "{out}");
    (id, out)
}

#[test]
fn usr1_to_the_batch_shell_checkpoints_requeues_and_resumes_to_the_same_result() {
    let Some(_cluster) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (id, out) = interrupted_run(
        dir.path(),
        "1node-8gpu.sbatch",
        &["--cpus-per-task=2"],
        &["--batch", "--signal=USR1"],
    );
    // Both ranks stopped mid-run, resumed, and ended where an uninterrupted run ends (1+…+40 = 820).
    assert!(
        out.contains("stopped at step") && out.contains("requeueing job"),
        "{out}"
    );
    assert!(out.contains("starts at step 0 (requeue 0)"), "{out}");
    assert!(out.contains("(requeue 1)"), "{out}");
    for r in 0..2 {
        assert!(
            out.contains(&format!("rank {r} final step=40 sum=820")),
            "{out}"
        );
    }
    // The first run's per-rank logs were not overwritten by the requeued run.
    let logs = dir.path().join(format!("logs/{id}"));
    let first =
        std::fs::read_to_string(logs.join("requeue_0/attempt_0/rank_0/stdout.log")).unwrap();
    let second =
        std::fs::read_to_string(logs.join("requeue_1/attempt_0/rank_0/stdout.log")).unwrap();
    assert!(
        first.contains("stopped at step") && second.contains("final step=40"),
        "{first}\n{second}"
    );
}

#[test]
fn usr1_to_the_job_steps_also_requeues_instead_of_completing() {
    let Some(_cluster) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Without --batch the signal reaches the srun step, not the batch shell's trap.
    let (_, out) = interrupted_run(
        dir.path(),
        "multinode.sbatch",
        &["--nodes=1", "--cpus-per-task=2"],
        &["--signal=USR1"],
    );
    assert!(out.contains("requeueing job"), "{out}");
    for r in 0..2 {
        assert!(
            out.contains(&format!("rank {r} final step=40 sum=820")),
            "{out}"
        );
    }
}

/// A USR1 that arrives when the workers no longer stop (the final evaluation) lets the run finish: the job
/// completes and is not requeued.
#[test]
fn a_run_that_finishes_despite_usr1_is_not_requeued() {
    let Some(_cluster) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let worker =
        "trap 'echo rank $RANK: USR1 during the final evaluation' USR1; touch ready_$RANK; \
                  for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.2; done; echo rank $RANK finished";
    let id = submit(sbatch(
        dir.path(),
        "1node-8gpu.sbatch",
        &["--cpus-per-task=2"],
        &[("NPROC", "2")],
        &["bash", "-c", worker],
    ));
    wait_until("both ranks to start", Duration::from_secs(120), || {
        dir.path().join("ready_0").exists() && dir.path().join("ready_1").exists()
    });
    let status = Command::new("scancel")
        .args(["--batch", "--signal=USR1", &id])
        .status()
        .expect("scancel");
    assert!(status.success());
    wait_until("the job to end", Duration::from_secs(60), || {
        matches!(
            job_field(&id, "JobState").as_str(),
            "COMPLETED" | "FAILED" | "CANCELLED" | "PENDING"
        )
    });
    let out = job_output(dir.path(), &id);
    assert_eq!(job_field(&id, "JobState"), "COMPLETED", "{out}");
    assert_eq!(job_field(&id, "Restarts"), "0", "{out}");
    assert!(
        out.contains("USR1 during the final evaluation") && out.contains("rank 1 finished"),
        "{out}"
    );
    assert!(!out.contains("requeueing"), "{out}");
}
