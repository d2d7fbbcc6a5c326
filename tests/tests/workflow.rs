//! What a user does with profiles after recording (issue: profiles as a workflow): snapshot a
//! running container, diff and merge profiles, hand them to Kubernetes as SeccompProfile
//! resources. Real podman and runc, the real binary.

use std::{path::PathBuf, process::Output, time::Duration};

use e2e::{
    engine::{Engine, Podman},
    scenarios,
};
use serde_json::Value;

fn podman() -> Option<Podman> {
    e2e::ready(&["podman", "runc", "busybox", "gcc"], Podman::with_callnr)
}

/// The hook binary with `args`, to its end.
fn nr(name: &str) -> String {
    e2e::syscall_number(name).to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_snapshot_has_the_first_phase_and_runs_it_while_recording_goes_on() {
    let Some(p) = podman() else {
        return;
    };
    e2e::install_phase_helper(p.rootfs());
    let name = e2e::unique_id("snap");
    let (last, snap) = (p.scratch_path("final.json"), p.scratch_path("snap.json"));
    let annotation = format!("of:{}", last.display());
    let (first, second) = ("getcpu", "sysinfo");
    std::thread::scope(|scope| {
        let go = e2e::StopFile(p.rootfs().join("tmp/go"));
        let run = scope.spawn(|| {
            let cmd = ["/bin/phase", &nr(first), "/tmp/go", &nr(second)];
            p.trace_with(&["--name", &name], &annotation, &cmd)
        });
        // podman's ID, a unique beginning of it, as a user copies it from `podman ps`.
        let id = e2e::poll_until(Duration::from_secs(10), || {
            let out = p.podman(&["inspect", "--format", "{{.Id}}", &name]);
            let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            (out.status.success() && !id.is_empty()).then_some(id)
        })
        .expect("the container's ID");
        let prefix = &id[..12];
        let snapshot = e2e::poll_until(Duration::from_secs(10), || {
            let out = e2e::run_hook(&["snapshot", prefix, "-o", snap.to_str()?]);
            (out.status.success() && e2e::names(&snap).iter().any(|n| n == first)).then_some(())
        });
        assert!(snapshot.is_some(), "no snapshot with {first} appeared");
        let taken = e2e::names(&snap);
        assert!(
            !taken.iter().any(|n| n == second),
            "{second} before it ran: {taken:?}"
        );
        go.create();
        e2e::assert_success("the traced container", &run.join().expect("podman"));
    });
    let all = e2e::names(&last);
    for syscall in [first, second] {
        assert!(
            all.iter().any(|n| n == syscall),
            "{syscall} missing at exit: {all:?}"
        );
    }
    // The snapshot, enforced, runs the first phase and refuses the second.
    let out = p.enforce(&snap, &["/bin/callnr", &nr(first), &nr(second)]);
    // Whether it exits cleanly is not its business: exit_group came after the snapshot.
    let lines = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(lines.contains(&format!("{} 0 0", nr(first))), "{lines}");
    assert!(lines.contains(&format!("{} -1 38", nr(second))), "{lines}");

    let missing = e2e::run_hook(&["snapshot", "no-such-container"]);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(stderr(&missing).lines().count(), 1, "{}", stderr(&missing));
}

/// `record` of GNU ls on the host: `ls -l` reads what `ls` never does per file (ACLs through
/// the xattr calls, link targets, the user database). busybox's `ls` stats every entry either
/// way, so inside the test containers the two differ only by reading /etc/passwd.
#[test]
fn diff_shows_what_ls_l_needs_beyond_ls() {
    if !e2e::privileged_with(&["ls"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let record = |name: &str, cmd: &[&str]| {
        let profile = dir.path().join(name);
        let mut args = vec!["record", "-o", profile.to_str().unwrap(), "--"];
        args.extend_from_slice(cmd);
        e2e::assert_success(&format!("record {cmd:?}"), &e2e::run_hook(&args));
        profile
    };
    let ls = record("ls.json", &["ls", "/"]);
    let ls_l = record("ls-l.json", &["ls", "-l", "/"]);
    let (a, b) = (ls.to_str().unwrap(), ls_l.to_str().unwrap());
    let out = e2e::run_hook(&["diff", a, b, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let diff: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let native = &diff["architectures"][e2e::engine::native_scmp_arch()];
    let only_b: Vec<&str> = native["only_b"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let per_file = ["stat", "xattr", "readlink"];
    assert!(
        only_b
            .iter()
            .any(|n| per_file.iter().any(|f| n.contains(f))),
        "no per-file metadata call only in ls -l: {diff}"
    );
    assert!(
        native["only_a"].as_array().is_some_and(Vec::is_empty),
        "{diff}"
    );
    let text = e2e::run_hook(&["diff", a, b]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("allowed only in"));

    let same = e2e::run_hook(&["diff", a, a]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));

    let not_a_profile = dir.path().join("not-a-profile.json");
    std::fs::write(&not_a_profile, "{\"hello\": 1}").unwrap();
    let bad = e2e::run_hook(&["diff", a, not_a_profile.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(stderr(&bad).lines().count(), 1, "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("not a seccomp profile"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn a_merge_of_three_recordings_runs_all_three_and_keeps_a_blocking_rule() {
    let Some(p) = podman() else {
        return;
    };
    let own = ["getcpu", "sysinfo", "times"];
    let recorded: Vec<PathBuf> = own
        .iter()
        .map(|s| scenarios::trace(&p, &format!("{s}.json"), None, &["/bin/callnr", &nr(s)]))
        .collect();
    // A baseline that blocks mkdir with EPERM: the merge must keep that.
    let baseline = p.scratch_path("blocks-mkdir.json");
    let blocking = serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "architectures": [e2e::engine::native_scmp_arch()],
        "syscalls": [{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 }],
    });
    std::fs::write(&baseline, blocking.to_string()).unwrap();
    let merged = p.scratch_path("merged.json");
    let mut args = vec!["merge", "-o", merged.to_str().unwrap()];
    args.extend(recorded.iter().map(|p| p.to_str().unwrap()));
    args.push(baseline.to_str().unwrap());
    let out = e2e::run_hook(&args);
    e2e::assert_success("merge", &out);

    let all: Vec<String> = own.iter().map(|s| nr(s)).collect();
    let mut cmd = vec!["/bin/callnr"];
    cmd.extend(all.iter().map(String::as_str));
    let run = p.enforce(&merged, &cmd);
    e2e::assert_success("the three commands under the merged profile", &run);
    let lines = String::from_utf8_lossy(&run.stdout).into_owned();
    for n in &all {
        // Zero arguments: sysinfo(NULL) fails with EFAULT, which is the kernel answering.
        let refused = format!("{n} -1 38");
        assert!(
            lines.contains(&format!("{n} ")) && !lines.contains(&refused),
            "{n}: {lines}"
        );
    }
    let mkdir = p.enforce(&merged, &["/bin/callnr", &nr("mkdir")]);
    let lines = String::from_utf8_lossy(&mkdir.stdout).into_owned();
    assert!(
        lines.contains(&format!("{} -1 1", nr("mkdir"))),
        "mkdir not EPERM: {lines}"
    );

    // A recording that allows mkdir conflicts with the baseline that blocks it.
    let allows_mkdir = scenarios::trace(&p, "mkdir.json", None, &["mkdir", "/tmp/made"]);
    let conflict = e2e::run_hook(&[
        "merge",
        "-o",
        p.scratch_path("conflict.json").to_str().unwrap(),
        allows_mkdir.to_str().unwrap(),
        baseline.to_str().unwrap(),
    ]);
    assert_eq!(conflict.status.code(), Some(2));
    let message = stderr(&conflict);
    assert_eq!(message.lines().count(), 1, "{message}");
    for file in [&allows_mkdir, &baseline] {
        assert!(message.contains(file.to_str().unwrap()), "{message}");
    }
}

/// Checks a SeccompProfile resource's shape (the CRD's fields are in the test data too).
fn check_resource(yaml: &str, name: &str) -> Value {
    let doc: Value = serde_yaml::from_str(yaml).expect("the output parses as YAML");
    assert_eq!(
        doc["apiVersion"],
        "security-profiles-operator.x-k8s.io/v1beta1"
    );
    assert_eq!(doc["kind"], "SeccompProfile");
    assert_eq!(doc["metadata"]["name"], name);
    assert!(doc["spec"]["defaultAction"].is_string(), "{doc}");
    assert!(doc["spec"]["architectures"].is_array(), "{doc}");
    for rule in doc["spec"]["syscalls"].as_array().expect("syscalls") {
        assert!(
            rule["names"].is_array() && rule["action"].is_string(),
            "{rule}"
        );
    }
    doc
}

#[test]
fn profiles_become_seccompprofile_resources() {
    let Some(p) = podman() else {
        return;
    };
    let ls = scenarios::trace(&p, "ls.json", None, &["ls", "/"]);
    let out = e2e::run_hook(&[
        "convert",
        "--format",
        "spo",
        "--name",
        "ls",
        ls.to_str().unwrap(),
    ]);
    e2e::assert_success("convert", &out);
    let doc = check_resource(&String::from_utf8_lossy(&out.stdout), "ls");
    let allowed = &doc["spec"]["syscalls"][0];
    assert_eq!(allowed["action"], "SCMP_ACT_ALLOW");
    assert!(allowed["names"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "getdents64"));

    let yaml = p.scratch_path("true.yaml");
    let out = e2e::run_hook(&[
        "record",
        "--format",
        "spo",
        "-o",
        yaml.to_str().unwrap(),
        "--",
        "true",
    ]);
    e2e::assert_success("record --format spo", &out);
    check_resource(&std::fs::read_to_string(&yaml).unwrap(), "true");

    let bad = e2e::run_hook(&[
        "convert",
        "--format",
        "spo",
        "--name",
        "Not_A_Name",
        ls.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(stderr(&bad).lines().count(), 1, "{}", stderr(&bad));
}
