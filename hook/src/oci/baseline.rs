//! The `if:` baseline: a profile to extend, named by whoever may create a container and read
//! by the hook as root. Its content ends up in a file that person chooses, so the hook reads
//! only what they could have read themselves (a file every user may read, or one under an
//! administrator's `--allowed-input-dir`), and only a seccomp profile (see
//! [`read_checked`]): a credential file is never copied out, whatever its permissions.

use std::{
    fs::File,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use serde_json::Value;

use crate::profile::{
    allowed::{real_path, AllowedDirs},
    read::{read_checked, ReadError},
};

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error(transparent)]
    Read(#[from] ReadError),
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
