//! Worker output: one pump thread per pipe copies lines to the console with a `[host:rN] ` prefix (line-atomic:
//! each line is one `write_all` under a lock shared by all pumps), to the per-rank log file unchanged, and keeps
//! the last stderr lines for the failure summary.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Lines longer than this are cut into several prefixed lines rather than buffered without bound.
pub const MAX_LINE: usize = 1 << 20;
/// Stderr lines kept per rank for the summary.
pub const TAIL_LINES: usize = 20;

/// The launcher's console (its own stdout and stderr), shared by all pumps.
#[derive(Default)]
pub struct Console {
    lock: Mutex<()>,
}

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Worker stdout → launcher stdout.
    Out,
    /// Worker stderr → launcher stderr.
    Err,
}

impl Console {
    /// Writes one complete line (prefix + text + newline) atomically with respect to other pumps.
    pub fn line(&self, stream: Stream, prefix: &str, text: &[u8]) {
        let mut buf = Vec::with_capacity(prefix.len() + text.len() + 1);
        buf.extend_from_slice(prefix.as_bytes());
        buf.extend_from_slice(text);
        buf.push(b'\n');
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        // A closed console (EPIPE) must not stop the pumps: the files and the supervision go on.
        let _ = match stream {
            Stream::Out => {
                let mut out = io::stdout().lock();
                out.write_all(&buf).and_then(|_| out.flush())
            }
            Stream::Err => io::stderr().lock().write_all(&buf),
        };
    }

    /// A message of the launcher itself, on stderr.
    pub fn say(&self, msg: &str) {
        for l in msg.lines() {
            self.line(Stream::Err, "[launch] ", l.as_bytes());
        }
    }
}

/// Per-rank output state: stderr tail and how many pumps are still running.
#[derive(Default)]
pub struct RankOutput {
    tail: Mutex<VecDeque<String>>,
    open_pumps: Mutex<usize>,
    closed: Condvar,
}

impl RankOutput {
    /// The last stderr lines.
    pub fn tail(&self) -> Vec<String> {
        self.tail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Waits until both pipes reached end of file, at most `timeout`.
    pub fn wait_closed(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut open = self.open_pumps.lock().unwrap_or_else(|e| e.into_inner());
        while *open > 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            open = self
                .closed
                .wait_timeout(open, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    fn push_tail(&self, line: &[u8]) {
        let mut tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(String::from_utf8_lossy(line).into_owned());
    }
}

/// Where one pipe's lines go.
pub struct PumpTarget {
    /// Console prefix, e.g. `[node07:r3] `.
    pub prefix: String,
    /// Whether lines reach the console (`--ranks-filter`).
    pub to_console: bool,
    /// The per-rank log file.
    pub file: Option<File>,
    /// Which stream.
    pub stream: Stream,
}

/// Starts the pump thread for one pipe.
pub fn pump(
    reader: impl Read + Send + 'static,
    mut target: PumpTarget,
    console: Arc<Console>,
    output: Arc<RankOutput>,
) -> io::Result<thread::JoinHandle<()>> {
    *output.open_pumps.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    thread::Builder::new().name("pump".into()).spawn(move || {
        let mut reader = BufReader::with_capacity(64 * 1024, reader);
        for_each_line(&mut reader, |line, complete| {
            if let Some(f) = &mut target.file {
                let _ = f.write_all(line);
                if complete {
                    let _ = f.write_all(b"\n");
                }
            }
            if target.to_console {
                console.line(target.stream, &target.prefix, line);
            }
            if target.stream == Stream::Err {
                output.push_tail(line);
            }
        });
        if let Some(f) = &mut target.file {
            let _ = f.flush();
        }
        let mut open = output.open_pumps.lock().unwrap_or_else(|e| e.into_inner());
        *open -= 1;
        output.closed.notify_all();
    })
}

/// Calls `emit(line_without_newline, had_newline)` for every line; lines over [`MAX_LINE`] are emitted in pieces
/// (`had_newline = false` for all but the last), and a final line without newline is emitted too.
pub fn for_each_line(reader: &mut impl BufRead, mut emit: impl FnMut(&[u8], bool)) {
    let mut line = Vec::new();
    loop {
        let buf = match reader.fill_buf() {
            Ok([]) => break,
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let room = MAX_LINE - line.len();
        let window = &buf[..buf.len().min(room)];
        match window.iter().position(|&b| b == b'\n') {
            Some(i) => {
                line.extend_from_slice(&window[..i]);
                emit(&line, true);
                line.clear();
                reader.consume(i + 1);
            }
            None => {
                let n = window.len();
                line.extend_from_slice(window);
                reader.consume(n);
                if line.len() >= MAX_LINE {
                    emit(&line, false);
                    line.clear();
                }
            }
        }
    }
    if !line.is_empty() {
        emit(&line, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<(Vec<u8>, bool)> {
        let mut out = Vec::new();
        for_each_line(&mut BufReader::with_capacity(7, input), |l, c| {
            out.push((l.to_vec(), c))
        });
        out
    }

    #[test]
    fn splits_lines_and_keeps_the_last_partial_one() {
        assert_eq!(
            lines(b"alpha\nbeta gamma delta\n\nlast"),
            vec![
                (b"alpha".to_vec(), true),
                (b"beta gamma delta".to_vec(), true),
                (b"".to_vec(), true),
                (b"last".to_vec(), false)
            ]
        );
        assert!(lines(b"").is_empty());
    }

    #[test]
    fn very_long_lines_are_cut_into_pieces() {
        let mut input = vec![b'x'; MAX_LINE + 10];
        input.push(b'\n');
        let out = lines(&input);
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].0.len(), out[0].1), (MAX_LINE, false));
        assert_eq!((out[1].0.len(), out[1].1), (10, true));
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let o = RankOutput::default();
        for i in 0..30 {
            o.push_tail(format!("l{i}").as_bytes());
        }
        let t = o.tail();
        assert_eq!(t.len(), TAIL_LINES);
        assert_eq!(t[0], "l10");
        assert_eq!(t[19], "l29");
    }
}
