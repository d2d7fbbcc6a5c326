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
