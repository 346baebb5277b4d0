//! Output files that never destroy data: every writer goes through [`Output`].
//!
//! [`Output::begin`] checks the target before anything is opened for writing: a folder, a
//! missing parent folder, an existing file without `overwrite`, and a target that is the same
//! file as one of the inputs (same path after canonicalization, or the same device and inode,
//! which catches hard links) are refused. It then reserves a hidden temporary file beside the
//! target; writers write there, and [`Output::commit`] flushes it to disk and renames it over
//! the target in one step. An `Output` dropped without a commit (an error, a cancel, a panic
//! unwinding) removes its temporary file, so the old target stays exactly as it was.
//!
//! Temporary files alive in this process are also listed in a registry that
//! [`remove_pending`] empties: the command line calls it when a second Ctrl-C exits at once,
//! so not even a hidden partial file stays behind.
//!
//! ```no_run
//! use std::io::Write;
//! use stackscope::output::Output;
//!
//! let out = Output::begin("mean.csv".as_ref(), &["stack.npy".as_ref()], false)?;
//! let mut file = out.create()?;
//! writeln!(file, "frame,mean").map_err(|e| out.io_error(e))?;
//! drop(file);
//! out.commit()?;
//! # Ok::<(), stackscope::output::OutputError>(())
//! ```

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Why an output cannot be written. Messages say what to do; the command line adds the flag.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{}: already exists; allow overwriting to replace it", .path.display())]
    Exists { path: PathBuf },

    #[error("{}: is a directory; give a file name", .path.display())]
    IsDirectory { path: PathBuf },

    #[error("{}: the folder {} does not exist", .path.display(), .folder.display())]
    NoFolder { path: PathBuf, folder: PathBuf },

    #[error(
        "{}: is the same file as the input {}; write the output somewhere else",
        .path.display(), .input.display()
    )]
    SameAsInput { path: PathBuf, input: PathBuf },

    #[error("{}: {cause}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
}

/// Whether `a` and `b` name the same existing file (path, symlink or hard link).
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if ma.dev() == mb.dev() && ma.ino() == mb.ino() {
            return true;
        }
    }
    let _ = (ma, mb);
    matches!(
        (std::fs::canonicalize(a), std::fs::canonicalize(b)),
        (Ok(ca), Ok(cb)) if ca == cb
    )
}

/// Checks `path` as an output for `inputs` without touching anything.
pub fn check(path: &Path, inputs: &[&Path], overwrite: bool) -> Result<(), OutputError> {
    if path.is_dir() {
        return Err(OutputError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    if path.file_name().is_none() {
        return Err(OutputError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let folder = parent_of(path);
    if !folder.is_dir() {
        return Err(OutputError::NoFolder {
            path: path.to_path_buf(),
            folder: folder.to_path_buf(),
        });
    }
    if let Some(input) = inputs.iter().find(|input| same_file(path, input)) {
        return Err(OutputError::SameAsInput {
            path: path.to_path_buf(),
            input: input.to_path_buf(),
        });
    }
    if path.exists() && !overwrite {
        return Err(OutputError::Exists {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A file being written: a temporary file beside the target until [`Output::commit`].
#[derive(Debug)]
pub struct Output {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
}

impl Output {
    /// Checks the target (see [`check`]) and reserves a temporary file beside it. The
    /// temporary name keeps the target's extension, so writers that pick the format from
    /// the name (PNG, TIFF) write the right one.
    pub fn begin(path: &Path, inputs: &[&Path], overwrite: bool) -> Result<Self, OutputError> {
        check(path, inputs, overwrite)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ext = path
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let temp = parent_of(path).join(format!(
                ".{name}.stackscope-{}-{n}.partial{ext}",
                std::process::id()
            ));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
            {
                Ok(_) => {
                    registry().insert(temp.clone());
                    return Ok(Self {
                        target: path.to_path_buf(),
                        temp,
                        committed: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(cause) => {
                    return Err(OutputError::Io {
                        path: path.to_path_buf(),
                        cause,
                    });
                }
            }
        }
    }

    /// The file the output ends up as.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Where writers write until the commit.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Opens the temporary file for writing (truncated).
    pub fn create(&self) -> Result<File, OutputError> {
        File::create(&self.temp).map_err(|e| self.io_error(e))
    }

    /// An I/O error while writing, attributed to the target.
    pub fn io_error(&self, cause: std::io::Error) -> OutputError {
        OutputError::Io {
            path: self.target.clone(),
            cause,
        }
    }

    /// Flushes the temporary file to disk and renames it over the target. Returns the
    /// file's size in bytes.
    pub fn commit(mut self) -> Result<u64, OutputError> {
        let file = File::open(&self.temp).map_err(|e| self.io_error(e))?;
        file.sync_all().map_err(|e| self.io_error(e))?;
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        drop(file);
        std::fs::rename(&self.temp, &self.target).map_err(|e| self.io_error(e))?;
        self.committed = true;
        registry().remove(&self.temp);
        Ok(bytes)
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
            registry().remove(&self.temp);
        }
    }
}

/// Writes `path` in one go through a temporary file; the old file survives any failure.
pub fn write_bytes(
    path: &Path,
    inputs: &[&Path],
    overwrite: bool,
    bytes: &[u8],
) -> Result<u64, OutputError> {
    let out = Output::begin(path, inputs, overwrite)?;
    std::fs::write(out.temp_path(), bytes).map_err(|e| out.io_error(e))?;
    out.commit()
}

struct Registry(Mutex<HashSet<PathBuf>>);

impl Registry {
    fn insert(&self, p: PathBuf) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(p);
    }
    fn remove(&self, p: &Path) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(p);
    }
}

fn registry() -> &'static Registry {
    static PENDING: OnceLock<Registry> = OnceLock::new();
    PENDING.get_or_init(|| Registry(Mutex::new(HashSet::new())))
}

/// Lists a temporary file written outside [`Output`] (a frame cache entry) for
/// [`remove_pending`].
pub(crate) fn track_pending(path: &Path) {
    registry().insert(path.to_path_buf());
}

/// Takes a file listed by [`track_pending`] off the list: it was renamed or removed.
pub(crate) fn forget_pending(path: &Path) {
    registry().remove(path);
}

/// Removes every temporary output file of this process that is not committed yet. For a
/// process about to exit without unwinding (a second Ctrl-C); writers still running lose
/// their file, which is the point.
pub fn remove_pending() {
    let pending: Vec<PathBuf> = registry()
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .drain()
        .collect();
    for p in pending {
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commit_replaces_and_drop_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        std::fs::write(&target, b"old").unwrap();
        assert!(matches!(
            Output::begin(&target, &[], false),
            Err(OutputError::Exists { .. })
        ));
        let out = Output::begin(&target, &[], true).unwrap();
        std::fs::write(out.temp_path(), b"half").unwrap();
        assert!(out.temp_path().to_string_lossy().ends_with(".csv"));
        drop(out);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(entries(dir.path()), vec!["out.csv"]);
        let out = Output::begin(&target, &[], true).unwrap();
        std::fs::write(out.temp_path(), b"new!").unwrap();
        assert_eq!(out.commit().unwrap(), 4);
        assert_eq!(std::fs::read(&target).unwrap(), b"new!");
        assert_eq!(entries(dir.path()), vec!["out.csv"]);
    }

    #[test]
    fn the_same_file_as_an_input_is_refused_by_path_symlink_and_hard_link() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.npy");
        std::fs::write(&input, b"data").unwrap();
        let dotted = dir.path().join(".").join("in.npy");
        let hard = dir.path().join("hard.npy");
        std::fs::hard_link(&input, &hard).unwrap();
        let soft = dir.path().join("soft.npy");
        std::os::unix::fs::symlink(&input, &soft).unwrap();
        for alias in [&input, &dotted, &hard, &soft] {
            let e = Output::begin(alias, &[&input], true).unwrap_err();
            assert!(matches!(e, OutputError::SameAsInput { .. }), "{alias:?}");
        }
        assert_eq!(std::fs::read(&input).unwrap(), b"data");
        let other = dir.path().join("other.npy");
        assert!(Output::begin(&other, &[&input], false).is_ok());
    }

    #[test]
    fn folders_and_missing_parents_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            check(dir.path(), &[], true),
            Err(OutputError::IsDirectory { .. })
        ));
        assert!(matches!(
            check(&dir.path().join("no/such/out.png"), &[], true),
            Err(OutputError::NoFolder { .. })
        ));
    }
}
