//! Errors as the user reads them: one line, the outermost context first, then its causes.

use std::error::Error;

/// `err` and its causes on one line, with a hint when a cause is a missing privilege (the
/// commonest failure, and one the kernel reports only as EPERM).
pub fn one_line(err: &(dyn Error + 'static)) -> String {
    if causes(err).any(is_permission_denied) {
        return format!(
            "{err}: permission denied; run it as root (loading the eBPF program needs \
             CAP_BPF and CAP_PERFMON, the PID namespace CAP_SYS_ADMIN)"
        );
    }
    causes(err)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

/// `err`, then each of its sources.
pub fn causes<'a>(
    err: &'a (dyn Error + 'static),
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(err), |&e| e.source())
}

fn is_permission_denied(e: &(dyn Error + 'static)) -> bool {
    let errno = e
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::raw_os_error)
        .or_else(|| {
            e.downcast_ref::<rustix::io::Errno>()
                .map(|e| e.raw_os_error())
        });
    // EPERM only: the verifier reports a rejected program as EACCES.
    errno == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot attach")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_join_on_one_line() {
        let err = Outer(std::io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(
            one_line(&err),
            "cannot attach: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn eperm_names_the_privileges() {
        let err = Outer(std::io::Error::from_raw_os_error(libc::EPERM));
        let line = one_line(&err);
        assert!(
            line.starts_with("cannot attach: permission denied"),
            "{line}"
        );
        assert!(line.contains("CAP_BPF"), "{line}");
    }
}
