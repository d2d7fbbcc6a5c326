//! The hook under podman 4 + crun (Fedora's and RHEL's default runtime): every scenario, and
//! what crun does differently (see `engine::Runtime::Crun` for how it runs on this host).

use e2e::engine::{Engine, Podman};

const TOOLS: &[&str] = &["podman", "crun", "busybox", "unshare"];

e2e::scenario_tests! {
    TOOLS, Podman::crun:
    crun_trace_ls => trace_ls,
    crun_enforce => enforce_ls,
    crun_extend => extend,
    crun_blocked_stays_blocked => blocked_stays_blocked,
    crun_bad_annotations => bad_annotations,
    crun_private_baselines_are_refused => private_baselines_are_refused,
    crun_rewrite_keeps_owner_and_mode => rewrite_keeps_owner_and_mode,
    crun_recordings_are_stable => recordings_are_stable,
}

/// `podman exec` with crun `--cgroups=disabled`: the container has no cgroup of its own, so
/// the exec is told by the container's mount namespace; a container crun starts beside it, in
/// the same cgroup, is not recorded.
#[test]
fn crun_exec_without_a_cgroup_is_recorded_and_runs_under_the_profile() {
    let make = || {
        let p = Podman::crun();
        e2e::install_syscall_helper(p.rootfs());
        p
    };
    let Some(p) = e2e::ready(&[TOOLS, &["gcc"]].concat(), make) else {
        return;
    };
    e2e::exec::exec_is_recorded_and_runs_under_the_profile(&p);
}
