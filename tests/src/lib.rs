//! Shared by every test that needs the real kernel: root, eBPF, and (later) container runtimes.
//!
//! The rule: under `CI=true` a privileged test that cannot run FAILS, so a green CI run means
//! the privileged tests really ran. Elsewhere it is skipped with a one-line reason.

/// True when running under CI (`CI=true` or `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Call first in a privileged test: `if !e2e::privileged("name") { return; }`.
/// Returns false (after printing why) when the test should be skipped; panics under CI instead.
pub fn privileged(test: &str) -> bool {
    match missing_privilege() {
        None => true,
        Some(reason) if in_ci() => panic!("{test} must run under CI=true, but {reason}"),
        Some(reason) => {
            eprintln!("skipping {test}: {reason}");
            false
        }
    }
}

fn missing_privilege() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("it needs root (eBPF and PID namespaces)".into());
    }
    if !std::path::Path::new("/proc/self/ns/pid").exists() {
        return Some("this kernel has no PID namespaces".into());
    }
    None
}
