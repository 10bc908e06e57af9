//! Reading JSONL from a file or stdin, and writing results to stdout or atomically to a file.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use ranker_data::atomic::AtomicFile;

/// `-` means stdin.
pub(crate) fn open_input(path: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    if path == Path::new("-") {
        return Ok(Box::new(BufReader::new(std::io::stdin().lock())));
    }
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(Box::new(BufReader::with_capacity(1 << 20, file)))
}

/// The name used for an input in error messages.
pub(crate) fn input_name(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".into()
    } else {
        path.display().to_string()
    }
}

/// Where results go: stdout, or a file that appears only once everything was written.
pub(crate) enum Output {
    Stdout(BufWriter<std::io::Stdout>),
    File(AtomicFile, PathBuf),
}

impl Output {
    /// `None` or `-` means stdout.
    pub(crate) fn create(path: Option<&Path>) -> anyhow::Result<Self> {
        match path {
            None => Ok(Output::Stdout(BufWriter::new(std::io::stdout()))),
            Some(p) if p == Path::new("-") => Ok(Output::Stdout(BufWriter::new(std::io::stdout()))),
            Some(p) => Ok(Output::File(
                AtomicFile::create(p).with_context(|| format!("creating {}", p.display()))?,
                p.to_path_buf(),
            )),
        }
    }

    /// Flushes stdout, or fsyncs and renames the file into place.
    pub(crate) fn finish(self) -> anyhow::Result<()> {
        match self {
            Output::Stdout(mut w) => Ok(w.flush()?),
            Output::File(f, path) => f
                .commit()
                .with_context(|| format!("writing {}", path.display())),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Stdout(w) => w.write(buf),
            Output::File(f, _) => f.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Stdout(w) => w.flush(),
            Output::File(f, _) => f.flush(),
        }
    }
}

/// Reads a JSONL stream a chunk of non-empty lines at a time; each line keeps its 1-based number.
pub(crate) struct LineChunks {
    reader: Box<dyn BufRead>,
    line_no: usize,
    chunk: usize,
    done: bool,
}

impl LineChunks {
    pub(crate) fn new(reader: Box<dyn BufRead>, chunk: usize) -> Self {
        Self {
            reader,
            line_no: 0,
            chunk,
            done: false,
        }
    }

    /// The next chunk of `(line number, line)`; empty at the end of the input.
    pub(crate) fn next_chunk(&mut self) -> std::io::Result<Vec<(usize, String)>> {
        let mut out = Vec::with_capacity(self.chunk);
        while !self.done && out.len() < self.chunk {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                self.done = true;
                break;
            }
            self.line_no += 1;
            if !line.trim().is_empty() {
                out.push((self.line_no, line));
            }
        }
        Ok(out)
    }
}
