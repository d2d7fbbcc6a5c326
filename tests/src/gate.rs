//! The skip rule: a test that cannot run never reports `ok` alone. Under `CI=true` it FAILS,
//! so a green CI run means every test really ran. Under `cargo xtask test` (which sets
//! `paths::SKIP_LOG_VAR`) it returns early and writes its reason to that file, and xtask counts
//! it as skipped in its closing line and prints the reason. Run any other way, it fails with
//! its reason. A test's name is never typed: it is the name libtest gives its thread.

use std::path::{Path, PathBuf};

use crate::paths;

/// True when running under CI (`CI=true` or `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Call first in a privileged test: `if !e2e::privileged() { return; }`.
/// Returns false (after printing why) when the test should be skipped; panics under CI instead.
pub fn privileged() -> bool {
    gate(missing_privilege())
}

/// Like [`privileged`], and also needs the `tools` on PATH (or at the given absolute paths).
pub fn privileged_with(tools: &[&str]) -> bool {
    let missing = missing_privilege().or_else(|| {
        tools
            .iter()
            .find(|t| which(t).is_none())
            .map(|t| format!("{t} is not installed"))
    });
    gate(missing)
}

/// What a test runs on (an engine, a loaded program), made by `make` once [`privileged_with`]
/// `tools` says the test may run: `let Some(p) = e2e::ready(TOOLS, Podman::new) else { return };`.
pub fn ready<T>(tools: &[&str], make: impl FnOnce() -> T) -> Option<T> {
    privileged_with(tools).then(make)
}

/// The running test's name, as libtest names the thread it runs on.
pub fn this_test() -> String {
    std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned()
}

/// True when the test may run; else, by the rule above, fails it or logs it as skipped.
pub fn gate(missing: Option<String>) -> bool {
    let Some(reason) = missing else {
        return true;
    };
    let test = this_test();
    if in_ci() {
        panic!("{test} must run under CI=true, but {reason}");
    }
    let Some(log) = std::env::var_os(paths::SKIP_LOG_VAR) else {
        panic!("{test} cannot run: {reason} (`cargo xtask test` counts such a test as skipped)");
    };
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap_or_else(|e| panic!("{test}: cannot log its skip to {log:?}: {e}"));
    // One write per line: tests run in parallel threads and processes.
    file.write_all(format!("{test}: {reason}\n").as_bytes())
        .unwrap_or_else(|e| panic!("{test}: cannot log its skip to {log:?}: {e}"));
    eprintln!("skipping {test}: {reason}");
    false
}

fn missing_privilege() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("it needs root (eBPF and PID namespaces)".into());
    }
    if !Path::new("/proc/self/ns/pid").exists() {
        return Some("this kernel has no PID namespaces".into());
    }
    None
}

/// `tool`'s path: itself when absolute, else the first match on PATH.
pub fn which(tool: &str) -> Option<PathBuf> {
    if tool.starts_with('/') {
        return Path::new(tool).is_file().then(|| PathBuf::from(tool));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|p| p.is_file())
    })
}
