//! The hook under podman 4 + runc, installed from a hooks.d directory as users do.

use e2e::{
    engine::{Engine, Podman, ANNOTATION},
    scenarios,
};

const TOOLS: &[&str] = &["podman", "runc", "busybox"];

fn podman() -> Option<Podman> {
    e2e::ready(TOOLS, Podman::new)
}

e2e::scenario_tests! {
    TOOLS, Podman::new:
    podman_trace_ls => trace_ls,
    podman_enforce => enforce_ls,
    podman_extend => extend,
    podman_blocked_stays_blocked => blocked_stays_blocked,
    podman_bad_annotations => bad_annotations,
    podman_private_baselines_are_refused => private_baselines_are_refused,
    podman_rewrite_keeps_owner_and_mode => rewrite_keeps_owner_and_mode,
    podman_recordings_are_stable => recordings_are_stable,
}

/// `--rm` removes the container (and its cgroup) at once; the profile must still be written,
/// and be there when podman returns. Without --rm too.
#[test]
fn podman_rm_and_keep_both_write_the_profile() {
    let Some(p) = podman() else {
        return;
    };
    for (name, extra) in [("rm.json", Some("--rm")), ("kept.json", None)] {
        let profile = p.scratch_path(name);
        let annotation = format!("{ANNOTATION}=of:{}", profile.display());
        let mut args = vec!["--annotation", annotation.as_str()];
        args.extend(extra);
        let out = p.run(&args, &["ls", "/"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (_, names) = e2e::allowed_names(&profile);
        assert!(names.contains(&"getdents64".to_owned()), "{names:?}");
    }
}

/// A tracer that cannot attach in time is killed and the container never starts.
#[test]
fn podman_attach_timeout_stops_the_container() {
    if !e2e::privileged_with(TOOLS) {
        return;
    }
    // Loading and verifying the program takes milliseconds; a microsecond cannot be met.
    let p = Podman::with_hook_args(&["--timeout", "0.000001"]);
    let profile = p.scratch_path("late.json");
    let annotation = format!("of:{}", profile.display());
    let out = p.trace(&annotation, &["mkdir", "/started"]);
    scenarios::assert_refused(&p, &out, "did not attach within", &profile);
}

/// `--allowed-output-dir` in the hooks.d JSON: profiles go inside it, and an annotation that
/// names a path elsewhere is refused before the container runs.
#[test]
fn podman_allowed_output_dir_bounds_the_profile_path() {
    if !e2e::privileged_with(TOOLS) {
        return;
    }
    let allowed = tempfile::tempdir().unwrap();
    let allowed_arg = allowed.path().to_str().unwrap();
    let p = Podman::with_hook_args(&["--allowed-output-dir", allowed_arg]);

    let inside = allowed.path().join("ok.json");
    let annotation = format!("of:{}", inside.display());
    let out = p.trace(&annotation, &["ls", "/"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(inside.exists());

    let outside = p.scratch_path("outside.json");
    let annotation = format!("of:{}", outside.display());
    let out = p.trace(&annotation, &["mkdir", "/started"]);
    scenarios::assert_refused(&p, &out, "outside the allowed output directories", &outside);
}

/// A workload that nests a PID namespace (`unshare -pf` in the container): the nested
/// process's syscalls belong to the container's profile.
#[test]
fn podman_nested_pid_namespace_is_recorded() {
    if !e2e::privileged_with(&["podman", "runc", "busybox", "gcc"]) {
        return;
    }
    let p = Podman::new();
    e2e::install_syscall_helper(p.rootfs());
    let profile = p.scratch_path("nested.json");
    let annotation = format!("of:{}", profile.display());
    // getcpu: made by nothing else here (see tests/many.rs), so only the nested process.
    let nr = e2e::syscall_number("getcpu").to_string();
    let out = p.trace_with(
        &["--cap-add", "SYS_ADMIN"],
        &annotation,
        &["/bin/unshare", "-p", "-f", "/bin/callnr", &nr],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, names) = e2e::allowed_names(&profile);
    assert!(names.iter().any(|n| n == "unshare"), "{names:?}");
    assert!(
        names.iter().any(|n| n == "getcpu"),
        "the nested process was not recorded: {names:?}"
    );
}
