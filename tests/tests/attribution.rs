//! Exactly this container's syscalls, however it is run: beside a neighbour in a shared PID
//! namespace, in the host's, with `podman exec`, with another runtime hook, and the same
//! profile every time. Each distinctive syscall comes from `/bin/callnr` (see
//! `e2e::install_syscall_helper`), which prints `NR RESULT ERRNO`.

use e2e::child::Finish;
use std::time::{Duration, Instant};

use e2e::{
    assert_success,
    engine::{Engine, Podman},
    scenarios,
};
use serde_json::json;

const TOOLS: &[&str] = &["podman", "runc", "busybox", "gcc"];

fn podman() -> Option<Podman> {
    e2e::ready(TOOLS, Podman::with_callnr)
}

/// A loop of syscall `name` in a detached container `id`, removed on drop.
struct Neighbour<'a> {
    p: &'a Podman,
    id: String,
}

impl<'a> Neighbour<'a> {
    fn start(p: &'a Podman, extra: &[&str], name: &str) -> Self {
        let id = e2e::unique_id("neighbour");
        let nr = e2e::syscall_number(name);
        let script = format!("while true; do /bin/callnr {nr} >/dev/null; done");
        let mut args = vec!["-d", "--name", id.as_str()];
        args.extend_from_slice(extra);
        assert_success(
            "starting the neighbour",
            &p.run(&args, &["sh", "-c", &script]),
        );
        Self { p, id }
    }
}

impl Drop for Neighbour<'_> {
    fn drop(&mut self) {
        let _ = self.p.podman(&["rm", "-f", "-t", "0", &self.id]);
    }
}

/// `--pid=container:A`: B shares A's PID namespace (as pods with `shareProcessNamespace`
/// do). A's loop must not reach B's profile, and B runs under its own.
#[test]
fn a_neighbour_in_a_shared_pid_namespace_is_not_recorded() {
    let Some(p) = podman() else {
        return;
    };
    let a = Neighbour::start(&p, &[], "getcpu");
    let shared = format!("--pid=container:{}", a.id);
    let profile = p.scratch_path("b.json");
    let annotation = format!("of:{}", profile.display());
    assert_success(
        "tracing B",
        &p.trace_with(&[&shared], &annotation, &["sleep", "1"]),
    );
    let names = e2e::names(&profile);
    assert!(
        !names.iter().any(|n| n == "getcpu"),
        "A's loop in B: {names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n == "nanosleep" || n == "clock_nanosleep"),
        "{names:?}"
    );
    let opt = format!("seccomp={}", profile.display());
    assert_success(
        "B under its profile",
        &p.run(&["--rm", &shared, "--security-opt", &opt], &["sleep", "1"]),
    );
}

/// A pod that shares its PID namespace (`podman pod create --share pid`, Kubernetes
/// `shareProcessNamespace: true`): a neighbour's loop is not in the traced container's profile.
#[test]
fn a_neighbour_in_a_pod_sharing_pids_is_not_recorded() {
    let Some(p) = podman() else {
        return;
    };
    // The pod's infra container needs an image: the busybox root, imported.
    let tar = p.scratch_path("rootfs.tar");
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(p.rootfs())
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .finish("tar")
        .status;
    assert!(status.success());
    let image = "localhost/osbh-infra";
    let change = r#"CMD ["/bin/sleep", "infinity"]"#;
    assert_success(
        "podman import",
        &p.podman(&["import", "--change", change, tar.to_str().unwrap(), image]),
    );
    let pod = e2e::unique_id("pod");
    assert_success(
        "podman pod create",
        &p.podman(&[
            "pod",
            "create",
            "--name",
            &pod,
            "--share",
            "pid",
            "--infra-image",
            image,
        ]),
    );
    let in_pod = format!("--pod={pod}");
    let profile = p.scratch_path("in-pod.json");
    let annotation = format!("of:{}", profile.display());
    let traced = {
        let _a = Neighbour::start(&p, &[&in_pod], "getcpu");
        p.trace_with(&[&in_pod], &annotation, &["sleep", "1"])
    };
    assert_success("tracing in the pod", &traced);
    let names = e2e::names(&profile);
    assert!(
        !names.iter().any(|n| n == "getcpu"),
        "the neighbour's loop: {names:?}"
    );
    let opt = format!("seccomp={}", profile.display());
    let enforced = p.run(&["--rm", &in_pod, "--security-opt", &opt], &["sleep", "1"]);
    let _ = p.podman(&["pod", "rm", "-f", &pod]);
    assert_success("the container under its profile, in the pod", &enforced);
}

/// `--pid=host`: recorded like any container, and only the container.
#[test]
fn a_host_pid_container_records_only_itself() {
    let Some(p) = podman() else {
        return;
    };
    let callnr = p.rootfs().join("bin/callnr");
    let host_nr = e2e::syscall_number("getcpu").to_string();
    let own_nr = e2e::syscall_number("msync").to_string();
    let profile = p.scratch_path("host.json");
    let annotation = format!("of:{}", profile.display());
    let stop = std::sync::atomic::AtomicBool::new(false);
    let out = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::process::Command::new(&callnr).arg(&host_nr).output();
            }
        });
        let script = format!("/bin/callnr {own_nr}; sleep 0.5");
        let out = p.trace_with(&["--pid=host"], &annotation, &["sh", "-c", &script]);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        out
    });
    assert_success("tracing with --pid=host", &out);
    let names = e2e::names(&profile);
    assert!(
        names.iter().any(|n| n == "msync"),
        "its own call is missing: {names:?}"
    );
    assert!(
        !names.iter().any(|n| n == "getcpu"),
        "the host's loop: {names:?}"
    );
    let opt = format!("seccomp={}", profile.display());
    assert_success(
        "the container under its profile",
        &p.run(
            &["--rm", "--pid=host", "--security-opt", &opt],
            &["/bin/callnr", &own_nr],
        ),
    );
}

/// `podman exec` into a traced container is part of it: recorded, and the same exec works
/// under the enforced profile (an exec probe killed by its profile restarts the pod); a
/// container started beside it is not (see `e2e::exec`).
#[test]
fn podman_exec_is_recorded_and_runs_under_the_profile() {
    let Some(p) = podman() else {
        return;
    };
    e2e::exec::exec_is_recorded_and_runs_under_the_profile(&p);
}

/// A runtime hook that runc runs in the container's namespaces before pivot_root (CDI and GPU
/// setups add one) is not the container: the profile is the same as without it.
#[test]
fn a_create_container_hook_is_not_recorded() {
    let Some(p) = podman() else {
        return;
    };
    let without = scenarios::trace(&p, "without-hook.json", None, &["ls", "/"]);
    p.add_hook(
        "true.json",
        &json!({
            "version": "1.0.0",
            "hook": { "path": "/bin/true" },
            "when": { "always": true },
            "stages": ["createContainer"],
        }),
    );
    let with = scenarios::trace(&p, "with-hook.json", None, &["ls", "/"]);
    let (without, with) = (e2e::names(&without), e2e::names(&with));
    for setup in ["mount", "umount2", "pivot_root", "sethostname", "statfs"] {
        assert!(
            !with.iter().any(|n| n == setup),
            "the hook's {setup}: {with:?}"
        );
    }
    assert_eq!(with, without);
}

/// The same command gives the same profile, without the runtime threads' calls that never
/// ran under the filter; each still runs under enforcement.
#[test]
fn ten_recordings_of_the_same_command_are_identical() {
    let Some(p) = podman() else {
        return;
    };
    for cmd in [&["true"][..], &["ls", "/"][..]] {
        let profiles: Vec<_> = (0..10)
            .map(|i| scenarios::trace(&p, &format!("stable-{i}.json"), None, cmd))
            .collect();
        let first = e2e::names(&profiles[0]);
        // Calls of runc's other threads, which never carry the filter (sched_yield, which
        // runc's init thread may make under it, and tgkill, runc 1.3's setxid broadcast from
        // it, are among runc's own calls, `profile::runtime`).
        for runtime_only in ["epoll_pwait", "nanosleep"] {
            assert!(
                !first.iter().any(|n| n == runtime_only),
                "{cmd:?}: {runtime_only} in {first:?}"
            );
        }
        for profile in &profiles[1..] {
            assert_eq!(e2e::names(profile), first, "{cmd:?}: {}", profile.display());
        }
        assert_success("under its profile", &p.enforce(&profiles[9], cmd));
    }
}

/// A sleep stopped and continued under a profile recorded without a stop: the kernel resumes
/// the interrupted sleep with restart_syscall, which the profile must allow. (busybox `sleep`
/// ignores a failed sleep; this helper reports it.)
#[test]
fn a_stopped_and_continued_sleep_runs_under_its_profile() {
    let Some(p) = podman() else {
        return;
    };
    e2e::install_static_helper(
        p.rootfs(),
        "sleeper",
        "#include <errno.h>\n#include <stdio.h>\n#include <time.h>\n\
         int main(void) {\n\
           struct timespec t = { 2, 0 };\n\
           if (nanosleep(&t, NULL) != 0) { printf(\"nanosleep: errno %d\\n\", errno); return 1; }\n\
           return 0;\n}\n",
    );
    let profile = scenarios::trace(&p, "sleep.json", None, &["/bin/sleeper"]);
    let opt = format!("seccomp={}", profile.display());
    let id = e2e::unique_id("stopped");
    assert_success(
        "starting the sleeper",
        &p.run(
            &["-d", "--name", &id, "--security-opt", &opt],
            &["/bin/sleeper"],
        ),
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_success("SIGSTOP", &p.podman(&["kill", "--signal", "STOP", &id]));
    std::thread::sleep(Duration::from_millis(300));
    assert_success("SIGCONT", &p.podman(&["kill", "--signal", "CONT", &id]));
    let waited = p.podman(&["wait", &id]);
    let logs = p.podman(&["logs", &id]);
    let _ = p.podman(&["rm", "-f", &id]);
    assert_success("podman wait", &waited);
    assert_eq!(
        String::from_utf8_lossy(&waited.stdout).trim(),
        "0",
        "the sleep failed: {}",
        String::from_utf8_lossy(&logs.stdout)
    );
}

/// A task that joined another network namespace (setns, which once marked it as nesting),
/// then thousands of short children come and go (each leaves the task map when it exits); a
/// later nested PID namespace is still followed.
#[test]
fn many_children_then_a_nested_namespace_are_recorded() {
    let Some(p) = podman() else {
        return;
    };
    let nr = e2e::syscall_number("getcpu");
    let script = format!(
        "nsenter --net=/proc/1/ns/net sh -c 'i=0; while [ $i -lt 5000 ]; do /bin/true; \
         i=$((i+1)); done; unshare -p -f /bin/callnr {nr}'"
    );
    let profile = p.scratch_path("many.json");
    let annotation = format!("of:{}", profile.display());
    let started = Instant::now();
    assert_success(
        "5000 children, then unshare -pf",
        &p.trace_with(
            &["--cap-add", "SYS_ADMIN"],
            &annotation,
            &["sh", "-c", &script],
        ),
    );
    eprintln!("5000 children took {:?}", started.elapsed());
    let names = e2e::names(&profile);
    assert!(
        names.iter().any(|n| n == "getcpu"),
        "the nested helper: {names:?}"
    );
}
