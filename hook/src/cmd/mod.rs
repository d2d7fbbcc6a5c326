//! The subcommands, and how their errors reach the user.

pub mod hook;
pub mod record;

use osbh::{
    launch::LaunchError,
    recorder::Snapshot,
    syscall_table::{name_all, Arch},
};

/// One line: the outermost context plus its causes, with a hint when the cause is a missing
/// privilege (the commonest failure, and one the kernel reports only as EPERM).
pub fn describe(err: &anyhow::Error) -> String {
    if is_permission_denied(err) {
        return format!(
            "{err}: permission denied; run it as root (loading the eBPF program needs \
             CAP_BPF and CAP_PERFMON, the PID namespace CAP_SYS_ADMIN)"
        );
    }
    format!("{err:#}")
}

/// A specific exit status for errors that have one (127: the command could not be run).
pub fn exit_code(err: &anyhow::Error) -> Option<i32> {
    err.chain()
        .find_map(|e| match e.downcast_ref::<LaunchError>() {
            Some(LaunchError::Exec { .. }) => Some(127),
            _ => None,
        })
}

fn is_permission_denied(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        let errno = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::raw_os_error)
            .or_else(|| {
                e.downcast_ref::<rustix::io::Errno>()
                    .map(|e| e.raw_os_error())
            });
        // EPERM only: the verifier reports a rejected program as EACCES.
        errno == Some(libc::EPERM)
    })
}

/// The recorded syscalls' names; numbers without one are reported, never written.
pub fn names(snapshot: &Snapshot) -> Vec<&'static str> {
    let (names, unknown) = name_all(Arch::NATIVE, &snapshot.syscalls);
    if !unknown.is_empty() {
        log::warn!(
            "syscall numbers {unknown:?} have no name on {}; they are left out of the profile",
            Arch::NATIVE.seccomp_name()
        );
    }
    if snapshot.out_of_range > 0 {
        log::warn!(
            "{} syscalls had numbers outside the native table (x32 or invalid numbers); \
             they are left out of the profile",
            snapshot.out_of_range
        );
    }
    names
}
