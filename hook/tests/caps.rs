//! `record --caps` against the real kernel: the capability report of a command. Runs on this
//! machine's tracepoint and, in the kernel matrix (`cargo xtask vm-test`), where every process
//! has every capability, on fexit (x86_64, arm64 6.12) and on the kprobe (arm64 6.1).

use std::{
    path::Path,
    process::{Command, Stdio},
};

use e2e::child::Finish;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_oci-seccomp-bpf-hook");

/// Set for `record`'s command when it is this binary's `mapping_worker`.
const MAPPING_WORKER: &str = "OSBH_MAPPING_WORKER";

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
        .env(MAPPING_WORKER, "1")
        .stdin(Stdio::null())
        .finish("the hook binary");
    e2e::assert_success("record --caps", &out);
    let report: Value = serde_json::from_slice(&std::fs::read(&caps).unwrap()).unwrap();
    let observed = report["observed_by"].as_str().unwrap_or_default();
    assert!(
        ["tracepoint", "fexit", "kprobe"]
            .iter()
            .any(|way| observed.starts_with(way)),
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
    if !e2e::privileged() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let exe = exe.to_str().unwrap();
    let mapper = [
        exe,
        "--exact",
        "mapping_worker",
        "--ignored",
        "--test-threads",
        "1",
    ];
    for cmd in [&["true"][..], &mapper] {
        let report = report_of(dir.path(), cmd);
        assert_eq!(needed(&report), Vec::<&str>::new(), "{cmd:?}: {report}");
    }
}

/// Not a test on its own: the workload of the test above (its environment is inherited
/// through `record`). 64 writable private mappings of 1 MiB, each touched, as a program's
/// allocator makes them for large buffers.
#[test]
#[ignore = "workload for mapping_memory_needs_nothing_even_with_every_capability"]
fn mapping_worker() {
    if std::env::var_os(MAPPING_WORKER).is_none() {
        return;
    }
    for _ in 0..64 {
        let len = 1 << 20;
        // SAFETY: a fresh anonymous mapping no other code knows of; written, then unmapped.
        unsafe {
            let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
            let at = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            );
            assert_ne!(at, libc::MAP_FAILED, "mmap");
            at.cast::<u8>().write_volatile(1);
            libc::munmap(at, len);
        }
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
