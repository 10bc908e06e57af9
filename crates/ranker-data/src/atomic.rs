//! Atomic writes: a result file or directory is either absent or complete, never half-written.
//!
//! Files are written to a hidden temporary file in the destination's directory, flushed, `fsync`ed and renamed
//! over the destination; then the directory itself is synced so the rename survives a crash. Directories (e.g.
//! checkpoints) are filled under `<dir>.tmp-<pid>`, every file and subdirectory synced, then renamed into place.
//! Dropping an uncommitted [`AtomicFile`] / [`AtomicDir`] (error, panic) removes the temporary.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::error::DataError;
use crate::read::DataFormat;

/// Distinguishes temporaries of one process (several threads may write into one directory).
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn write_error(path: &Path) -> impl FnOnce(io::Error) -> DataError + '_ {
    move |source| DataError::Write {
        path: path.to_owned(),
        source,
    }
}

/// A file being written atomically: write through [`Write`], then [`AtomicFile::commit`].
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    temp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Starts writing `path`, creating missing parent directories. Nothing appears at `path` until
    /// [`AtomicFile::commit`].
    pub fn create(path: &Path) -> Result<Self, DataError> {
        let parent = parent_dir(path);
        fs::create_dir_all(parent).map_err(write_error(path))?;
        let name = path.file_name().ok_or_else(|| DataError::Write {
            path: path.to_owned(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a file path"),
        })?;
        let serial = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = parent.join(format!(
            ".{}.tmp-{}-{serial}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&temp).map_err(write_error(path))?;
        Ok(Self {
            path: path.to_owned(),
            temp,
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// The destination path (for error messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs and renames the file into place, then syncs the directory.
    pub fn commit(mut self) -> Result<(), DataError> {
        let writer = self.writer.take().expect("writer present until commit");
        let file = writer
            .into_inner()
            .map_err(|e| e.into_error())
            .map_err(write_error(&self.path))?;
        file.sync_all().map_err(write_error(&self.path))?;
        drop(file);
        fs::rename(&self.temp, &self.path).map_err(write_error(&self.path))?;
        sync_dir(parent_dir(&self.path)).map_err(write_error(&self.path))
    }

    fn writer(&mut self) -> &mut BufWriter<File> {
        self.writer.as_mut().expect("writer present until commit")
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer().flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Writes `value` as one JSON document (pretty-printed when `pretty`), atomically.
pub fn write_json<T: Serialize + ?Sized>(
    path: &Path,
    value: &T,
    pretty: bool,
) -> Result<(), DataError> {
    let mut file = AtomicFile::create(path)?;
    let written = if pretty {
        serde_json::to_writer_pretty(&mut file, value)
    } else {
        serde_json::to_writer(&mut file, value)
    };
    written.map_err(|e| encode_error(path, 0, e))?;
    file.write_all(b"\n").map_err(write_error(path))?;
    file.commit()
}

/// Streams items into a `.json` array or a `.jsonl` file, atomically: nothing is at the path until
/// [`ItemWriter::finish`].
#[derive(Debug)]
pub struct ItemWriter {
    file: AtomicFile,
    format: DataFormat,
    count: usize,
}

impl ItemWriter {
    /// A writer in the format `path`'s extension names (`.json` array or `.jsonl`).
    pub fn create(path: &Path) -> Result<Self, DataError> {
        Self::with_format(path, DataFormat::from_path(path)?)
    }

    /// A writer in `format`, whatever the extension.
    pub fn with_format(path: &Path, format: DataFormat) -> Result<Self, DataError> {
        let mut file = AtomicFile::create(path)?;
        if format == DataFormat::JsonArray {
            file.write_all(b"[").map_err(write_error(path))?;
        }
        Ok(Self {
            file,
            format,
            count: 0,
        })
    }

    /// Appends one item (a line of JSONL, an element of the array).
    pub fn push<T: Serialize + ?Sized>(&mut self, item: &T) -> Result<(), DataError> {
        let path = self.file.path().to_owned();
        if self.format == DataFormat::JsonArray {
            let separator: &[u8] = if self.count == 0 { b"\n" } else { b",\n" };
            self.file.write_all(separator).map_err(write_error(&path))?;
        }
        serde_json::to_writer(&mut self.file, item)
            .map_err(|e| encode_error(&path, self.count, e))?;
        if self.format == DataFormat::JsonLines {
            self.file.write_all(b"\n").map_err(write_error(&path))?;
        }
        self.count += 1;
        Ok(())
    }

    /// Items pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Closes the array (for `.json`) and commits the file. Returns the number of items.
    pub fn finish(mut self) -> Result<usize, DataError> {
        if self.format == DataFormat::JsonArray {
            let path = self.file.path().to_owned();
            self.file.write_all(b"\n]\n").map_err(write_error(&path))?;
        }
        self.file.commit()?;
        Ok(self.count)
    }
}

/// Writes `items` one JSON document per line, atomically. Returns the number of lines.
pub fn write_jsonl<T: Serialize>(
    path: &Path,
    items: impl IntoIterator<Item = T>,
) -> Result<usize, DataError> {
    write_all(ItemWriter::with_format(path, DataFormat::JsonLines)?, items)
}

/// Writes `items` as one top-level JSON array, one element per line, atomically, without building the array
/// in memory. Returns the number of elements.
pub fn write_json_array<T: Serialize>(
    path: &Path,
    items: impl IntoIterator<Item = T>,
) -> Result<usize, DataError> {
    write_all(ItemWriter::with_format(path, DataFormat::JsonArray)?, items)
}

/// Writes data items in the format `path`'s extension names (`.json` array or `.jsonl`), atomically.
pub fn write_items<T: Serialize>(
    path: &Path,
    items: impl IntoIterator<Item = T>,
) -> Result<usize, DataError> {
    write_all(ItemWriter::create(path)?, items)
}

fn write_all<T: Serialize>(
    mut writer: ItemWriter,
    items: impl IntoIterator<Item = T>,
) -> Result<usize, DataError> {
    for item in items {
        writer.push(&item)?;
    }
    writer.finish()
}

fn encode_error(path: &Path, index: usize, error: serde_json::Error) -> DataError {
    if error.is_io() {
        DataError::Write {
            path: path.to_owned(),
            source: error.into(),
        }
    } else {
        DataError::Encode {
            path: path.to_owned(),
            index,
            source: error,
        }
    }
}

/// A directory being filled atomically: write into [`AtomicDir::path`], then [`AtomicDir::commit`].
#[derive(Debug)]
pub struct AtomicDir {
    destination: PathBuf,
    staging: PathBuf,
    committed: bool,
}

impl AtomicDir {
    /// Creates the empty temporary `<dir>.tmp-<pid>` next to `dir` (removing a leftover of that name), creating
    /// missing parents.
    pub fn create(dir: &Path) -> Result<Self, DataError> {
        let temp = sibling(dir, &format!("tmp-{}", std::process::id()));
        if temp.exists() {
            fs::remove_dir_all(&temp).map_err(write_error(dir))?;
        }
        fs::create_dir_all(&temp).map_err(write_error(dir))?;
        Ok(Self {
            destination: dir.to_owned(),
            staging: temp,
            committed: false,
        })
    }

    /// Where to write the directory's contents until it is committed.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The final directory path.
    pub fn destination(&self) -> &Path {
        &self.destination
    }

    /// Syncs every file and directory under the temporary, renames it to the destination and syncs the parent.
    ///
    /// An existing destination is replaced: it is first renamed to `<dir>.old-<pid>` and removed once the new
    /// directory is in place (a crash in between leaves the old copy there, never a half-written one).
    pub fn commit(mut self) -> Result<PathBuf, DataError> {
        sync_tree(&self.staging).map_err(write_error(&self.destination))?;
        let old = sibling(&self.destination, &format!("old-{}", std::process::id()));
        let replacing = self.destination.exists();
        if replacing {
            if old.exists() {
                fs::remove_dir_all(&old).map_err(write_error(&self.destination))?;
            }
            fs::rename(&self.destination, &old).map_err(write_error(&self.destination))?;
        }
        fs::rename(&self.staging, &self.destination).map_err(write_error(&self.destination))?;
        self.committed = true;
        sync_dir(parent_dir(&self.destination)).map_err(write_error(&self.destination))?;
        if replacing {
            fs::remove_dir_all(&old).map_err(write_error(&old))?;
        }
        Ok(self.destination.clone())
    }
}

impl Drop for AtomicDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// `<dir>.<suffix>` next to `dir`.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".{suffix}"));
    dir.with_file_name(name)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn sync_tree(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        } else {
            File::open(entry.path())?.sync_all()?;
        }
    }
    sync_dir(dir)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    // Directories cannot be opened for syncing on this platform; the rename itself is atomic.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.txt");
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"hello").unwrap();
        assert!(!path.exists());
        file.commit().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "hello");
        assert_eq!(names(&dir.path().join("sub")), ["out.txt"]);
    }

    #[test]
    fn dropped_file_leaves_nothing_and_keeps_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        fs::write(&path, "old").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"half").unwrap();
        drop(file);
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(dir.path()), ["out.txt"]);
    }

    #[test]
    fn encode_error_leaves_nothing_behind() {
        enum Item {
            Fine,
            Broken,
        }
        impl Serialize for Item {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    Item::Fine => serializer.serialize_u8(1),
                    Item::Broken => Err(serde::ser::Error::custom("cannot encode")),
                }
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("items.jsonl");
        let err = write_jsonl(&path, [Item::Fine, Item::Broken, Item::Fine]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: cannot encode item 1 as JSON", path.display())
        );
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn json_writers_produce_what_serde_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let lines = dir.path().join("a.jsonl");
        assert_eq!(write_jsonl(&lines, [1, 2, 3]).unwrap(), 3);
        assert_eq!(fs::read_to_string(&lines).unwrap(), "1\n2\n3\n");
        let array = dir.path().join("a.json");
        assert_eq!(write_json_array(&array, ["x", "y"]).unwrap(), 2);
        let back: Vec<String> = serde_json::from_str(&fs::read_to_string(&array).unwrap()).unwrap();
        assert_eq!(back, ["x", "y"]);
        write_json_array(&array, Vec::<u8>::new()).unwrap();
        assert!(
            serde_json::from_str::<Vec<u8>>(&fs::read_to_string(&array).unwrap())
                .unwrap()
                .is_empty()
        );
        let doc = dir.path().join("report.json");
        write_json(&doc, &serde_json::json!({"a": [1]}), true).unwrap();
        assert_eq!(
            fs::read_to_string(&doc).unwrap(),
            "{\n  \"a\": [\n    1\n  ]\n}\n"
        );
        assert!(write_items(&dir.path().join("a.txt"), [1]).is_err());
        assert_eq!(write_items(&dir.path().join("b.jsonl"), [1]).unwrap(), 1);
    }

    #[test]
    fn directory_appears_only_on_commit_and_replaces_an_old_one() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("step-10");
        let staged = AtomicDir::create(&dest).unwrap();
        fs::create_dir(staged.path().join("inner")).unwrap();
        fs::write(staged.path().join("inner/w.bin"), b"new").unwrap();
        assert!(!dest.exists());
        assert_eq!(staged.commit().unwrap(), dest);
        assert_eq!(fs::read(dest.join("inner/w.bin")).unwrap(), b"new");

        let again = AtomicDir::create(&dest).unwrap();
        fs::write(again.path().join("only.txt"), b"second").unwrap();
        again.commit().unwrap();
        assert_eq!(names(&dest), ["only.txt"]);
        assert_eq!(names(root.path()), ["step-10"]);
    }

    #[test]
    fn dropped_directory_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let staged = AtomicDir::create(&root.path().join("ckpt")).unwrap();
        fs::write(staged.path().join("half.bin"), b"x").unwrap();
        assert!(staged
            .path()
            .ends_with(format!("ckpt.tmp-{}", std::process::id())));
        drop(staged);
        assert!(names(root.path()).is_empty());
    }
}
