//! Faults around the tracer: each must end with a clear message, no partial or misplaced
//! file, and no hang.

use e2e::child::Finish;
use std::time::{Duration, Instant};

use std::path::Path;

use e2e::{
    direct,
    engine::{Engine, Podman, Runc},
    syslog::SyslogCapture,
    RUN_DIR,
};
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
    if !e2e::privileged_with(TOOLS) {
        return;
    }
    let p = Podman::new();
    let out_dir = tempfile::tempdir().unwrap();
    let profile = out_dir.path().join("p.json");
    std::fs::write(&profile, "previous").unwrap();
    let annotation = format!("of:{}", profile.display());
    let started = Instant::now();
    let started_file = p.rootfs().join("tmp/started");
    let _ = std::fs::remove_file(&started_file);
    let script = ["sh", "-c", "touch /tmp/started; sleep 2"];
    let killed = std::thread::scope(|scope| {
        let run = scope.spawn(|| p.trace(&annotation, &script));
        // Once the workload runs, the prestart hook is gone: the tracer alone holds the
        // directory (killing it earlier would fail the prestart instead).
        e2e::poll_until(Duration::from_secs(10), || {
            started_file.exists().then_some(())
        })
        .expect("the container never started");
        let tracer = e2e::tracer_writing_into(out_dir.path())
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

    let out = p.trace(&annotation, &["ls", "/"]);
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
    if !e2e::privileged_with(TOOLS) {
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
    if !e2e::privileged_with(&["runc", "busybox", "capsh"]) {
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
    if !e2e::privileged() {
        return;
    }
    let id = e2e::unique_id("killed");
    std::fs::create_dir_all(RUN_DIR).unwrap();
    std::fs::write(Path::new(RUN_DIR).join(&id), "").unwrap();
    let started = Instant::now();
    let out = poststop(&id);
    assert!(started.elapsed() < Duration::from_secs(5), "poststop hung");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tracer died"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!Path::new(RUN_DIR).join(&id).exists());
}

fn poststop(id: &str) -> std::process::Output {
    let state = direct::state(id, "stopped", None, "of:/unused.json");
    direct::run_hook(&e2e::hook_binary(), &state.to_string())
}

/// A tmpfs that a test can make read-only under a running tracer; unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount() -> Self {
        let dir = tempfile::tempdir().unwrap();
        mount(&["-t", "tmpfs", "none"], dir.path());
        Self(dir)
    }

    fn make_read_only(&self) {
        mount(&["-o", "remount,ro"], self.0.path());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

fn mount(args: &[&str], target: &Path) {
    let status = std::process::Command::new("mount")
        .args(args)
        .arg(target)
        .finish("mount(8)")
        .status;
    assert!(status.success(), "mount {args:?} {}", target.display());
}

/// The profile cannot be written (its directory turned read-only after prestart): poststop
/// exits non-zero with the tracer's one-line reason, syslog has it, the old file is intact,
/// and nothing is left in /run.
#[test]
fn poststop_reports_a_profile_that_could_not_be_written() {
    if !e2e::privileged_with(&["unshare", "mount"]) {
        return;
    }
    let syslog = SyslogCapture::start();
    let out_dir = Tmpfs::mount();
    let profile = out_dir.0.path().join("p.json");
    std::fs::write(&profile, "previous").unwrap();
    let id = e2e::unique_id("readonly");
    let init = direct::HeldInit::start();
    let annotation = format!("of:{}", profile.display());
    let state = direct::state(&id, "created", Some(init.pid()), &annotation);
    let prestart = direct::run_hook(&e2e::hook_binary(), &state.to_string());
    assert!(
        prestart.status.success(),
        "{}",
        String::from_utf8_lossy(&prestart.stderr)
    );
    out_dir.make_read_only();
    init.release();

    let out = poststop(&id);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "poststop exited 0 without a profile");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert_eq!(std::fs::read_to_string(&profile).unwrap(), "previous");
    assert!(
        !Path::new(RUN_DIR).join(&id).exists(),
        "outcome left in /run"
    );
    let lines = syslog.lines_until("Read-only", Duration::from_secs(5));
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&id) && l.contains("Read-only file system")),
        "not in syslog: {lines:?}"
    );
}

/// The same under `podman run --rm`: podman runs poststop itself (its cleanup process logs
/// the failure), the tracer's reason is in syslog, and the old profile is intact.
#[test]
fn podman_run_with_an_unwritable_profile_reports_it() {
    if !e2e::privileged_with(TOOLS) {
        return;
    }
    let syslog = SyslogCapture::start();
    let p = Podman::new();
    let out_dir = Tmpfs::mount();
    let profile = out_dir.0.path().join("p.json");
    std::fs::write(&profile, "previous").unwrap();
    let annotation = format!("of:{}", profile.display());
    let gate = p.rootfs().join("tmp/go");
    let script = "while [ ! -e /tmp/go ]; do sleep 0.05; done; ls /";
    let out = std::thread::scope(|scope| {
        let run = scope.spawn(|| p.trace(&annotation, &["sh", "-c", script]));
        e2e::poll_until(Duration::from_secs(10), || {
            e2e::tracer_writing_into(out_dir.0.path())
        })
        .expect("the tracer holds the output directory open");
        out_dir.make_read_only();
        std::fs::write(&gate, "").unwrap();
        run.join().unwrap()
    });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&profile).unwrap(), "previous");
    let lines = syslog.lines_until("Read-only", Duration::from_secs(5));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Read-only file system") && l.contains("cannot write")),
        "not in syslog: {lines:?}"
    );
    let _ = std::fs::remove_file(&gate);
}

/// A build whose `task_exit` program the verifier rejects (made by `cargo xtask test`): `record`
/// and a podman container's prestart fail with one line naming the program and the verifier's
/// reason; at debug level the whole log is there too. Nothing is left in /run.
#[test]
fn a_program_the_verifier_rejects_is_told_in_one_line() {
    let Some(rejected) = e2e::rejected_binary() else {
        return;
    };
    if !e2e::privileged_with(TOOLS) {
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    let record = |level: &str| {
        std::process::Command::new(&rejected)
            .arg("record")
            .arg("-o")
            .arg(out_dir.path().join("p.json"))
            .args(["--", "true"])
            .env("OCI_SECCOMP_BPF_HOOK_LOG", level)
            .stdin(std::process::Stdio::null())
            .finish("the rejected build's record")
    };
    let out = record("warn");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert_rejection(&stderr);
    let debug = String::from_utf8_lossy(&record("debug").stderr).into_owned();
    assert!(
        debug.contains("processed 1 insns"),
        "no full log at debug: {debug}"
    );

    let p = Podman::with_hook_json(|hook| hook["hook"]["path"] = json!(rejected));
    let profile = p.scratch_path("p.json");
    let out = p.trace(&format!("of:{}", profile.display()), &["true"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "podman ran the container: {stderr}");
    assert_rejection(&stderr);
    assert!(
        !stderr.contains("processed 1 insns"),
        "the log reached podman: {stderr}"
    );
    assert!(!profile.exists());
}

fn assert_rejection(stderr: &str) {
    assert!(
        stderr.contains("task_exit") && stderr.contains("the verifier rejected it: R5 !read_ok"),
        "names the program and the reason: {stderr}"
    );
}
