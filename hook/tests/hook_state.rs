//! `-s` with a bad OCI state on stdin fails before anything starts, in one line.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

const BIN: &str = env!("CARGO_BIN_EXE_oci-seccomp-bpf-hook");

fn hook_with_state(state: &str) -> Output {
    let mut child = Command::new(BIN)
        .arg("-s")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(state.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn state(pid: i64, annotation: &str) -> String {
    format!(
        r#"{{"ociVersion":"1.0.2","id":"osbh-state-test","status":"creating","pid":{pid},
            "bundle":"/nonexistent","annotations":{{"io.containers.trace-syscall":"{annotation}"}}}}"#
    )
}

fn assert_refused(out: &Output, why: &str) {
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
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
}
