//! Docker 20.10 (Debian 12's) with the runtime wrapper as a runtime (`--add-runtime`), as
//! `daemon.json`'s `runtimes` sets it: Docker 20.10 has no `--annotation`, so nothing asks for
//! tracing, and everything must pass through unchanged.

use e2e::docker::Docker;

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
