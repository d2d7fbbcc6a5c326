//! Today's runtimes, from the root `cargo xtask test` makes (see `e2e::sid`): podman 5 with
//! runc 1.3 and with crun 1.2x, installed from a hooks.d directory as users do. Each records,
//! enforces what it recorded (the profile starts under its own runtime: its calls after the
//! filter install are the runtime list's), records an exec into a traced container, runs
//! upstream's prestart-only hooks JSON and refuses a bad annotation in one line. The
//! capability report's tests on them are in `capabilities.rs`.

use e2e::{
    engine::{Engine, Podman, Runtime},
    scenarios,
};

fn today(runtime: Runtime) -> Option<Podman> {
    e2e::privileged_with(&["busybox"])
        .then(|| Podman::today(runtime))
        .flatten()
}

/// One `#[test]` per scenario on podman 5 with `$runtime`.
macro_rules! today_tests {
    ($runtime:path; $($test:ident => $scenario:ident),+ $(,)?) => {
        $(
            #[test]
            fn $test() {
                if let Some(p) = today($runtime) {
                    scenarios::$scenario(&p);
                }
            }
        )+
    };
}

today_tests! {
    Runtime::Runc;
    podman5_runc_enforce => enforce_ls,
    podman5_runc_bad_annotations => bad_annotations,
}

today_tests! {
    Runtime::Crun;
    podman5_crun_enforce => enforce_ls,
    podman5_crun_bad_annotations => bad_annotations,
}

/// The versions are today's: a root of older ones would pass for the wrong reason.
#[test]
fn the_root_holds_todays_runtimes() {
    let Some(p) = today(Runtime::Runc) else {
        return;
    };
    let sid = p.sid().expect("in the root");
    for (tool, wanted) in [
        ("podman", "podman version 5."),
        ("runc", "runc version 1.3."),
        ("crun", "crun version 1.2"),
        ("containerd", "containerd/v2 2."),
        ("docker", "Docker version 28."),
    ] {
        let line = sid.version_of(tool);
        assert!(line.contains(wanted), "{tool}: {line:?}");
    }
}

#[test]
fn podman5_runc_exec_is_recorded_and_runs_under_the_profile() {
    exec_into_a_traced_container(Runtime::Runc);
}

#[test]
fn podman5_crun_exec_is_recorded_and_runs_under_the_profile() {
    exec_into_a_traced_container(Runtime::Crun);
}

fn exec_into_a_traced_container(runtime: Runtime) {
    let Some(p) = today(runtime).filter(|_| e2e::privileged_with(&["gcc"])) else {
        return;
    };
    e2e::install_syscall_helper(p.rootfs());
    e2e::exec::exec_is_recorded_and_runs_under_the_profile(&p);
}

#[test]
fn podman5_runc_upstreams_prestart_only_json_writes_the_profile() {
    prestart_only(Runtime::Runc);
}

#[test]
fn podman5_crun_upstreams_prestart_only_json_writes_the_profile() {
    prestart_only(Runtime::Crun);
}

/// Upstream's hooks JSON runs the hook at prestart only: with no poststop to wait for, the
/// tracer writes the profile when the container is gone, soon after podman returns.
fn prestart_only(runtime: Runtime) {
    let Some(p) = today(runtime) else {
        return;
    };
    p.edit_hook_json(|hook| hook["stages"] = serde_json::json!(["prestart"]));
    let profile = p.scratch_path("prestart-only.json");
    let out = p.trace(&format!("of:{}", profile.display()), &["ls", "/"]);
    e2e::assert_success(&format!("{} ls /", p.name()), &out);
    e2e::poll_until(std::time::Duration::from_secs(10), || {
        profile.is_file().then_some(())
    })
    .expect("no profile 10 s after the container ended");
    let (_, names) = e2e::allowed_names(&profile);
    assert!(names.contains(&"getdents64".to_owned()), "{names:?}");
    let out = p.enforce(&profile, &["ls", "/"]);
    e2e::assert_success(&format!("{} ls / under its profile", p.name()), &out);
}
