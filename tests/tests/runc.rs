//! The hook listed in a bundle's config.json, run by plain `runc run` (prestart + poststop).
//! Traced bundles carry a permissive seccomp filter (as podman's default profile does), except
//! in the test of a bundle without one, where the window opens at the workload's execve.

use e2e::{
    engine::{Engine, Runc},
    scenarios,
};

const TOOLS: &[&str] = &["runc", "busybox"];

fn runc(test: &str) -> Option<Runc> {
    e2e::privileged_with(test, TOOLS).then(Runc::new)
}

e2e::scenario_tests! {
    runc:
    runc_trace_ls => trace_ls,
    runc_enforce => enforce_ls,
    runc_extend => extend,
    runc_blocked_stays_blocked => blocked_stays_blocked,
    runc_bad_annotations => bad_annotations,
    runc_private_baselines_are_refused => private_baselines_are_refused,
    runc_rewrite_keeps_owner_and_mode => rewrite_keeps_owner_and_mode,
}

/// Without a filter at trace time the window opens at the workload's execve: the workload's
/// syscalls are all there, and none of runc's set-up.
#[test]
fn runc_without_filter_records_from_execve() {
    if !e2e::privileged_with("runc_without_filter_records_from_execve", TOOLS) {
        return;
    }
    let r = Runc::without_filter();
    let profile = scenarios::trace_ls(&r);
    let (_, names) = e2e::allowed_names(&profile);
    for runc_only in ["capset", "setgroups", "fstatfs"] {
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
    let Some(r) = runc("runc_ids_with_plus_or_250_characters_are_traced") else {
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
