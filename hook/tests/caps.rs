//! `record --caps` against the real kernel: the capability report of a command. Runs on this
//! machine's tracepoint and, in the kernel matrix, on fexit (`cargo xtask vm-test`), where
//! every process has every capability.

use std::{
    path::Path,
    process::{Command, Stdio},
};

use e2e::child::Finish;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_oci-seccomp-bpf-hook");

/// The report of `cmd`, recorded as root.
fn report_of(dir: &Path, cmd: &[&str]) -> Value {
    let caps = dir.join("caps.json");
    let out = Command::new(BIN)
        .arg("record")
        .arg("-o")
        .arg(dir.join("p.json"))
        .arg("--caps")
        .arg(&caps)
        .arg("--")
        .args(cmd)
        .stdin(Stdio::null())
        .finish("the hook binary");
    e2e::assert_success("record --caps", &out);
    let report: Value = serde_json::from_slice(&std::fs::read(&caps).unwrap()).unwrap();
    let observed = report["observed_by"].as_str().unwrap_or_default();
    assert!(
        observed.starts_with("tracepoint") || observed.starts_with("fexit"),
        "{report}"
    );
    report
}

fn needed(report: &Value) -> Vec<&str> {
    let list = report["needed"].as_array().expect("needed");
    list.iter().filter_map(Value::as_str).collect()
}

#[test]
fn chown_needs_chown() {
    if !e2e::privileged() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, "").unwrap();
    let report = report_of(dir.path(), &["chown", "1:1", file.to_str().unwrap()]);
    assert_eq!(needed(&report), ["CAP_CHOWN"], "{report}");
}

/// The kernel checks CAP_SYS_ADMIN quietly on every writable private mapping (overcommit):
/// a program that only maps memory, run with every capability, needs none.
#[test]
fn mapping_memory_needs_nothing_even_with_every_capability() {
    if !e2e::privileged_with(&["python3"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let maps = "x = [bytearray(1 << 20) for _ in range(64)]";
    for cmd in [&["true"][..], &["python3", "-c", maps]] {
        let report = report_of(dir.path(), cmd);
        assert_eq!(needed(&report), Vec::<&str>::new(), "{cmd:?}: {report}");
    }
}

/// Reports are compared and merged like profiles: `diff` exits 1 when a capability appears (a
/// CI gate), `merge` needs what any input needs.
#[test]
fn reports_diff_and_merge() {
    if !e2e::privileged() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, "").unwrap();
    let chown = dir.path().join("chown.json");
    let none = dir.path().join("none.json");
    let run = |args: &[&std::ffi::OsStr]| {
        Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .finish("the hook binary")
    };
    std::fs::write(
        &chown,
        serde_json::to_vec(&report_of(
            dir.path(),
            &["chown", "1:1", file.to_str().unwrap()],
        ))
        .unwrap(),
    )
    .unwrap();
    std::fs::write(
        &none,
        serde_json::to_vec(&report_of(dir.path(), &["true"])).unwrap(),
    )
    .unwrap();
    let diff = run(&["diff".as_ref(), none.as_os_str(), chown.as_os_str()]);
    assert_eq!(diff.status.code(), Some(1));
    let text = String::from_utf8_lossy(&diff.stdout);
    assert!(
        text.contains("needed only in") && text.contains("CAP_CHOWN"),
        "{text}"
    );
    let same = run(&["diff".as_ref(), chown.as_os_str(), chown.as_os_str()]);
    assert_eq!(same.status.code(), Some(0));
    let merged = dir.path().join("merged.json");
    let out = run(&[
        "merge".as_ref(),
        none.as_os_str(),
        chown.as_os_str(),
        "-o".as_ref(),
        merged.as_os_str(),
    ]);
    e2e::assert_success("merge reports", &out);
    let merged: Value = serde_json::from_slice(&std::fs::read(&merged).unwrap()).unwrap();
    assert_eq!(needed(&merged), ["CAP_CHOWN"], "{merged}");
    assert_eq!(
        merged["run_with"]["podman"],
        "--cap-drop=ALL --cap-add=CHOWN"
    );
}
