//! Docker with the runtime wrapper as a runtime (`--add-runtime`), as `daemon.json`'s
//! `runtimes` sets it. Docker 20.10 (Debian 12's) has no `--annotation`, so nothing asks for
//! tracing, and everything must pass through unchanged; Docker 28 (in the root of today's
//! runtimes) traces with `docker run --annotation`.

use std::process::Output;

use e2e::{docker::Docker, engine::ANNOTATION};

const TOOLS: &[&str] = &[
    "dockerd",
    "/usr/bin/docker",
    "containerd",
    "runc",
    "busybox",
    "tar",
];

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `docker run --runtime traced`: output and exit status come through; `docker exec` and
/// `docker stop` work on a container started through the wrapper.
#[test]
fn docker_runs_exec_and_stop_through_the_wrapper() {
    let Some(dir) = e2e::ready(TOOLS, || tempfile::tempdir().unwrap()) else {
        return;
    };
    let wrapper = dir.path().join("oci-seccomp-bpf-runtime");
    std::os::unix::fs::symlink(e2e::hook_binary(), &wrapper).unwrap();
    let docker = Docker::start(&wrapper);
    let rootfs = e2e::busybox_rootfs(&dir.path().join("busybox"));
    e2e::assert_success("docker import", &docker.import(&rootfs, "local/busybox:1"));
    let run = [
        "run",
        "--rm",
        "--runtime",
        "traced",
        "--network",
        "none",
        "local/busybox:1",
    ];
    let mut args = run.to_vec();
    args.extend(["sh", "-c", "echo ran; exit 3"]);
    let out = docker.docker(&args);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout(&out), "ran");

    let name = e2e::unique_id("docker");
    let detached = [
        "run",
        "-d",
        "--runtime",
        "traced",
        "--network",
        "none",
        "--name",
        &name,
    ];
    let mut args = detached.to_vec();
    args.extend(["local/busybox:1", "sleep", "60"]);
    e2e::assert_success("docker run -d", &docker.docker(&args));
    let exec = docker.docker(&["exec", &name, "echo", "inside"]);
    e2e::assert_success("docker exec", &exec);
    assert_eq!(stdout(&exec), "inside");
    e2e::assert_success("docker stop", &docker.docker(&["stop", "-t", "1", &name]));
    e2e::assert_success("docker rm", &docker.docker(&["rm", &name]));
}

/// Docker 28 on containerd 2 (the root of today's runtimes), its dockerd with the wrapper
/// as the runtime `traced`, and `IMAGE` imported from busybox with the syscall helper.
fn docker_28(dir: &std::path::Path) -> Option<Docker> {
    if !e2e::privileged_with(&["busybox", "tar", "gcc"]) {
        return None;
    }
    let wrapper = dir.join("oci-seccomp-bpf-runtime");
    std::os::unix::fs::symlink(e2e::hook_binary(), &wrapper).unwrap();
    let docker = Docker::start_today(&wrapper)?;
    let rootfs = e2e::busybox_rootfs(&dir.join("busybox"));
    e2e::install_syscall_helper(&rootfs);
    e2e::assert_success("docker import", &docker.import(&rootfs, IMAGE));
    Some(docker)
}

const IMAGE: &str = "local/busybox:1";

/// `docker run --runtime traced --annotation ... ARGS... IMAGE CMD...`
fn traced(docker: &Docker, annotation: &str, args: &[&str], cmd: &[&str]) -> Output {
    let annotation = format!("{ANNOTATION}={annotation}");
    let mut all = vec!["run", "--runtime", "traced", "--network", "none"];
    all.extend(["--annotation", &annotation]);
    all.extend(args);
    all.push(IMAGE);
    all.extend(cmd);
    docker.docker(&all)
}

/// `docker run --rm ARGS... IMAGE CMD...` on Docker's own runtime (runc 1.3).
fn plain(docker: &Docker, args: &[&str], cmd: &[&str]) -> Output {
    let mut all = vec!["run", "--rm", "--network", "none"];
    all.extend(args);
    all.push(IMAGE);
    all.extend(cmd);
    docker.docker(&all)
}

/// `docker run --annotation`: the profile is written by the time docker returns, Docker
/// enforces it on its own runtime (ls runs, mkdir is refused), a bad annotation stops the
/// container with the wrapper's line, and the capability report's flags run chown.
#[test]
fn docker_28_records_enforces_and_refuses_through_the_wrapper() {
    let dir = tempfile::tempdir().unwrap();
    let Some(docker) = docker_28(dir.path()) else {
        return;
    };
    let (profile, caps) = (dir.path().join("ls.json"), dir.path().join("caps.json"));
    let annotation = format!("of:{};caps:{}", profile.display(), caps.display());
    let out = traced(&docker, &annotation, &["--rm"], &["ls", "/"]);
    e2e::assert_success("docker run --annotation", &out);
    let names = e2e::names(&profile);
    assert!(names.iter().any(|n| n == "getdents64"), "{names:?}");
    let seccomp = format!("seccomp={}", profile.display());
    let enforced = ["--security-opt", seccomp.as_str()];
    e2e::assert_success(
        "ls under its profile",
        &plain(&docker, &enforced, &["ls", "/"]),
    );
    let refused = plain(&docker, &enforced, &["mkdir", "/tmp/x"]);
    assert!(!refused.status.success(), "mkdir ran under ls's profile");

    let bad = traced(&docker, "xf:/tmp/never.json", &["--rm"], &["mkdir", "/x"]);
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && said.contains("starts with none of"),
        "{said}"
    );
    chown_needs_exactly_chown(&docker, dir.path());
}

/// The capability report through Docker: chown needs CHOWN alone; Docker's flags from the
/// report run it, and without CHOWN it fails.
fn chown_needs_exactly_chown(docker: &Docker, dir: &std::path::Path) {
    let (profile, caps) = (dir.join("chown.json"), dir.join("chown-caps.json"));
    let annotation = format!("of:{};caps:{}", profile.display(), caps.display());
    let cmd = [
        "sh",
        "-c",
        "touch /tmp/f && chown 1:1 /tmp/f && echo changed",
    ];
    e2e::assert_success(
        "traced chown",
        &traced(docker, &annotation, &["--rm"], &cmd),
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&caps).expect("a report")).unwrap();
    assert_eq!(
        report["needed"],
        serde_json::json!(["CAP_CHOWN"]),
        "{report}"
    );
    let flags = report["run_with"]["docker"].as_str().expect("docker flags");
    let with: Vec<&str> = flags.split(' ').collect();
    e2e::assert_success("chown with the report's flags", &plain(docker, &with, &cmd));
    let without = plain(docker, &["--cap-drop=ALL"], &cmd);
    assert!(!without.status.success(), "chown ran without CHOWN");
}

/// `docker exec` into a traced container is recorded (the exec goes through the wrapper
/// too), and a container Docker starts beside it is not.
#[test]
fn docker_28_exec_into_a_traced_container_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let Some(docker) = docker_28(dir.path()) else {
        return;
    };
    let profile = dir.path().join("exec.json");
    let name = e2e::unique_id("docker");
    let waits = "while [ ! -e /tmp/done ]; do sleep 0.05; done";
    let args = ["-d", "--name", &name];
    let out = traced(
        &docker,
        &format!("of:{}", profile.display()),
        &args,
        &["sh", "-c", waits],
    );
    e2e::assert_success("docker run -d", &out);
    let getcpu = e2e::syscall_number("getcpu").to_string();
    let getpriority = e2e::syscall_number("getpriority").to_string();
    let exec = docker.docker(&["exec", &name, "/bin/callnr", &getcpu]);
    e2e::assert_success("docker exec", &exec);
    e2e::assert_success(
        "the neighbour",
        &plain(&docker, &[], &["/bin/callnr", &getpriority]),
    );
    e2e::assert_success(
        "docker exec",
        &docker.docker(&["exec", &name, "touch", "/tmp/done"]),
    );
    e2e::assert_success("docker wait", &docker.docker(&["wait", &name]));
    e2e::assert_success("docker rm", &docker.docker(&["rm", &name]));
    let names = e2e::names(&profile);
    assert!(
        names.iter().any(|n| n == "getcpu"),
        "the exec was not recorded: {names:?}"
    );
    assert!(
        !names.iter().any(|n| n == "getpriority"),
        "the neighbour was: {names:?}"
    );
}
