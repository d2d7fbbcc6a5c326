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

/// Receives one descriptor on the unix socket `$1` (a terminal's master, as runc hands it to
/// `--console-socket`), then prints what the container writes to it until it closes.
const CONSOLE_RECEIVER: &str = r#"import os, socket, sys
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1])
server.listen(1)
print("listening", flush=True)
connection, _ = server.accept()
_, fds, _, _ = socket.recv_fds(connection, 1024, 1)
out = b""
while True:
    try:
        chunk = os.read(fds[0], 1024)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode(errors="replace"))
"#;

/// `--console-socket`: a container with a terminal hands its pty's master to the caller's
/// socket through the wrapper, and what it writes arrives there.
#[test]
fn a_console_socket_gets_the_containers_terminal() {
    let Some(engine) = e2e::ready(&["runc", "busybox", "python3"], Runc::wrapped) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("console.sock");
    let receiver = Command::new("python3")
        .args(["-c", CONSOLE_RECEIVER])
        .arg(&socket)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    e2e::until_exists(&socket);
    let bundle = engine.bundle(&["sh", "-c", "echo on-the-terminal"], |config| {
        config["process"]["terminal"] = serde_json::json!(true);
    });
    let id = e2e::unique_id("console");
    let socket_arg = socket.to_string_lossy();
    let bundle_arg = bundle.to_string_lossy();
    let run = [
        "run",
        "-d",
        "--console-socket",
        &socket_arg,
        "--bundle",
        &bundle_arg,
        &id,
    ];
    e2e::assert_success("run -d --console-socket", &engine.runtime(&run));
    let limit = std::time::Duration::from_secs(30);
    let printed = e2e::child::output_within(receiver, limit, "the console receiver");
    let _ = engine.runtime(&["delete", "--force", &id]);
    let text = String::from_utf8_lossy(&printed.stdout);
    assert!(text.contains("on-the-terminal"), "{text}");
}
