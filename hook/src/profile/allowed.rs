//! Directories an administrator lists in the hooks.d JSON (`--allowed-output-dir`,
//! `--allowed-input-dir`). Paths in the annotation come from whoever may create a container;
//! these lists are the node owner's word on where the hook, running as root, may go.

use std::{
    os::fd::{AsFd, AsRawFd},
    path::{Path, PathBuf},
};

#[derive(Debug, thiserror::Error)]
#[error("{flag} {dir} does not exist or is not a directory (fix the hooks.d JSON args)")]
pub struct AllowedDirError {
    flag: &'static str,
    dir: PathBuf,
}

/// Real (canonical) directories; empty means "no limit set".
#[derive(Debug, Clone, Default)]
pub struct AllowedDirs {
    flag: &'static str,
    dirs: Vec<PathBuf>,
}

impl AllowedDirs {
    /// Resolves every `dirs` entry given with `flag`; each must exist.
    pub fn resolve(flag: &'static str, dirs: &[PathBuf]) -> Result<Self, AllowedDirError> {
        let dirs = dirs
            .iter()
            .map(|d| match std::fs::canonicalize(d) {
                Ok(real) if real.is_dir() => Ok(real),
                _ => Err(AllowedDirError {
                    flag,
                    dir: d.clone(),
                }),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { flag, dirs })
    }

    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty()
    }

    /// True when `real` (a path with symlinks resolved) lies inside one of the directories.
    pub fn contains(&self, real: &Path) -> bool {
        self.dirs.iter().any(|d| real.starts_with(d))
    }

    /// The list as the administrator reads it in an error: "DIR, DIR (--flag)".
    pub fn describe(&self) -> String {
        let list: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        format!("{} ({})", list.join(", "), self.flag)
    }
}

/// Where an open file or directory really is: the kernel's own name for it, every symlink
/// resolved at open time, so a path swapped afterwards cannot change the answer.
pub fn real_path(fd: impl AsFd) -> std::io::Result<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_symlinks_and_compares_real_paths() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let allowed = AllowedDirs::resolve("--allowed-input-dir", &[link]).unwrap();
        let real = real.canonicalize().unwrap();
        assert!(allowed.contains(&real.join("a/b.json")));
        assert!(!allowed.contains(&root.path().canonicalize().unwrap().join("x")));
        assert!(allowed.describe().ends_with("(--allowed-input-dir)"));
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_flag() {
        let err = AllowedDirs::resolve("--allowed-output-dir", &["/nonexistent-x".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--allowed-output-dir /nonexistent-x"), "{err}");
    }

    #[test]
    fn real_path_of_an_open_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = std::fs::File::open(dir.path()).unwrap();
        assert_eq!(
            real_path(&file).unwrap(),
            dir.path().canonicalize().unwrap()
        );
    }
}
