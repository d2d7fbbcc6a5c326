//! What the OCI runtime itself does under the container's filter, whatever the recording ran
//! under. runc and crun install the filter earliest when `NoNewPrivileges` is off (podman's and
//! Docker's default; a Kubernetes container unless `allowPrivilegeEscalation: false`): before
//! they close inherited descriptors, drop capabilities, change user and directory and wait for
//! the start signal. A recording made without a filter (Kubernetes' `Unconfined`, podman's
//! `seccomp=unconfined`) starts at the workload's execve, and one made with `NoNewPrivileges`
//! starts after all that: either profile, enforced without `NoNewPrivileges`, would stop the
//! runtime short of the workload. So every container profile allows the calls its runtime
//! makes in that stretch, measured on the versions here and read from newer ones' sources
//! (`tests/tests/exactness.rs` records each way and enforces each way: a runtime that starts
//! making a call no list holds fails it). Nothing the runtime does before the filter install
//! (mount, pivot_root, sethostname) is among them.

/// The OCI runtime that ran the container, as the hook tells it from its parent process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Runc,
    Crun,
    /// Another runtime, or one that could not be told: it gets what runc and crun both make.
    Unknown,
}

/// What runc and crun both make after their filter install: closing the descriptors they do
/// not pass on (`close_range`, else `/proc/self/fd` checked to be procfs, read, each marked
/// close-on-exec), capabilities (`capget`, `capset`, bounding set and ambient through `prctl`),
/// supplementary groups, the standard descriptors `fchown`ed for another user, the working
/// directory (a retried `chdir` checked with `getcwd`), the start notification, `execve`.
/// `futex`, `rt_sigreturn`, `sched_yield` and `restart_syscall` are `RUNTIME_FLOOR`'s.
const BOTH: &[&str] = &[
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
    "newfstatat",
    "openat",
    "prctl",
    "read",
    "restart_syscall",
    "rt_sigreturn",
    "sched_yield",
    "setgroups",
    "write",
];

/// runc's own, after `InitSeccomp` in `libcontainer/standard_init_linux.go`
/// (`setns_init_linux.go` for `runc exec` makes a subset). Measured on 1.1.5 (Debian 12) over
/// 25 podman runs, as root and as another user: `/proc/self/status` read through Go's poller
/// (`epoll_ctl`), `setgid` and `setuid` on the init thread, the binary looked up
/// (`faccessat2`), `getppid` for the parent-death signal, the exec FIFO opened and written.
/// From 1.3's sources: `/proc` reached through `openat2` (`statx`, `readlinkat` without it),
/// glibc's setxid broadcast (`getpid`, `tgkill`), Go's restored RLIMIT_NOFILE (`prlimit64`).
/// The Go runtime may park, take a signal, preempt or grow its heap (`brk` under cgo, `mmap`,
/// `munmap`, `madvise`) at any moment; its init thread runs with one P, so it does not spin in
/// `nanosleep` looking for work. Left out: what only a failure path tries (the mount API's
/// route to `/proc`, whose ENOSYS sends runc on to plain `openat`).
const RUNC: &[&str] = &[
    "brk",
    "epoll_ctl",
    "faccessat2",
    "getpid",
    "getppid",
    "madvise",
    "mmap",
    "munmap",
    "openat2",
    "prlimit64",
    "readlinkat",
    "setgid",
    "setuid",
    "statx",
    "tgkill",
];

/// crun's own, after `libcrun_apply_seccomp` in `src/libcrun/container.c`. Measured on 1.8
/// (Debian 12) over 25 podman runs, as root and as another user: `setresgid` and `setresuid`,
/// signal dispositions reset (`rt_sigprocmask`, `rt_sigaction`), the wait for `start` on the
/// exec FIFO (`pselect6`). From 1.2x's sources: the terminal's `ioctl` for `exec`.
const CRUN: &[&str] = &[
    "ioctl",
    "pselect6",
    "rt_sigaction",
    "rt_sigprocmask",
    "setresgid",
    "setresuid",
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
        let own: &[&[&str]] = match self {
            Runtime::Runc => &[RUNC],
            Runtime::Crun => &[CRUN],
            Runtime::Unknown => &[RUNC, CRUN],
        };
        let mut names: Vec<&str> = BOTH
            .iter()
            .chain(own.iter().copied().flatten())
            .copied()
            .collect();
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
