//! What a user does with the hook, as functions every engine runs. Each asserts the exit
//! status and the file content; none sleeps: the profile must exist when the engine returns.

use std::{path::PathBuf, process::Output};

use serde_json::json;

use crate::{allowed_names, engine::Engine};

fn assert_ok(engine: &dyn Engine, what: &str, out: &Output) {
    crate::assert_success(&format!("{} {what}", engine.name()), out);
}

fn assert_failed(engine: &dyn Engine, what: &str, out: &Output) {
    assert!(
        !out.status.success(),
        "{} {what} should have failed\nstdout: {}",
        engine.name(),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A start the hook refused: the engine failed and said `why`, the container never ran (its
/// command is `mkdir /started`), and no `profile` was written.
pub fn assert_refused(engine: &dyn Engine, out: &Output, why: &str, profile: &std::path::Path) {
    assert_failed(engine, why, out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(why), "{}: {stderr}", engine.name());
    assert!(
        !engine.rootfs().join("started").exists(),
        "{}: the container ran",
        engine.name()
    );
    assert!(
        !profile.exists(),
        "{}: a profile was written",
        engine.name()
    );
}

/// Traces `cmd` with `annotation`, which the hook must refuse saying `why`: the engine's
/// output, and what the user can read of the hook's reason (the engine's stderr, and syslog
/// where the engine drops the hook's stderr).
pub fn trace_refused(
    engine: &dyn Engine,
    annotation: &str,
    cmd: &[&str],
    why: &str,
) -> (Output, String) {
    let syslog = (!engine.shows_hook_stderr()).then(crate::syslog::SyslogCapture::start);
    let out = engine.trace(annotation, cmd);
    let mut said = String::from_utf8_lossy(&out.stderr).into_owned();
    if let Some(syslog) = syslog {
        for line in syslog.lines_until(why, std::time::Duration::from_secs(5)) {
            said.push_str("\nsyslog: ");
            said.push_str(&line);
        }
    }
    (out, said)
}

/// Traces `cmd` into a new profile file and returns its path.
pub fn trace(engine: &dyn Engine, name: &str, baseline: Option<&PathBuf>, cmd: &[&str]) -> PathBuf {
    let profile = engine.scratch().join(name);
    let annotation = match baseline {
        Some(b) => format!("of:{};if:{}", profile.display(), b.display()),
        None => format!("of:{}", profile.display()),
    };
    let out = engine.trace(&annotation, cmd);
    assert_ok(engine, &format!("tracing {cmd:?}"), &out);
    assert!(
        profile.is_file(),
        "{}: no profile when the engine returned",
        engine.name()
    );
    profile
}

/// `ls /` is traced: execve and getdents64 are there, the runtime's own set-up is not.
pub fn trace_ls(engine: &dyn Engine) -> PathBuf {
    let profile = trace(engine, "ls.json", None, &["ls", "/"]);
    let (json, names) = allowed_names(&profile);
    assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(json["defaultErrnoRet"], 38);
    assert!(names.iter().any(|n| n.starts_with("execve")), "{names:?}");
    assert!(names.contains(&"getdents64".to_owned()), "{names:?}");
    for floor in ["futex", "restart_syscall", "rt_sigreturn", "sched_yield"] {
        assert!(
            names.contains(&floor.to_owned()),
            "runtime floor {floor}: {names:?}"
        );
    }
    for setup in ["pivot_root", "sethostname", "mount"] {
        assert!(
            !names.contains(&setup.to_owned()),
            "runtime's {setup} recorded: {names:?}"
        );
    }
    profile
}

/// The same command traced five times gives the same profile: the runtime's stretch between
/// its filter install and execve is recorded (runc: Go scheduler calls, covered by the floor;
/// crun: capset, setresuid, its sync socket's reads and writes, signal resets), but nothing
/// that depends on scheduling.
pub fn recordings_are_stable(engine: &dyn Engine) -> Vec<String> {
    let first = allowed_names(&trace(engine, "stable-0.json", None, &["ls", "/"])).1;
    for i in 1..5 {
        let again = allowed_names(&trace(
            engine,
            &format!("stable-{i}.json"),
            None,
            &["ls", "/"],
        ))
        .1;
        assert_eq!(again, first, "{}: recording {i} differs", engine.name());
    }
    first
}

/// The traced profile runs `ls /` again, and refuses `mkdir`, which was never recorded.
pub fn enforce_ls(engine: &dyn Engine) {
    let profile = trace_ls(engine);
    assert_ok(
        engine,
        "ls / under its profile",
        &engine.enforce(&profile, &["ls", "/"]),
    );
    let out = engine.enforce(&profile, &["mkdir", "/never-recorded"]);
    assert_failed(engine, "mkdir under the ls profile", &out);
}

/// A profile of `mkdir` extending the `ls` profile runs both.
pub fn extend(engine: &dyn Engine) {
    let ls = trace_ls(engine);
    let both = trace(engine, "both.json", Some(&ls), &["mkdir", "/extended"]);
    let (_, names) = allowed_names(&both);
    assert!(
        names.contains(&"getdents64".to_owned()),
        "baseline kept: {names:?}"
    );
    assert!(names.iter().any(|n| n.starts_with("mkdir")), "{names:?}");
    assert_ok(
        engine,
        "ls / under the merged profile",
        &engine.enforce(&both, &["ls", "/"]),
    );
    let out = engine.enforce(&both, &["mkdir", "/extended-again"]);
    assert_ok(engine, "mkdir under the merged profile", &out);
}

/// A baseline that blocks mkdir keeps it blocked, even though the traced run made it.
pub fn blocked_stays_blocked(engine: &dyn Engine) {
    let baseline = engine.scratch().join("block-mkdir.json");
    let rule =
        json!({ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "comment": "kept" });
    let doc = json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule.clone()] });
    std::fs::write(&baseline, doc.to_string()).unwrap();
    let profile = trace(
        engine,
        "blocked.json",
        Some(&baseline),
        &["mkdir", "/blocked"],
    );
    let (json, names) = allowed_names(&profile);
    assert_eq!(json["syscalls"][0], rule, "baseline rule kept as it was");
    assert!(!names.iter().any(|n| n.starts_with("mkdir")), "{names:?}");
    let out = engine.enforce(&profile, &["mkdir", "/blocked-again"]);
    assert_failed(
        engine,
        "mkdir under a profile whose baseline blocks it",
        &out,
    );
}

/// Every malformed annotation stops the container before it starts, says why, and writes
/// nothing.
pub fn bad_annotations(engine: &dyn Engine) {
    let dir = engine.scratch();
    let out = dir.join("bad.json");
    let not_json = dir.join("not-json.json");
    std::fs::write(&not_json, "this is not JSON").unwrap();
    // The hook runs as root with a path from the container's creator: no symlink games.
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let link = dir.join("link.json");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let o = out.display();
    let cases = [
        ("of:relative.json".to_owned(), "not absolute"),
        (format!("xf:{o}"), "starts with none of"),
        (format!("of:{o};of:{o}"), "given twice"),
        (format!("if:{}", not_json.display()), "missing"),
        ("of:".to_owned(), "empty path"),
        (format!("of:{o};if:/a;if:/b"), "given twice"),
        (format!("of:{o};if:/a;caps:/c;if:/b"), "more than two ';'"),
        ("of:/a.json;caps:relative.json".to_owned(), "not absolute"),
        (
            format!("of:{o};if:/nonexistent/base.json"),
            "unusable if: baseline: cannot read the profile",
        ),
        (
            format!("of:{o};if:{}", not_json.display()),
            "not valid JSON",
        ),
        (
            format!("of:/nonexistent-dir/{}", "p.json"),
            "does not exist",
        ),
        (format!("of:{}", link.display()), "symbolic link"),
        ("of:/proc/self/p.json".to_owned(), "kernel filesystem"),
        (format!("of:{}/../bad.json", dir.display()), "without it"),
    ];
    for (annotation, why) in cases {
        let (result, stderr) = trace_refused(engine, &annotation, &["mkdir", "/must-not-run"], why);
        assert_failed(engine, &format!("annotation {annotation:?}"), &result);
        assert!(
            !engine.rootfs().join("must-not-run").exists(),
            "{} {annotation:?}: the container ran",
            engine.name()
        );
        assert!(
            stderr.contains(why),
            "{} {annotation:?}: {stderr}",
            engine.name()
        );
        assert!(
            !out.exists(),
            "{} {annotation:?} wrote a file",
            engine.name()
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

/// A baseline is copied into a file the requester chooses, so the hook reads only profiles
/// that every user could read: a 0600 credential file and a readable JSON that is no
/// profile are both refused before the container starts, and neither is echoed.
pub fn private_baselines_are_refused(engine: &dyn Engine) {
    const SECRET: &str = "c2VjcmV0LXRva2VuLTQyNDI=";
    let dir = engine.scratch();
    let auth = json!({ "auths": { "registry.example": { "auth": SECRET } } }).to_string();
    let private = dir.join("auth.json");
    crate::write_with_mode(&private, &auth, 0o600);
    let readable = dir.join("auth-readable.json");
    crate::write_with_mode(&readable, &auth, 0o644);
    let out = dir.join("leak.json");
    for (baseline, why) in [
        (&private, "not readable by every user"),
        (&readable, "is not a seccomp profile"),
    ] {
        let annotation = format!("if:{};of:{}", baseline.display(), out.display());
        let (result, stderr) = trace_refused(engine, &annotation, &["mkdir", "/must-not-run"], why);
        assert_failed(engine, &format!("baseline {}", baseline.display()), &result);
        assert!(stderr.contains(why), "{} {why}: {stderr}", engine.name());
        assert!(
            !stderr.contains(SECRET),
            "{}: secret echoed: {stderr}",
            engine.name()
        );
        assert!(
            !engine.rootfs().join("must-not-run").exists(),
            "the container ran"
        );
        assert!(!out.exists(), "{}: a file was written", engine.name());
    }
}

/// A user's profile that the hook rewrites keeps its owner, group and mode.
pub fn rewrite_keeps_owner_and_mode(engine: &dyn Engine) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let profile = engine.scratch().join("owned.json");
    std::fs::write(&profile, "{}").unwrap();
    std::os::unix::fs::chown(&profile, Some(1000), Some(1000)).unwrap();
    std::fs::set_permissions(&profile, std::fs::Permissions::from_mode(0o640)).unwrap();
    trace(engine, "owned.json", None, &["ls", "/"]);
    let meta = std::fs::metadata(&profile).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (1000, 1000, 0o640),
        "{}: owner or mode changed",
        engine.name()
    );
    let (_, names) = allowed_names(&profile);
    assert!(names.contains(&"getdents64".to_owned()), "{names:?}");
}
