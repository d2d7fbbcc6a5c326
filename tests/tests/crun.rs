//! The hook under podman 4 + crun (Fedora's and RHEL's default runtime): every scenario, and
//! what crun does differently (see `engine::Runtime::Crun` for how it runs on this host).

use e2e::engine::Podman;

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
