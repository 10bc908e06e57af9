use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::error::LoadError;

/// Writes the directory `dir` atomically: `fill` populates a fresh temporary sibling directory, every file in it is
/// fsynced, then it is renamed onto `dir`. An existing `dir` is first renamed aside and removed once the new one
/// is in place. On error the temporary directory is removed and `dir` is untouched.
pub(crate) fn write_dir_atomic(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LoadError::Write { path, source }
    };
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "checkpoint".into());
    fs::create_dir_all(&parent).map_err(write_err(&parent))?;
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(write_err(&tmp))?;
    }
    fs::create_dir(&tmp).map_err(write_err(&tmp))?;

    let result = fill(&tmp).and_then(|()| {
        sync_tree(&tmp)?;
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        let had_old = dir.exists();
        if had_old {
            fs::rename(dir, &old).map_err(write_err(dir))?;
        }
        if let Err(source) = fs::rename(&tmp, dir) {
            if had_old {
                let _ = fs::rename(&old, dir);
            }
            return Err(LoadError::Write {
                path: dir.to_path_buf(),
                source,
            });
        }
        sync_dir(&parent);
        if had_old {
            fs::remove_dir_all(&old).map_err(write_err(&old))?;
        }
        Ok(())
    });
    if result.is_err() && tmp.exists() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

fn sync_tree(dir: &Path) -> Result<(), LoadError> {
    let entries = fs::read_dir(dir).map_err(|source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let path = entry
            .map_err(|source| LoadError::Io {
                path: dir.to_path_buf(),
                source,
            })?
            .path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|source| LoadError::Write {
                    path: path.clone(),
                    source,
                })?;
        }
    }
    sync_dir(dir);
    Ok(())
}

/// Best effort: some filesystems refuse to fsync a directory.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_an_existing_directory_and_leaves_no_temporaries() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ckpt");
        write_dir_atomic(&dir, |tmp| {
            fs::write(tmp.join("a"), "1").map_err(|source| LoadError::Write {
                path: tmp.join("a"),
                source,
            })
        })
        .unwrap();
        write_dir_atomic(&dir, |tmp| {
            fs::write(tmp.join("b"), "2").map_err(|source| LoadError::Write {
                path: tmp.join("b"),
                source,
            })
        })
        .unwrap();
        assert!(!dir.join("a").exists());
        assert_eq!(fs::read_to_string(dir.join("b")).unwrap(), "2");
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_fill_keeps_the_old_directory() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ckpt");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("keep"), "x").unwrap();
        let err = write_dir_atomic(&dir, |tmp| {
            fs::write(tmp.join("half"), "y").unwrap();
            Err(LoadError::MissingWeights {
                dir: tmp.to_path_buf(),
            })
        })
        .unwrap_err();
        assert!(matches!(err, LoadError::MissingWeights { .. }));
        assert!(dir.join("keep").exists());
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
