//! Faults around the tracer: each must end with a clear message, no partial or misplaced
//! file, and no hang.

use std::time::{Duration, Instant};

use e2e::engine::{Engine, Podman, Runc};
use serde_json::json;

const TOOLS: &[&str] = &["podman", "runc", "busybox"];

fn temp_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// SIGKILL to the tracer while the container runs: the previous profile is untouched, podman
/// returns within the poststop bound, and the next run writes normally with no temp file left.
#[test]
fn killed_tracer_leaves_the_previous_profile_and_the_next_run_works() {
    if !e2e::privileged_with(
        "killed_tracer_leaves_the_previous_profile_and_the_next_run_works",
        TOOLS,
    ) {
        return;
    }
    let p = Podman::new();
    let out_dir = tempfile::tempdir().unwrap();
    let profile = out_dir.path().join("p.json");
    std::fs::write(&profile, "previous").unwrap();
    let annotation = format!("io.containers.trace-syscall=of:{}", profile.display());
    let started = Instant::now();
    let killed = std::thread::scope(|scope| {
        let run = scope.spawn(|| p.run(&["--rm", "--annotation", &annotation], &["sleep", "2"]));
        let tracer = e2e::poll_until(Duration::from_secs(10), || {
            e2e::tracer_writing_into(out_dir.path())
        })
        .expect("the tracer holds the output directory open");
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(tracer).unwrap(),
            rustix::process::Signal::KILL,
        )
        .unwrap();
        run.join().unwrap()
    });
    assert!(started.elapsed() < Duration::from_secs(30), "podman hung");
    // podman runs poststop from its cleanup process, whose output goes to its own log; the
    // waiter's message is checked by poststop_after_a_killed_tracer_reports_it below.
    let _ = killed;
    assert_eq!(std::fs::read_to_string(&profile).unwrap(), "previous");
    assert_eq!(temp_files(out_dir.path()), Vec::<String>::new());

    let out = p.run(&["--rm", "--annotation", &annotation], &["ls", "/"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, names) = e2e::allowed_names(&profile);
    assert!(names.iter().any(|n| n == "getdents64"), "{names:?}");
    assert_eq!(temp_files(out_dir.path()), Vec::<String>::new());
}

/// The runtime fails after our prestart hook (a second hook exits 1), so the container's init
/// is killed before the workload: our tracer must notice and exit at once, writing nothing.
#[test]
fn container_killed_before_it_starts_ends_the_tracer_promptly() {
    if !e2e::privileged_with(
        "container_killed_before_it_starts_ends_the_tracer_promptly",
        TOOLS,
    ) {
        return;
    }
    let r = Runc::new();
    let profile = r.scratch().join("never.json");
    let out = r.trace_with(
        &format!("of:{}", profile.display()),
        &["mkdir", "/started"],
        |config| {
            let hooks = config["hooks"]["prestart"].as_array_mut().unwrap();
            hooks.push(json!({ "path": "/bin/false" }));
        },
    );
    assert!(!out.status.success(), "runc must fail on the second hook");
    assert!(!r.rootfs().join("started").exists(), "the container ran");
    e2e::poll_until(Duration::from_secs(5), || {
        e2e::tracer_writing_into(r.scratch())
            .is_none()
            .then_some(())
    });
    assert_eq!(
        e2e::tracer_writing_into(r.scratch()),
        None,
        "the tracer is still running"
    );
    assert!(!profile.exists());
}

/// Without CAP_BPF and CAP_SYS_ADMIN nothing can be loaded: the hook must fail before the
/// container starts, with one line naming the missing privilege.
#[test]
fn hook_without_bpf_privileges_refuses_to_start_the_container() {
    if !e2e::privileged_with(
        "hook_without_bpf_privileges_refuses_to_start_the_container",
        &["runc", "busybox", "capsh"],
    ) {
        return;
    }
    let r = Runc::new();
    let profile = r.scratch().join("p.json");
    let hook = e2e::hook_binary();
    let out = r.trace_with(
        &format!("of:{}", profile.display()),
        &["mkdir", "/started"],
        |config| {
            let dropped = json!({
                "path": e2e::which("capsh").unwrap(),
                "args": ["capsh", "--drop=cap_bpf,cap_perfmon,cap_sys_admin", "--",
                         "-c", format!("exec {} -s", hook.display())],
            });
            config["hooks"]["prestart"] = json!([dropped]);
        },
    );
    assert!(!out.status.success());
    assert!(!r.rootfs().join("started").exists(), "the container ran");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CAP_BPF"), "names the privilege: {stderr}");
    assert!(!profile.exists());
}

/// What poststop finds after a killed tracer: the lock file it claimed, empty and unlocked. It
/// must return at once with an error that says so, and clean the file up.
#[test]
fn poststop_after_a_killed_tracer_reports_it() {
    if !e2e::privileged("poststop_after_a_killed_tracer_reports_it") {
        return;
    }
    let id = e2e::unique_id("killed");
    let run_dir = std::path::Path::new("/run/oci-seccomp-bpf-hook");
    std::fs::create_dir_all(run_dir).unwrap();
    std::fs::write(run_dir.join(&id), "").unwrap();
    let state = json!({ "ociVersion": "1.0.2", "id": id, "status": "stopped", "bundle": "/" });
    let started = Instant::now();
    let mut child = std::process::Command::new(e2e::hook_binary())
        .arg("-s")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        state.to_string().as_bytes(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "poststop hung");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tracer died"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!run_dir.join(&id).exists());
}
