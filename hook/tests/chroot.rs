//! `record` run inside a chroot stays inside it. The loader's private mount namespace is left
//! with setns(2), which also moves the thread's root to the namespace's root: outside the
//! chroot, where its later paths (/run, tracefs) would resolve on the host. Alone in this test
//! binary, so `record` is the first tracer and loads the programs (that is when it happens).

use std::{
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

const BIN: &str = env!("CARGO_BIN_EXE_oci-seccomp-bpf-hook");

/// The first child of `pid` whose comm is `name`.
fn child_named(pid: u32, name: &str) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    children.split_whitespace().find_map(|c| {
        let comm = std::fs::read_to_string(format!("/proc/{c}/comm")).ok()?;
        (comm.trim() == name).then(|| c.parse().ok())?
    })
}

#[test]
fn record_in_a_chroot_stays_in_it() {
    if !e2e::privileged_with(&["unshare", "chroot", "mount", "sleep"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("scratch directory");
    let root = dir.path().join("root");
    std::fs::create_dir(&root).expect("root directory");
    // The same tree, seen through a bind mount: a chroot that still finds the binary and /run.
    let script = format!(
        "mount --make-rprivate / && mount --rbind / {root} && exec chroot {root} {BIN} \
         record -- sleep 2 >/dev/null",
        root = root.display()
    );
    let mut child = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .expect("unshare runs");
    // sh and chroot exec into record; its command starts only once the programs are attached.
    let pid = child.id();
    let started = e2e::poll_until(Duration::from_secs(10), || child_named(pid, "sleep"));
    let seen = std::fs::read_link(format!("/proc/{pid}/root"));
    let _ = child.kill();
    let _ = child.wait();
    assert!(started.is_some(), "record never ran its command");
    let seen = seen.expect("record's root is readable");
    assert_eq!(seen, Path::new(&root), "record left its chroot");
}
