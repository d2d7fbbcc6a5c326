//! Identifies a PID namespace the way the eBPF helper `bpf_get_ns_current_pid_tgid` expects.

use std::path::{Path, PathBuf};

/// A PID namespace, named by the device and inode of its `/proc/PID/ns/pid` link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidNamespace {
    /// Device number in the kernel's internal `dev_t` encoding.
    pub dev: u64,
    pub ino: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read the PID namespace at {path} (has the process exited?)")]
pub struct PidNsError {
    path: PathBuf,
    source: rustix::io::Errno,
}

impl PidNamespace {
    /// The PID namespace process `pid` lives in.
    pub fn of_pid(pid: i32) -> Result<Self, PidNsError> {
        Self::of_link(&PathBuf::from(format!("/proc/{pid}/ns/pid")))
    }

    /// The namespace behind a `/proc/*/ns/pid` link (or a bind mount of one).
    pub fn of_link(path: &Path) -> Result<Self, PidNsError> {
        let st = rustix::fs::stat(path).map_err(|source| PidNsError {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            dev: kernel_dev(st.st_dev),
            ino: st.st_ino,
        })
    }
}

/// Converts a `st_dev` as `stat(2)` reports it into the kernel's `MKDEV(major, minor)` form,
/// which is what the helper compares against. The two agree only for small numbers, so a
/// namespace filesystem with a large minor would otherwise never match.
pub fn kernel_dev(user_dev: u64) -> u64 {
    let major = u64::from(rustix::fs::major(user_dev));
    let minor = u64::from(rustix::fs::minor(user_dev));
    (major << 20) | minor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_device_numbers_are_the_same_in_both_encodings() {
        assert_eq!(kernel_dev(rustix::fs::makedev(0, 4)), 4);
    }

    #[test]
    fn large_minor_moves_to_the_kernel_layout() {
        let user = rustix::fs::makedev(8, 0x12345);
        assert_eq!(kernel_dev(user), (8 << 20) | 0x12345);
    }

    #[test]
    fn own_namespace_is_readable_and_stable() {
        let a = PidNamespace::of_link(Path::new("/proc/self/ns/pid")).unwrap();
        let b = PidNamespace::of_pid(std::process::id() as i32).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn missing_process_says_what_failed() {
        let err = PidNamespace::of_pid(i32::MAX).unwrap_err().to_string();
        assert!(err.contains("/proc/2147483647/ns/pid"), "{err}");
    }
}
