//! The hook listed in a bundle's config.json, run by plain `runc run` (prestart + poststop).
//! Traced bundles carry a permissive seccomp filter (as podman's default profile does), except
//! in the test of a bundle without one, where the window opens at the workload's execve.

use e2e::{engine::Runc, scenarios};

const TOOLS: &[&str] = &["runc", "busybox"];

fn runc(test: &str) -> Option<Runc> {
    e2e::privileged_with(test, TOOLS).then(Runc::new)
}

#[test]
fn runc_trace_ls() {
    if let Some(r) = runc("runc_trace_ls") {
        scenarios::trace_ls(&r);
    }
}

#[test]
fn runc_enforce() {
    if let Some(r) = runc("runc_enforce") {
        scenarios::enforce_ls(&r);
    }
}

#[test]
fn runc_extend() {
    if let Some(r) = runc("runc_extend") {
        scenarios::extend(&r);
    }
}

#[test]
fn runc_blocked_stays_blocked() {
    if let Some(r) = runc("runc_blocked_stays_blocked") {
        scenarios::blocked_stays_blocked(&r);
    }
}

#[test]
fn runc_bad_annotations() {
    if let Some(r) = runc("runc_bad_annotations") {
        scenarios::bad_annotations(&r);
    }
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
