//! The runtime wrapper (`oci-seccomp-bpf-runtime`), as containerd and Docker run it: in
//! place of runc, adding the hook to bundles that ask and otherwise passing everything
//! through untouched.

use std::process::{Command, Output, Stdio};

use e2e::{child::Finish, engine::Runc};

const TOOLS: &[&str] = &["runc", "busybox"];

e2e::scenario_tests! {
    TOOLS, Runc::wrapped:
    wrapper_trace_ls => trace_ls,
    wrapper_enforce => enforce_ls,
    wrapper_extend => extend,
    wrapper_blocked_stays_blocked => blocked_stays_blocked,
    wrapper_bad_annotations => bad_annotations,
    wrapper_private_baselines_are_refused => private_baselines_are_refused,
    wrapper_rewrite_keeps_owner_and_mode => rewrite_keeps_owner_and_mode,
}

e2e::scenario_tests! {
    &["crun", "unshare", "busybox"], Runc::wrapped_crun:
    wrapper_crun_trace_ls => trace_ls,
    wrapper_crun_enforce => enforce_ls,
    wrapper_crun_extend => extend,
    wrapper_crun_blocked_stays_blocked => blocked_stays_blocked,
    wrapper_crun_bad_annotations => bad_annotations,
}

fn runtime(binary: &std::path::Path, args: &[&str]) -> Output {
    Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .finish("the runtime")
}

/// What containerd and Docker parse comes out byte for byte as runc's own.
#[test]
fn version_and_features_are_runcs_own() {
    let Some(engine) = e2e::ready(TOOLS, Runc::wrapped) else {
        return;
    };
    for args in [&["--version"][..], &["features"]] {
        let ours = runtime(engine.binary(), args);
        let runc = runtime("runc".as_ref(), args);
        assert_eq!(
            (ours.status.code(), &ours.stdout, &ours.stderr),
            (runc.status.code(), &runc.stdout, &runc.stderr),
            "{args:?}"
        );
    }
}

/// An untraced container: its exit status comes through, and its bundle is not touched.
#[test]
fn an_untraced_container_passes_through_untouched() {
    let Some(engine) = e2e::ready(TOOLS, Runc::wrapped) else {
        return;
    };
    let (out, before, after) = engine.run_untraced(&["sh", "-c", "echo out; exit 7"]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(before, after, "the wrapper rewrote an untraced config.json");
}

/// The wrapper never names itself as the real runtime (a loop), and says so in one line.
#[test]
fn a_wrapper_pointed_at_itself_refuses_in_one_line() {
    let Some(engine) = e2e::ready(TOOLS, Runc::wrapped) else {
        return;
    };
    let out = Command::new(engine.binary())
        .arg("--version")
        .env("OCI_SECCOMP_BPF_RUNTIME", engine.binary())
        .stdin(Stdio::null())
        .finish("the wrapper");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is this wrapper itself") && stderr.lines().count() == 1,
        "{stderr}"
    );
}

/// A container's whole life, one subcommand at a time as containerd's shim drives it, through
/// the wrapper: create, state, start, exec, kill, delete each do what runc's do.
#[test]
fn every_subcommand_of_a_containers_life_passes_through() {
    let Some(engine) = e2e::ready(TOOLS, Runc::wrapped) else {
        return;
    };
    let bundle = engine.bundle(&["sleep", "30"], |_| {});
    let id = e2e::unique_id("life");
    let status = |engine: &Runc| {
        let out = engine.runtime(&["state", &id]);
        e2e::assert_success("state", &out);
        let state: serde_json::Value = serde_json::from_slice(&out.stdout).expect("state is JSON");
        state["status"].as_str().unwrap_or_default().to_owned()
    };
    assert!(engine.create_detached(&bundle, &id).success(), "create");
    assert_eq!(status(&engine), "created");
    e2e::assert_success("start", &engine.runtime(&["start", &id]));
    assert_eq!(status(&engine), "running");
    let exec = engine.runtime(&["exec", &id, "sh", "-c", "echo inside; exit 4"]);
    assert_eq!(exec.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&exec.stdout), "inside\n");
    e2e::assert_success("kill", &engine.runtime(&["kill", &id, "KILL"]));
    let stopped = e2e::poll_until(std::time::Duration::from_secs(10), || {
        (status(&engine) == "stopped").then_some(())
    });
    assert!(stopped.is_some(), "the container did not stop");
    e2e::assert_success("delete", &engine.runtime(&["delete", &id]));
    assert!(
        !engine.runtime(&["state", &id]).status.success(),
        "deleted, yet it has a state"
    );
}

/// `--preserve-fds`: a descriptor the caller opened reaches the container's process through
/// the wrapper (it execs the runtime with the same descriptors).
#[test]
fn preserved_descriptors_reach_the_container() {
    let Some(engine) = e2e::ready(TOOLS, Runc::wrapped) else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("passed");
    std::fs::write(&file, "through fd 3\n").unwrap();
    let bundle = engine.bundle(&["sh", "-c", "cat <&3"], |_| {});
    // fd 3 is opened by the shell, then the shell becomes the wrapper with it.
    let out = Command::new("sh")
        .args(["-c", "exec 3<\"$0\"; exec \"$@\""])
        .arg(&file)
        .arg(engine.binary())
        .arg("--root")
        .arg(state.path())
        .args(["run", "--preserve-fds", "1", "--bundle"])
        .arg(&bundle)
        .arg(e2e::unique_id("fds"))
        .stdin(Stdio::null())
        .finish("the wrapper with fd 3");
    e2e::assert_success("run --preserve-fds 1", &out);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "through fd 3\n");
}
