//! A profile starts its workload under its runtime however it was recorded: without a filter
//! (Kubernetes' `Unconfined`, podman's `seccomp=unconfined`), with `NoNewPrivileges`, or under
//! the runtime's default, and enforced with `NoNewPrivileges` off (where runc and crun install
//! the filter earliest) or on. The runtime's own calls after its filter install are added to
//! every profile (`profile::runtime`); none of its set-up before it is. The same holds for a
//! process `podman exec` starts in a container running under the profile.

use e2e::engine::{Engine, Podman, Runtime};

const TOOLS: &[&str] = &["podman", "runc", "busybox"];

/// How a container was recorded: podman's options.
const RECORDED_UNDER: [(&str, &[&str]); 3] = [
    ("unconfined", &["--security-opt", "seccomp=unconfined"]),
    (
        "no-new-privileges",
        &["--security-opt", "no-new-privileges"],
    ),
    ("the default filter", &[]),
];

/// How its profile is enforced, beside `--security-opt seccomp=PROFILE`.
const ENFORCED_WITH: [(&str, &[&str]); 2] = [
    ("new privileges allowed", &[]),
    (
        "no-new-privileges",
        &["--security-opt", "no-new-privileges"],
    ),
];

/// Calls of the runtime's set-up before its filter install: never in a profile because of it.
const SET_UP: [&str; 4] = ["mount", "umount2", "pivot_root", "sethostname"];

#[test]
fn runc_profiles_start_however_they_were_recorded() {
    if let Some(p) = e2e::ready(TOOLS, Podman::new) {
        every_way(&p);
    }
}

#[test]
fn crun_profiles_start_however_they_were_recorded() {
    let tools: Vec<&str> = TOOLS.iter().copied().chain(["crun", "unshare"]).collect();
    if let Some(p) = e2e::ready(&tools, Podman::crun) {
        every_way(&p);
    }
}

/// The same with podman 5 and runc 1.3 (the root of today's runtimes): runc 1.3's calls after
/// its filter install are not 1.1's.
#[test]
fn runc_1_3_profiles_start_however_they_were_recorded() {
    if let Some(p) = today(Runtime::Runc) {
        every_way(&p);
    }
}

/// The same with podman 5 and crun 1.2x.
#[test]
fn crun_1_2x_profiles_start_however_they_were_recorded() {
    if let Some(p) = today(Runtime::Crun) {
        every_way(&p);
    }
}

fn today(runtime: Runtime) -> Option<Podman> {
    e2e::privileged_with(&["busybox"])
        .then(|| Podman::today(runtime))
        .flatten()
}

/// `ls /; sleep` recorded each way, then run under each profile each way: the same listing
/// every time, `ls /` through `podman exec` too, and `mkdir` (which `ls` never makes) still
/// refused.
fn every_way(p: &Podman) {
    let cmd = ["sh", "-c", "ls /; sleep 0.01"];
    for (recorded, options) in RECORDED_UNDER {
        let profile = p.scratch_path("exact.json");
        let annotation = format!("of:{}", profile.display());
        let traced = p.trace_with(options, &annotation, &cmd);
        e2e::assert_success(&format!("{} recorded under {recorded}", p.name()), &traced);
        let names = e2e::names(&profile);
        for call in SET_UP {
            assert!(
                !names.iter().any(|n| n == call),
                "{call} recorded under {recorded}: {names:?}"
            );
        }
        let seccomp = format!("seccomp={}", profile.display());
        for (enforced, extra) in ENFORCED_WITH {
            let mut args = vec!["--rm", "--security-opt", seccomp.as_str()];
            args.extend(extra);
            let what = format!(
                "{}: recorded under {recorded}, enforced with {enforced}",
                p.name()
            );
            let out = p.run(&args, &cmd);
            e2e::assert_success(&what, &out);
            assert_eq!(out.stdout, traced.stdout, "{what}");
            let refused = p.run(&args, &["mkdir", "/tmp/refused"]);
            assert!(!refused.status.success(), "{what}: mkdir ran");
            let exec = exec_ls(p, &args[1..]);
            e2e::assert_success(&format!("{what}, podman exec"), &exec);
        }
    }
}

/// `podman exec NAME ls /` in a container started with `options` (its profile), running
/// `sleep`.
fn exec_ls(p: &Podman, options: &[&str]) -> std::process::Output {
    let name = e2e::unique_id("exact");
    let mut args = vec!["-d", "--name", name.as_str()];
    args.extend(options);
    e2e::assert_success("a detached container", &p.run(&args, &["sleep", "60"]));
    let out = p.podman(&["exec", &name, "ls", "/"]);
    let _ = p.podman(&["rm", "-f", "-t", "0", &name]);
    out
}
