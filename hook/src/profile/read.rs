//! Reading a profile from a file: a regular file of at most 1 MiB (a FIFO never hangs the
//! reader) holding a seccomp profile ([`validate()`]). No error message echoes
//! the file's content; they name the rule and, at most, a field this tool knows.

use std::{
    fs::File,
    io::Read,
    os::unix::fs::{MetadataExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

use serde_json::Value;

use super::validate::validate;

/// A profile larger than this is refused: real profiles are tens of KiB.
pub const MAX_PROFILE_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
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
}

/// Reads a profile the caller names for themselves (`diff`, `merge`, `convert`).
pub fn read_profile(path: &Path) -> Result<Value, ReadError> {
    read_checked(path, |_, _| Ok(()))
}

/// Reads the profile at `path` once `allowed` accepts the open file (given its mode): the
/// hook's `if:` baseline adds its disclosure rule there.
pub fn read_checked<E: From<ReadError>>(
    path: &Path,
    allowed: impl FnOnce(&File, u32) -> Result<(), E>,
) -> Result<Value, E> {
    let owned = || path.to_owned();
    let read_err = |source| ReadError::Read {
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
        return Err(ReadError::NotAFile { path: owned() }.into());
    }
    allowed(&file, meta.mode())?;
    if meta.len() > MAX_PROFILE_BYTES {
        return Err(ReadError::TooLarge { path: owned() }.into());
    }
    let mut bytes = Vec::new();
    file.take(MAX_PROFILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    Ok(parse(path, &bytes)?)
}

/// `bytes` (read from `path`, which messages name) as a validated profile.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Value, ReadError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ReadError::Json {
        path: path.to_owned(),
        category: match e.classify() {
            serde_json::error::Category::Eof => "unexpected end",
            serde_json::error::Category::Syntax => "syntax",
            _ => "data",
        },
        line: e.line(),
        column: e.column(),
    })?;
    validate(&value).map_err(|problem| ReadError::NotAProfile {
        path: path.to_owned(),
        problem,
    })?;
    Ok(value)
}
