//! The hook listed in a bundle's config.json, run by plain `runc run` (prestart + poststop).
//! Traced bundles carry a permissive seccomp filter (as podman's default profile does), except
//! in the test of a bundle without one, where the window opens at the workload's execve.

use e2e::{
    engine::{Engine, Runc},
    scenarios,
};

const TOOLS: &[&str] = &["runc", "busybox"];

e2e::scenario_tests! {
    TOOLS, Runc::new:
    runc_trace_ls => trace_ls,
    runc_enforce => enforce_ls,
    runc_extend => extend,
    runc_blocked_stays_blocked => blocked_stays_blocked,
    runc_bad_annotations => bad_annotations,
    runc_private_baselines_are_refused => private_baselines_are_refused,
    runc_rewrite_keeps_owner_and_mode => rewrite_keeps_owner_and_mode,
}

/// Without a filter at trace time the window opens at the workload's execve: the workload's
/// syscalls are all there, and none of runc's set-up (runc's own calls after where it would
/// have installed a filter are in every profile anyway, `profile::runtime`).
#[test]
fn runc_without_filter_records_from_execve() {
    if !e2e::privileged_with(TOOLS) {
        return;
    }
    let r = Runc::without_filter();
    let profile = scenarios::trace_ls(&r);
    let (_, names) = e2e::allowed_names(&profile);
    for runc_only in ["mount", "pivot_root", "umount2"] {
        assert!(
            !names.contains(&runc_only.to_owned()),
            "runc's {runc_only}: {names:?}"
        );
    }
}

/// runc accepts IDs matching `^[\w+\-.]+$`, of any length its state directory allows: one
/// with `+`, and one of 250 characters, are traced end to end (poststop included).
#[test]
fn runc_ids_with_plus_or_250_characters_are_traced() {
    let Some(r) = e2e::ready(TOOLS, Runc::new) else {
        return;
    };
    let long = format!("osbh-{}-{}", std::process::id(), "x".repeat(250))[..250].to_owned();
    for id in [format!("osbh+plus-{}", std::process::id()), long] {
        let profile = r.scratch().join("id.json");
        let _ = std::fs::remove_file(&profile);
        let out = r.trace_as(
            &id,
            &format!("of:{}", profile.display()),
            &["ls", "/"],
            |_| {},
        );
        assert!(
            out.status.success(),
            "{id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (_, names) = e2e::allowed_names(&profile);
        assert!(names.contains(&"getdents64".to_owned()), "{names:?}");
    }
}

/// A createContainer hook (run by runc in the container's namespaces before pivot_root) is not
/// the container, and the same command gives the same profile every time.
#[test]
fn runc_hooks_are_not_recorded_and_recordings_are_stable() {
    let Some(r) = e2e::ready(TOOLS, Runc::new) else {
        return;
    };
    let plain = scenarios::recordings_are_stable(&r);
    let profile = r.scratch().join("hooked.json");
    let out = r.trace_with(
        &format!("of:{}", profile.display()),
        &["ls", "/"],
        |config| {
            config["hooks"]["createContainer"] = serde_json::json!([{ "path": "/bin/true" }]);
        },
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hooked = e2e::names(&profile);
    for setup in ["mount", "umount2", "pivot_root", "sethostname"] {
        assert!(
            !hooked.iter().any(|n| n == setup),
            "the hook's {setup}: {hooked:?}"
        );
    }
    assert_eq!(hooked, plain);
}

/// `runc exec` into a traced container is recorded with it.
#[test]
fn runc_exec_is_recorded() {
    if !e2e::privileged_with(&["runc", "busybox", "gcc"]) {
        return;
    }
    let r = Runc::new();
    e2e::install_syscall_helper(r.rootfs());
    let nr = e2e::syscall_number("getcpu").to_string();
    let id = e2e::unique_id("runc-exec");
    let profile = r.scratch().join("exec.json");
    let script = "touch /tmp/up; while [ ! -e /tmp/done ]; do sleep 0.05; done";
    let annotation = format!("of:{}", profile.display());
    let (traced, exec) = std::thread::scope(|scope| {
        let run = scope.spawn(|| r.trace_as(&id, &annotation, &["sh", "-c", script], |_| {}));
        e2e::poll_until(std::time::Duration::from_secs(10), || {
            r.rootfs().join("tmp/up").exists().then_some(())
        })
        .expect("the container started");
        let exec = r.exec(&id, &["/bin/callnr", &nr]);
        std::fs::write(r.rootfs().join("tmp/done"), "").unwrap();
        (run.join().unwrap(), exec)
    });
    assert!(
        traced.status.success(),
        "{}",
        String::from_utf8_lossy(&traced.stderr)
    );
    assert!(
        exec.status.success(),
        "{}",
        String::from_utf8_lossy(&exec.stderr)
    );
    let names = e2e::names(&profile);
    assert!(
        names.iter().any(|n| n == "getcpu"),
        "runc exec not recorded: {names:?}"
    );
}
