//! Where the profile goes, checked before the container starts and written atomically after.
//!
//! The path comes from a container annotation, i.e. from whoever may create a container, and
//! the hook writes it as root. So the directory is opened once, at the check, and the write
//! later goes through that descriptor (`openat`/`renameat` with `O_NOFOLLOW`/`O_EXCL`): swapping
//! a symlink in the path after the check cannot move the write elsewhere. Refused up front: a
//! final component that is a symlink or not a regular file, a parent that is not a directory,
//! kernel filesystems (`/proc`, `/sys`, `/dev` and their kinds), and, when the administrator
//! lists allowed directories, anything outside them.

use std::{
    ffi::OsString,
    os::{
        fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd},
        unix::ffi::OsStrExt,
    },
    path::{Component, Path, PathBuf},
};

use super::allowed::{real_path, AllowedDirs};
use rustix::{
    fs::{self as rfs, AtFlags, FileType, Mode, OFlags},
    io::Errno,
};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("refusing output path {path}: {reason}")]
    Refused { path: PathBuf, reason: String },
    #[error("the output directory {0} does not exist or is not a directory; create it or choose another path")]
    MissingDir(PathBuf),
    #[error("cannot write the profile to {path} (is its directory writable, is the disk full?)")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Kernel filesystems no profile may be written into, whatever path leads there.
const FORBIDDEN_PREFIXES: [&str; 3] = ["/proc", "/sys", "/dev"];
const FORBIDDEN_FS: [(u64, &str); 9] = [
    (0x9fa0, "proc"),
    (0x6265_6572, "sysfs"),
    (0x1cd1, "devpts"),
    (0x2772_06e6, "cgroup"),
    (0x6367_7270, "cgroup2"),
    (0xcafe_4a11, "bpf"),
    (0x6462_6720, "debugfs"),
    (0x7472_6163, "tracefs"),
    (0x7363_6673, "securityfs"),
];

const TEMP_PREFIX: &str = ".oci-seccomp-";

/// Beside an output whose recording failed: why, in one line (`c.json.failed`). Where a user
/// without poststop or syslog looks.
pub const FAILED_SUFFIX: &str = ".failed";
/// Beside an output whose recording is incomplete: the partial profile (`c.json.incomplete`),
/// never enforced by mistake under the output's own name.
pub const INCOMPLETE_SUFFIX: &str = ".incomplete";

/// An output file whose directory is held open.
#[derive(Debug)]
pub struct Output {
    dir: OwnedFd,
    name: OsString,
    path: PathBuf,
}

impl Output {
    /// Checks `path` and opens its directory. `allowed` limits where profiles may go; empty
    /// means anywhere not refused otherwise.
    pub fn open(path: &Path, allowed: &AllowedDirs) -> Result<Self, OutputError> {
        let refuse = |reason: String| OutputError::Refused {
            path: path.to_owned(),
            reason,
        };
        let name = match path.file_name() {
            Some(name) if !path.as_os_str().as_bytes().ends_with(b"/") => name.to_owned(),
            _ => return Err(refuse("it does not name a file".into())),
        };
        if path.components().any(|c| c == Component::ParentDir) {
            return Err(refuse(
                "it contains \"..\"; give the path without it".into(),
            ));
        }
        let absolute = std::path::absolute(path).map_err(|e| refuse(e.to_string()))?;
        if let Some(prefix) = FORBIDDEN_PREFIXES.iter().find(|p| absolute.starts_with(p)) {
            return Err(refuse(format!("it is under {prefix}, a kernel filesystem")));
        }
        let parent = parent_dir(path);
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let dir = rfs::open(parent, flags, Mode::empty())
            .map_err(|_| OutputError::MissingDir(parent.to_owned()))?;
        let output = Output {
            dir,
            name,
            path: path.to_owned(),
        };
        output.check_filesystem().map_err(refuse)?;
        output.check_allowed(allowed).map_err(refuse)?;
        output.check_target().map_err(refuse)?;
        Ok(output)
    }

    /// The path as the user gave it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file beside this one whose name adds `suffix` (`c.json` + `.failed`), written
    /// through the same held directory.
    pub fn sibling(&self, suffix: &str) -> Result<Output, OutputError> {
        let mut name = self.name.clone();
        name.push(suffix);
        let mut path = self.path.clone().into_os_string();
        path.push(suffix);
        let dir = self.dir.try_clone().map_err(|source| OutputError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(Output {
            dir,
            name,
            path: path.into(),
        })
    }

    /// Removes the file if it is there (a stale sibling); a file that cannot be removed stays.
    pub fn remove(&self) {
        let _ = rfs::unlinkat(&self.dir, &self.name, AtFlags::empty());
    }

    /// The held directory, for a process that must keep it across a fork.
    pub fn dir_fd(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }

    fn check_filesystem(&self) -> Result<(), String> {
        let stat = rfs::fstatfs(&self.dir).map_err(|e| e.to_string())?;
        let kind = stat.f_type as u64;
        match FORBIDDEN_FS.iter().find(|(magic, _)| *magic == kind) {
            Some((_, fs)) => Err(format!("its directory is on a {fs} filesystem")),
            None => Ok(()),
        }
    }

    fn check_allowed(&self, allowed: &AllowedDirs) -> Result<(), String> {
        if allowed.is_empty() {
            return Ok(());
        }
        let real =
            real_path(&self.dir).map_err(|e| format!("cannot resolve its directory: {e}"))?;
        if allowed.contains(&real) {
            return Ok(());
        }
        Err(format!(
            "its directory {} is outside the allowed output directories {} set by the administrator",
            real.display(),
            allowed.describe()
        ))
    }

    /// The final component: absent, or a regular file (never a symlink), whose owner and
    /// mode a rewrite keeps.
    fn check_target(&self) -> Result<Option<Ownership>, String> {
        match rfs::statat(&self.dir, &self.name, AtFlags::SYMLINK_NOFOLLOW) {
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.to_string()),
            Ok(stat) => match FileType::from_raw_mode(stat.st_mode) {
                FileType::RegularFile => Ok(Some(Ownership {
                    uid: stat.st_uid,
                    gid: stat.st_gid,
                    // Permission bits only: no set-id bit survives a rewrite by root.
                    mode: stat.st_mode & 0o777,
                })),
                FileType::Symlink => Err("it is a symbolic link; name the real file".into()),
                other => Err(format!("it exists and is not a regular file ({other:?})")),
            },
        }
    }

    /// Temp file in the held directory, fsync, rename over the name, fsync the directory.
    /// A new file is the writer's (root:root) with mode 0644; a rewrite keeps the old file's
    /// owner, group and mode. Readers see the old file or the whole new one; on any failure
    /// the temp file is removed and the old file is untouched.
    pub fn write(&self, bytes: &[u8]) -> Result<(), OutputError> {
        let existing = self.check_target().map_err(|reason| OutputError::Refused {
            path: self.path.clone(),
            reason,
        })?;
        let io = |e: Errno| OutputError::Io {
            path: self.path.clone(),
            source: e.into(),
        };
        self.remove_stale_temps();
        let (tmp_name, file) = self.create_temp().map_err(io)?;
        let written = write_all(&file, bytes)
            .and_then(|()| take_ownership(&file, existing))
            .and_then(|()| rfs::fsync(&file))
            .and_then(|()| rfs::renameat(&self.dir, &tmp_name, &self.dir, &self.name));
        if let Err(e) = written {
            let _ = rfs::unlinkat(&self.dir, &tmp_name, AtFlags::empty());
            return Err(io(e));
        }
        rfs::fsync(&self.dir).map_err(io)
    }

    /// Temp files of writers killed mid-write (SIGKILL, OOM): their names carry the writer's
    /// PID, and those whose writer is gone are removed, so a kill never leaves litter for good.
    fn remove_stale_temps(&self) {
        let listing = format!("/proc/self/fd/{}", self.dir.as_raw_fd());
        let Ok(entries) = std::fs::read_dir(listing) else {
            return;
        };
        for name in entries.flatten().map(|e| e.file_name()) {
            let Some(pid) = temp_owner(&name) else {
                continue;
            };
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = rfs::unlinkat(&self.dir, &name, AtFlags::empty());
            }
        }
    }

    fn create_temp(&self) -> Result<(OsString, OwnedFd), Errno> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut attempt = 0u32;
        loop {
            let name = OsString::from(format!(
                "{TEMP_PREFIX}{}-{}-{attempt}.tmp",
                std::process::id(),
                nanos()
            ));
            match rfs::openat(&self.dir, &name, flags, Mode::from_raw_mode(0o600)) {
                Ok(fd) => return Ok((name, fd)),
                Err(Errno::EXIST) if attempt < 100 => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Owner, group and permission bits of a file being replaced.
#[derive(Debug, Clone, Copy)]
struct Ownership {
    uid: u32,
    gid: u32,
    mode: u32,
}

/// Gives the new file the old one's owner and mode, or 0644 (owner: the writer) when new.
fn take_ownership(file: &OwnedFd, existing: Option<Ownership>) -> Result<(), Errno> {
    let Some(old) = existing else {
        return rfs::fchmod(file, Mode::from_raw_mode(0o644));
    };
    let (uid, gid) = (rfs::Uid::from_raw(old.uid), rfs::Gid::from_raw(old.gid));
    rfs::fchown(file, Some(uid), Some(gid))?;
    // After the chown, which clears set-id bits: the mode is the last word.
    rfs::fchmod(file, Mode::from_raw_mode(old.mode))
}

/// The PID in a temp file name made by [`Output::create_temp`].
fn temp_owner(name: &std::ffi::OsStr) -> Option<u32> {
    let name = name.to_str()?;
    let rest = name.strip_prefix(TEMP_PREFIX)?.strip_suffix(".tmp")?;
    rest.split('-').next()?.parse().ok()
}

fn write_all(fd: &OwnedFd, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) => return Err(Errno::NOSPC),
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Checks and writes in one go (for `record`, where nobody else controls the path).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    Output::open(path, &AllowedDirs::default())?.write(bytes)
}

#[cfg(test)]
mod tests;
