//! `podman exec` into a traced container, the same on every runtime: the exec is recorded,
//! runs under the enforced profile, and a container the runtime starts beside it is not
//! recorded (on crun `--cgroups=disabled` the two share the runtime's cgroup, and the exec is
//! told by the container's mount namespace instead). Needs `/bin/callnr` in the rootfs.

use crate::{
    assert_success,
    engine::{Engine, Podman},
};

/// The container waits for `/tmp/done`, having made `/tmp/up`.
const WAITS: &str = "touch /tmp/up; while [ ! -e /tmp/done ]; do sleep 0.05; done";

/// Traces a waiting container, execs `callnr getcpu` into it while an untraced neighbour
/// makes `getpriority`, then enforces the profile and execs again.
pub fn exec_is_recorded_and_runs_under_the_profile(p: &Podman) {
    let nr = crate::syscall_number("getcpu").to_string();
    let other = crate::syscall_number("getpriority").to_string();
    let profile = p.scratch_path("exec.json");
    let annotation = format!("of:{}", profile.display());
    let id = crate::unique_id("exec");
    let (traced, exec, neighbour) = std::thread::scope(|scope| {
        let run = scope.spawn(|| p.trace_with(&["--name", &id], &annotation, &["sh", "-c", WAITS]));
        crate::until_exists(&p.rootfs().join("tmp/up"));
        let neighbour = p.run(&["--rm"], &["/bin/callnr", &other]);
        let exec = exec_then_finish(p, &id, &nr);
        (run.join().unwrap(), exec, neighbour)
    });
    assert_success("the traced container", &traced);
    assert_success("podman exec", &exec);
    assert_success("the neighbour", &neighbour);
    let names = crate::names(&profile);
    assert!(
        names.iter().any(|n| n == "getcpu"),
        "the exec was not recorded: {names:?}"
    );
    assert!(
        !names.iter().any(|n| n == "getpriority"),
        "the neighbour was recorded: {names:?}"
    );
    enforced_exec(p, &profile, &nr);
}

/// The exec under the profile: getcpu answered, not refused.
fn enforced_exec(p: &Podman, profile: &std::path::Path, nr: &str) {
    for file in ["tmp/up", "tmp/done"] {
        let _ = std::fs::remove_file(p.rootfs().join(file));
    }
    let opt = format!("seccomp={}", profile.display());
    let id = crate::unique_id("exec-enforced");
    let (enforced, exec) = std::thread::scope(|scope| {
        let run = scope.spawn(|| {
            p.run(
                &["--rm", "--name", &id, "--security-opt", &opt],
                &["sh", "-c", WAITS],
            )
        });
        crate::until_exists(&p.rootfs().join("tmp/up"));
        let exec = exec_then_finish(p, &id, nr);
        (run.join().unwrap(), exec)
    });
    assert_success("the enforced container", &enforced);
    assert_success("podman exec under the profile", &exec);
    let stdout = String::from_utf8_lossy(&exec.stdout);
    assert_eq!(stdout.trim(), format!("{nr} 0 0"), "getcpu was refused");
}

/// `podman exec ID callnr NR`, then lets the container end.
fn exec_then_finish(p: &Podman, id: &str, nr: &str) -> std::process::Output {
    let exec = p.podman(&["exec", id, "/bin/callnr", nr]);
    std::fs::write(p.rootfs().join("tmp/done"), "").unwrap();
    exec
}
