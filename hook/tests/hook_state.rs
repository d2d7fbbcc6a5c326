//! `-s` with a bad OCI state on stdin fails before anything starts, in one line.

use e2e::child::Finish;
use std::{path::Path, process::Command};

use e2e::direct;

const BIN: &str = env!("CARGO_BIN_EXE_oci-seccomp-bpf-hook");

fn hook_with_state(state: &str) -> std::process::Output {
    direct::run_hook(Path::new(BIN), state)
}

fn state(pid: i64, annotation: &str) -> String {
    let mut state = direct::state("osbh-state-test", "creating", None, annotation);
    state["pid"] = pid.into();
    state.to_string()
}

fn assert_refused(out: &std::process::Output, why: &str) {
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(why), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
}

#[test]
fn state_that_is_not_json_is_refused() {
    assert_refused(&hook_with_state("not json"), "cannot read the OCI state");
}

#[test]
fn pid_zero_or_negative_is_refused() {
    for pid in [0, -5] {
        let out = hook_with_state(&state(pid, "of:/tmp/x.json"));
        assert_refused(&out, "no valid pid");
    }
}

#[test]
fn pid_that_does_not_exist_is_refused() {
    // Above the kernel's PID limit (4194304), so it can never exist.
    let out = hook_with_state(&state(2_000_000_000, "of:/tmp/x.json"));
    assert_refused(&out, "has the process exited");
}

#[test]
fn version_prints_the_version() {
    let out = Command::new(BIN).arg("--version").finish("the command");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
}
