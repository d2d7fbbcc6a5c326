//! Writes a file so that readers see either the old content or the complete new one.

use std::{
    fs::{File, Permissions},
    io::Write,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

#[derive(Debug, thiserror::Error)]
#[error("cannot write the profile to {path} (does its directory exist, is it writable?)")]
pub struct OutputError {
    path: PathBuf,
    source: std::io::Error,
}

#[derive(Debug, thiserror::Error)]
#[error("the output directory {0} does not exist; create it or choose another path")]
pub struct MissingDirError(PathBuf);

/// Fails early (before recording anything) when the profile could not be written later.
pub fn check_parent_dir(path: &Path) -> Result<(), MissingDirError> {
    let dir = parent_dir(path);
    if dir.is_dir() {
        Ok(())
    } else {
        Err(MissingDirError(dir.to_owned()))
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Temp file in the same directory, fsync, mode 0644, rename over `path`, fsync the directory.
/// A crash at any point leaves `path` as it was, plus at most one `.oci-seccomp-*` temp file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let fail = |source| OutputError {
        path: path.to_owned(),
        source,
    };
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".oci-seccomp-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    // Explicit mode: the temp file starts at 0600 and the umask must not decide the result.
    tmp.as_file()
        .set_permissions(Permissions::from_mode(0o644))
        .map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_content_with_mode_0644_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        write_atomically(&path, b"{}\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{}\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn replaces_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, b"old").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn missing_directory_is_reported_with_the_path() {
        let err = write_atomically(Path::new("/nonexistent-dir/p.json"), b"x").unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/p.json"), "{err}");
    }
}
