//! The real runtime the wrapper becomes: `$OCI_SECCOMP_BPF_RUNTIME` (a path, or a name looked
//! up on PATH), else the first of runc and crun on PATH; never the wrapper itself.

use std::path::{Path, PathBuf};

/// Names the real runtime when set.
pub const RUNTIME_VAR: &str = "OCI_SECCOMP_BPF_RUNTIME";
const DEFAULTS: [&str; 2] = ["runc", "crun"];

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("no OCI runtime found: install runc or crun, or set {RUNTIME_VAR} to one's path")]
    NotFound,
    #[error("{RUNTIME_VAR} names {0}, which is not an executable file")]
    Missing(String),
    #[error(
        "the real runtime {0} is this wrapper itself: set {RUNTIME_VAR} to the path of runc \
         or crun"
    )]
    Itself(PathBuf),
}

/// The runtime to become.
pub fn real_runtime() -> Result<PathBuf, RuntimeError> {
    let found = match std::env::var(RUNTIME_VAR) {
        Ok(name) if !name.is_empty() => find(&name).ok_or(RuntimeError::Missing(name.clone()))?,
        _ => DEFAULTS
            .iter()
            .find_map(|name| find(name))
            .ok_or(RuntimeError::NotFound)?,
    };
    let me = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok());
    if found.canonicalize().ok() == me {
        return Err(RuntimeError::Itself(found));
    }
    Ok(found)
}

/// `name` itself when it is a path, else the first match on PATH.
fn find(name: &str) -> Option<PathBuf> {
    let executable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        return Some(PathBuf::from(name)).filter(|p| executable(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| executable(p))
}
