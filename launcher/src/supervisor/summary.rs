//! The failure summary: who ended how, and why.

use std::fmt::Write as _;

use super::signals::signal_name;

/// Who ended a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedBy {
    /// It exited (or crashed) on its own.
    Itself,
    /// `launch` signalled it during a teardown.
    Launcher,
    /// SIGKILL not sent by `launch` while the cgroup's `oom_kill` counter rose.
    OomKiller,
    /// A signal `launch` did not send (another process, Slurm, a user's `kill`).
    Outside,
}

impl EndedBy {
    fn label(self) -> &'static str {
        match self {
            EndedBy::Itself => "itself",
            EndedBy::Launcher => "launcher",
            EndedBy::OomKiller => "OOM killer",
            EndedBy::Outside => "outside signal",
        }
    }
}

/// How a process ended (decoded wait status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// `exit(code)`.
    Code(i32),
    /// Killed by a signal.
    Signal(i32),
}

impl Termination {
    /// Decodes a `waitpid` status.
    pub fn from_wait_status(status: libc::c_int) -> Termination {
        if libc::WIFSIGNALED(status) {
            Termination::Signal(libc::WTERMSIG(status))
        } else {
            Termination::Code(libc::WEXITSTATUS(status))
        }
    }

    /// Success?
    pub fn success(self) -> bool {
        self == Termination::Code(0)
    }

    /// srun's convention: the exit code, or 128 + signal.
    pub fn exit_code(self) -> i32 {
        match self {
            Termination::Code(c) => c,
            Termination::Signal(s) => 128 + s,
        }
    }

    /// `exit code 3` / `signal SIGKILL`.
    pub fn describe(self) -> String {
        match self {
            Termination::Code(c) => format!("exit code {c}"),
            Termination::Signal(s) => format!("signal {}", signal_name(s)),
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// Global rank.
    pub rank: usize,
    /// Host.
    pub host: String,
    /// Pid.
    pub pid: i32,
    /// How it ended (`None`: still running when the summary was made, which should not happen).
    pub ended: Option<Termination>,
    /// Who ended it.
    pub by: EndedBy,
}

/// What a worker wrote to its `TORCHELASTIC_ERROR_FILE` (torch.distributed.elastic's `@record`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorFile {
    /// The file.
    pub path: String,
    /// `ExceptionType: message`.
    pub message: String,
    /// The Python traceback, if recorded.
    pub traceback: Option<String>,
}

impl ErrorFile {
    /// Reads `path`; `None` when it does not exist. A file that is not the expected JSON is shown raw (cut).
    pub fn read(path: &std::path::Path) -> Option<ErrorFile> {
        let text = std::fs::read_to_string(path).ok()?;
        Some(Self::parse(&path.display().to_string(), &text))
    }

    /// Parses torch's layouts: `{"message": {"message": M, "extraInfo": {"py_callstack": T, ...}}}` (written by
    /// `ErrorHandler.record_exception`, torch/distributed/elastic/multiprocessing/errors/error_handler.py) or
    /// `{"message": M}`.
    pub fn parse(path: &str, text: &str) -> ErrorFile {
        let json: Option<serde_json::Value> = serde_json::from_str(text).ok();
        let message = json.as_ref().and_then(|j| j.get("message"));
        let (message, traceback) = match message {
            Some(serde_json::Value::String(m)) => (Some(m.clone()), None),
            Some(m) => (
                m.get("message")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                m.get("extraInfo")
                    .and_then(|e| e.get("py_callstack"))
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
            ),
            None => (None, None),
        };
        let message = message.unwrap_or_else(|| {
            let raw: String = text.trim().chars().take(2000).collect();
            format!("(not torch's error-file JSON) {raw}")
        });
        ErrorFile {
            path: path.to_string(),
            message,
            traceback,
        }
    }
}

/// Renders the table, the root cause (the failing rank's error file, if it wrote one) and its stderr tail.
pub fn render(
    rows: &[Row],
    headline: &str,
    tail_rank: Option<usize>,
    error: Option<&ErrorFile>,
    tail: &[String],
    logs: Option<&str>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{headline}");
    let _ = writeln!(
        out,
        "{:>6}  {:<20} {:>8}  {:<20} ended by",
        "rank", "host", "pid", "status"
    );
    for r in rows {
        let status = r
            .ended
            .map(Termination::describe)
            .unwrap_or_else(|| "running".into());
        let _ = writeln!(
            out,
            "{:>6}  {:<20} {:>8}  {:<20} {}",
            r.rank,
            r.host,
            r.pid,
            status,
            r.by.label()
        );
    }
    if let (Some(rank), Some(e)) = (tail_rank, error) {
        let _ = writeln!(out, "rank {rank} error file {}:", e.path);
        let _ = writeln!(out, "  {}", e.message);
        for l in e.traceback.iter().flat_map(|t| t.lines()) {
            let _ = writeln!(out, "  | {l}");
        }
    }
    if let Some(rank) = tail_rank {
        if tail.is_empty() {
            let _ = writeln!(out, "rank {rank} wrote nothing to stderr");
        } else {
            let _ = writeln!(out, "last {} stderr lines of rank {rank}:", tail.len());
            for l in tail {
                let _ = writeln!(out, "  | {l}");
            }
        }
    }
    if let Some(dir) = logs {
        let _ = writeln!(out, "per-rank logs: {dir}");
    }
    out
}

/// The cgroup v2 `oom_kill` counter of this process's cgroup, if readable (best effort).
pub fn oom_kill_count() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let events = std::fs::read_to_string(format!("/sys/fs/cgroup{path}/memory.events")).ok()?;
    parse_oom_kill(&events)
}

fn parse_oom_kill(events: &str) -> Option<u64> {
    events
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_status_decoding_and_exit_codes() {
        // Linux encodings: exit code in bits 8-15, signal in bits 0-6.
        assert_eq!(Termination::from_wait_status(3 << 8), Termination::Code(3));
        assert_eq!(Termination::from_wait_status(9), Termination::Signal(9));
        assert_eq!(Termination::Signal(9).exit_code(), 137);
        assert_eq!(Termination::Signal(9).describe(), "signal SIGKILL");
        assert!(Termination::Code(0).success());
    }

    #[test]
    fn table_and_tail() {
        let rows = vec![
            Row {
                rank: 0,
                host: "h".into(),
                pid: 10,
                ended: Some(Termination::Signal(15)),
                by: EndedBy::Launcher,
            },
            Row {
                rank: 1,
                host: "h".into(),
                pid: 11,
                ended: Some(Termination::Code(3)),
                by: EndedBy::Itself,
            },
        ];
        let s = render(
            &rows,
            "worker group failed",
            Some(1),
            None,
            &["boom".into()],
            Some("logs/attempt_0"),
        );
        assert!(
            s.contains("signal SIGTERM") && s.contains("launcher"),
            "{s}"
        );
        assert!(s.contains("exit code 3") && s.contains("itself"), "{s}");
        assert!(
            s.contains("last 1 stderr lines of rank 1:\n  | boom"),
            "{s}"
        );
        assert!(s.ends_with("per-rank logs: logs/attempt_0\n"), "{s}");
    }

    #[test]
    fn error_file_from_torch_record() {
        // The layout torch 2.x `@record` writes (error_handler.py, record_exception).
        let text = r#"{"message": {"message": "ValueError: bad batch", "extraInfo": {"py_callstack": "Traceback (most recent call last):\n  File \"p.py\", line 3, in main\nValueError: bad batch\n", "timestamp": "1700000000"}}}"#;
        let e = ErrorFile::parse("/t/error.json", text);
        assert_eq!(e.message, "ValueError: bad batch");
        assert!(e.traceback.as_deref().unwrap().contains("line 3, in main"));
        let s = render(&[], "failed", Some(2), Some(&e), &[], None);
        assert!(
            s.contains("rank 2 error file /t/error.json:\n  ValueError: bad batch\n  | Traceback"),
            "{s}"
        );
        let e = ErrorFile::parse("f", r#"{"message": "plain"}"#);
        assert_eq!((e.message.as_str(), e.traceback), ("plain", None));
        let e = ErrorFile::parse("f", "garbage");
        assert_eq!(e.message, "(not torch's error-file JSON) garbage");
    }

    #[test]
    fn oom_kill_parsing() {
        assert_eq!(
            parse_oom_kill("low 0\nhigh 0\nmax 2\noom 1\noom_kill 4\n"),
            Some(4)
        );
        assert_eq!(parse_oom_kill("low 0\n"), None);
    }
}
