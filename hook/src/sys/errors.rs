//! Errors as the user reads them: one line, the outermost context first, then its causes. A
//! verifier log (aya puts the whole of it, hundreds of lines, into its load error) becomes the
//! one line that says why; the whole log goes to the debug log.

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
    let line = causes(err)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    shorten_verifier_log(&line)
}

/// `line` with a verifier log cut to its reason: the last line before the verifier's
/// statistics (`processed N insns`, ...), which is where it says what it refused.
fn shorten_verifier_log(line: &str) -> String {
    let Some((head, log)) = line.split_once("Verifier output:") else {
        return line.to_owned();
    };
    log::debug!("verifier output: {log}");
    let statistics = [
        "verification time",
        "stack depth",
        "processed ",
        ":",
        "last_idx",
    ];
    let reason = log
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !statistics.iter().any(|s| l.starts_with(s)))
        .unwrap_or("");
    // aya names the syscall and its errno (EACCES: "Permission denied", which reads as a
    // privilege problem); what the user needs is that the verifier refused the program.
    let head = head
        .split("the BPF_PROG_LOAD syscall")
        .next()
        .unwrap_or(head);
    let head = head.trim_end().trim_end_matches([':', '.']);
    format!("{head}: the verifier rejected it: {reason}")
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

    #[derive(Debug, thiserror::Error)]
    #[error("cannot load program x")]
    struct Load(#[source] Rejected);

    #[derive(Debug, thiserror::Error)]
    #[error("the BPF_PROG_LOAD syscall failed. Verifier output: {0}")]
    struct Rejected(String);

    #[test]
    fn a_verifier_log_is_one_line_with_its_reason() {
        let log = "0: (bf) r8 = r1\n1: (79) r1 = *(u64 *)(r8 +24)\nR1 invalid mem access \
                   'scalar'\nverification time 1788 usec\nstack depth 48+0\nprocessed 95 \
                   insns (limit 1000000)\n";
        let line = one_line(&Load(Rejected(log.to_owned())));
        assert_eq!(line.lines().count(), 1, "{line}");
        assert_eq!(
            line,
            "cannot load program x: the verifier rejected it: R1 invalid mem access 'scalar'"
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
