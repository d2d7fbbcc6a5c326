//! The `if:` baseline: a profile to extend, named by whoever may create a container and read
//! by the hook as root. Its content ends up in a file that person chooses, so the hook reads
//! only what they could have read themselves (a file every user may read, or one under an
//! administrator's `--allowed-input-dir`), and only a seccomp profile (see [`validate`]):
//! a credential file is never copied out, whatever its permissions. No error message echoes
//! the file's content; they name the rule and, at most, a field this tool knows.

use std::{
    fs::File,
    io::Read,
    os::unix::fs::{MetadataExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

use serde_json::Value;

use crate::allowed::{real_path, AllowedDirs};

mod validate;

pub use validate::validate;

/// A baseline larger than this is refused: real profiles are tens of KiB.
pub const MAX_BASELINE_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read the profile {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the profile {path} is not a regular file")]
    NotAFile { path: PathBuf },
    #[error("the profile {path} is larger than 1 MiB")]
    TooLarge { path: PathBuf },
    // Position only: a message must never echo the file's content.
    #[error(
        "the profile {path} is not valid JSON ({category} error at line {line}, column {column})"
    )]
    Json {
        path: PathBuf,
        category: &'static str,
        line: usize,
        column: usize,
    },
    #[error("{path} is not a seccomp profile: {problem}")]
    NotAProfile { path: PathBuf, problem: String },
    #[error(
        "the baseline profile {path} is not readable by every user ({why}), and the hook, \
         running as root, would copy it into a file of the requester's choosing; make it \
         world-readable, or ask the administrator to list its directory with \
         --allowed-input-dir{listed}"
    )]
    Private {
        path: PathBuf,
        why: String,
        listed: String,
    },
}

/// Reads `path` as a baseline: a regular file of at most 1 MiB, readable by every user or
/// under one of `allowed`, holding a seccomp profile.
pub fn read(path: &Path, allowed: &AllowedDirs) -> Result<Value, BaselineError> {
    read_checked(path, |file, mode| {
        check_readable_by_all(file, mode, allowed).map_err(|why| BaselineError::Private {
            path: path.to_owned(),
            why,
            listed: if allowed.is_empty() {
                String::new()
            } else {
                format!(" (now: {})", allowed.describe())
            },
        })
    })
}

/// Reads a profile the caller names for themselves (`diff`, `merge`, `convert`): the same
/// checks as [`read`] but the disclosure one, which only matters when root reads for others.
pub fn read_profile(path: &Path) -> Result<Value, BaselineError> {
    read_checked(path, |_, _| Ok(()))
}

/// A regular file of at most 1 MiB that `allowed` accepts (given the open file and its mode),
/// holding a seccomp profile.
fn read_checked(
    path: &Path,
    allowed: impl FnOnce(&File, u32) -> Result<(), BaselineError>,
) -> Result<Value, BaselineError> {
    let owned = || path.to_owned();
    let read_err = |source| BaselineError::Read {
        path: owned(),
        source,
    };
    // O_NONBLOCK: opening a FIFO must not hang the hook (and the container start with it).
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(BaselineError::NotAFile { path: owned() });
    }
    allowed(&file, meta.mode())?;
    if meta.len() > MAX_BASELINE_BYTES {
        return Err(BaselineError::TooLarge { path: owned() });
    }
    let mut bytes = Vec::new();
    file.take(MAX_BASELINE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| BaselineError::Json {
        path: owned(),
        category: match e.classify() {
            serde_json::error::Category::Eof => "unexpected end",
            serde_json::error::Category::Syntax => "syntax",
            _ => "data",
        },
        line: e.line(),
        column: e.column(),
    })?;
    validate(&value).map_err(|problem| BaselineError::NotAProfile {
        path: owned(),
        problem,
    })?;
    Ok(value)
}

/// Every user may read the file: it has o+r and every directory above it o+x. Otherwise it
/// must lie under one of `allowed`. Both judged on the real path of the open file.
fn check_readable_by_all(file: &File, mode: u32, allowed: &AllowedDirs) -> Result<(), String> {
    let real = real_path(file).map_err(|e| format!("cannot resolve its real path: {e}"))?;
    if allowed.contains(&real) {
        return Ok(());
    }
    if mode & 0o004 == 0 {
        return Err(format!(
            "mode {:04o} has no read bit for others",
            mode & 0o7777
        ));
    }
    for dir in real.ancestors().skip(1) {
        let dir_mode = std::fs::metadata(dir)
            .map_err(|e| format!("cannot check {}: {e}", dir.display()))?
            .mode();
        if dir_mode & 0o001 == 0 {
            return Err(format!(
                "its directory {} has mode {:04o}, which others cannot enter",
                dir.display(),
                dir_mode & 0o7777
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
