//! What the OCI runtime itself does under the container's filter, whatever the recording ran
//! under. runc and crun install the filter earliest when `NoNewPrivileges` is off (podman's and
//! Docker's default; a Kubernetes container unless `allowPrivilegeEscalation: false`): before
//! they close inherited descriptors, drop capabilities, change user and directory and wait for
//! the start signal. A recording made without a filter (Kubernetes' `Unconfined`, podman's
//! `seccomp=unconfined`) starts at the workload's execve, and one made with `NoNewPrivileges`
//! starts after all that: either profile, enforced without `NoNewPrivileges`, would stop the
//! runtime short of the workload. So every container profile allows the calls its runtime
//! makes in that stretch, measured per runtime and version (`tests/tests/exactness.rs` records
//! each way and enforces each way, and fails when a runtime starts making a call listed here
//! for no runtime). Nothing the runtime does before the filter install (mount, pivot_root,
//! sethostname) is among them.

/// The OCI runtime that ran the container, as the hook tells it from its parent process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Runc,
    Crun,
    /// Another runtime, or one that could not be told: it gets what runc and crun both make.
    Unknown,
}

/// runc after `InitSeccomp` in `libcontainer/standard_init_linux.go` (`setns_init_linux.go`
/// for `runc exec` makes a subset). Measured on 1.1.5 (Debian 12) over 25 podman runs, as root
/// and as another user: `finalizeNamespace` closes the descriptors it does not pass on
/// (`/proc/self/fd` checked to be procfs, read, each marked close-on-exec; 1.2+ with
/// `close_range`), reads `/proc/self/status`, drops the bounding set, sets ambient capabilities
/// and the user (`setgroups`, `setgid`, `setuid`, the standard descriptors `fchown`ed), changes
/// directory; the binary is looked up (`faccessat2`), the exec FIFO opened and written, and the
/// workload `execve`d. From 1.3's sources: `/proc` reached through `openat2` (`statx`,
/// `readlinkat` without it), `getcwd`, glibc's setxid broadcast (`tgkill`), Go's restored
/// RLIMIT_NOFILE (`prlimit64`). The Go runtime may park, yield, take a signal, preempt or grow
/// its heap at any moment in between (its init thread runs with one P, so it does not spin
/// in `nanosleep` looking for work). Left out: what only a failure path tries (the mount API
/// `/proc` fallbacks, whose ENOSYS sends runc on to plain `openat`).
const RUNC: &[&str] = &[
    "brk",
    "capget",
    "capset",
    "chdir",
    "close",
    "close_range",
    "epoll_ctl",
    "execve",
    "faccessat2",
    "fchown",
    "fcntl",
    "fstat",
    "fstatfs",
    "futex",
    "getcwd",
    "getdents64",
    "getpid",
    "getppid",
    "madvise",
    "mmap",
    "munmap",
    "newfstatat",
    "openat",
    "openat2",
    "prctl",
    "prlimit64",
    "read",
    "readlinkat",
    "restart_syscall",
    "rt_sigreturn",
    "sched_yield",
    "setgid",
    "setgroups",
    "setuid",
    "statx",
    "tgkill",
    "write",
];

/// crun after `libcrun_apply_seccomp` in `src/libcrun/container.c`. Measured on 1.8 (Debian
/// 12) over 25 podman runs, as root and as another user: the bounding set, `setresgid` and
/// `setresuid`, `capset` and ambient capabilities through `prctl`, signal dispositions reset
/// (`rt_sigprocmask`, `rt_sigaction`), the start notification on the sync socket (`write`),
/// the wait for `start` on the exec FIFO (`pselect6`, `read`), `execve`. From 1.2x's sources:
/// `close_range` before `execve` (a walk of `/proc/self/fd` where it fails), a retried
/// `chdir` checked with `getcwd`, and for `exec` the `setgroups` and the terminal's
/// `ioctl`/`fchown`.
const CRUN: &[&str] = &[
    "capget",
    "capset",
    "chdir",
    "close",
    "close_range",
    "execve",
    "fchown",
    "fcntl",
    "fstat",
    "fstatfs",
    "futex",
    "getcwd",
    "getdents64",
    "ioctl",
    "newfstatat",
    "openat",
    "prctl",
    "pselect6",
    "read",
    "restart_syscall",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_yield",
    "setgroups",
    "setresgid",
    "setresuid",
    "write",
];

impl Runtime {
    /// The runtime whose executable is `path` (`/proc/PID/exe` of the hook's parent): runc,
    /// crun, else unknown.
    pub fn of_executable(path: &str) -> Self {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.contains("crun") {
            Runtime::Crun
        } else if name.contains("runc") {
            Runtime::Runc
        } else {
            Runtime::Unknown
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Runtime::Runc => "runc",
            Runtime::Crun => "crun",
            Runtime::Unknown => "unknown",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Runtime::Runc, Runtime::Crun, Runtime::Unknown]
            .into_iter()
            .find(|r| r.name() == name)
    }

    /// The calls this runtime may make under the container's filter before the workload runs.
    pub fn calls_after_filter(self) -> Vec<&'static str> {
        let mut names: Vec<&str> = match self {
            Runtime::Runc => RUNC.to_vec(),
            Runtime::Crun => CRUN.to_vec(),
            Runtime::Unknown => RUNC.iter().chain(CRUN).copied().collect(),
        };
        names.sort_unstable();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::arch::Arch;

    #[test]
    fn the_runtime_is_told_by_its_executables_name() {
        assert_eq!(Runtime::of_executable("/usr/sbin/runc"), Runtime::Runc);
        assert_eq!(Runtime::of_executable("/usr/bin/crun"), Runtime::Crun);
        assert_eq!(Runtime::of_executable("/usr/bin/krun"), Runtime::Unknown);
        assert_eq!(
            Runtime::of_executable("/usr/local/bin/youki"),
            Runtime::Unknown
        );
        for r in [Runtime::Runc, Runtime::Crun, Runtime::Unknown] {
            assert_eq!(Runtime::from_name(r.name()), Some(r));
        }
    }

    /// Every name is one the native architectures know, and none is set-up the runtime does
    /// before its filter install.
    #[test]
    fn the_lists_name_real_calls_and_no_set_up() {
        let all = Runtime::Unknown.calls_after_filter();
        for name in &all {
            assert!(
                Arch::X86_64.syscall_number(name).is_some()
                    || Arch::Aarch64.syscall_number(name).is_some(),
                "{name}"
            );
        }
        for setup in [
            "mount",
            "umount2",
            "pivot_root",
            "sethostname",
            "unshare",
            "setns",
        ] {
            assert!(!all.contains(&setup), "{setup}");
        }
        for floor in crate::profile::RUNTIME_FLOOR {
            assert!(
                Runtime::Runc.calls_after_filter().contains(floor),
                "{floor}"
            );
            assert!(
                Runtime::Crun.calls_after_filter().contains(floor),
                "{floor}"
            );
        }
    }
}
