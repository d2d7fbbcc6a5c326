//! containerd through the runtime wrapper, as `ctr run --runc-binary` drives runc through it
//! (the io.containerd.runc.v2 shim's BinaryName): containerd never reads hooks.d, so the
//! wrapper adds the hook to the bundles that carry the annotation.

use e2e::{containerd::Containerd, engine::ANNOTATION};

const TOOLS: &[&str] = &["containerd", "ctr", "runc", "busybox"];

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A container annotated through ctr gets its profile and capability report; run under the
/// profile by containerd itself, the same command works and another syscall is refused.
#[test]
fn ctr_through_the_wrapper_records_and_containerd_enforces() {
    if let Some(c) = e2e::ready(TOOLS, Containerd::start) {
        records_and_enforces(&c);
    }
}

/// The same with Debian 13's containerd 1.7.
#[test]
fn containerd_1_7_through_the_wrapper_records_and_enforces() {
    if let Some(c) =
        e2e::ready(&["runc", "busybox"], || ()).and_then(|()| Containerd::start_debian13())
    {
        records_and_enforces(&c);
    }
}

/// The same with containerd 2.1 and runc 1.3, in the root of today's runtimes.
#[test]
fn containerd_2_through_the_wrapper_records_and_enforces() {
    if let Some(c) = today() {
        records_and_enforces(&c);
    }
}

/// containerd 2 in the root of today's runtimes (see `e2e::sid`), once the host can enter it.
fn today() -> Option<Containerd> {
    e2e::privileged_with(&["busybox"])
        .then(Containerd::start_today)
        .flatten()
}

fn records_and_enforces(c: &Containerd) {
    let wrapper = c.scratch_path("oci-seccomp-bpf-runtime");
    std::os::unix::fs::symlink(e2e::hook_binary(), &wrapper).unwrap();
    let rootfs = e2e::busybox_rootfs(&c.scratch_path("busybox"));
    let (profile, caps) = (c.scratch_path("ls.json"), c.scratch_path("ls-caps.json"));
    let annotation = format!(
        "{ANNOTATION}=of:{};caps:{}",
        profile.display(),
        caps.display()
    );
    let binary = wrapper.to_string_lossy();
    let traced = ["--runc-binary", &binary, "--annotation", &annotation];
    let id = e2e::unique_id("ctr");
    let out = c.run(&traced, &rootfs, &id, &["/bin/ls", "/"]);
    e2e::assert_success("ctr run through the wrapper", &out);
    let names = e2e::names(&profile);
    assert!(names.iter().any(|n| n == "getdents64"), "{names:?}");
    // The capability report, asked in the same annotation: ls needs no capability.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&caps).expect("a capability report")).unwrap();
    assert!(report["observed_by"].is_string(), "{report}");
    assert_eq!(report["needed"], serde_json::json!([]), "{report}");

    let enforced = ["--seccomp-profile", profile.to_str().unwrap()];
    let out = c.run(
        &enforced,
        &rootfs,
        &e2e::unique_id("ctr"),
        &["/bin/ls", "/"],
    );
    e2e::assert_success("ls under its profile", &out);
    let refused = c.run(
        &enforced,
        &rootfs,
        &e2e::unique_id("ctr"),
        &["/bin/mkdir", "/tmp/x"],
    );
    assert!(!refused.status.success(), "mkdir ran under ls's profile");
    assert!(
        stderr(&refused).contains("Function not implemented"),
        "{}",
        stderr(&refused)
    );
}

/// A bad annotation stops the container before it starts, with the wrapper's one line in
/// what containerd reports; without any annotation the wrapper changes nothing.
#[test]
fn ctr_bad_annotation_is_refused_and_untraced_passes_through() {
    if let Some(c) = e2e::ready(TOOLS, Containerd::start) {
        bad_annotation_is_refused_and_untraced_passes_through(&c);
    }
}

/// The same with containerd 2.1 and runc 1.3.
#[test]
fn containerd_2_bad_annotation_is_refused_and_untraced_passes_through() {
    if let Some(c) = today() {
        bad_annotation_is_refused_and_untraced_passes_through(&c);
    }
}

fn bad_annotation_is_refused_and_untraced_passes_through(c: &Containerd) {
    let wrapper = c.scratch_path("oci-seccomp-bpf-runtime");
    std::os::unix::fs::symlink(e2e::hook_binary(), &wrapper).unwrap();
    let rootfs = e2e::busybox_rootfs(&c.scratch_path("busybox"));
    let binary = wrapper.to_string_lossy();
    let bad = format!("{ANNOTATION}=xf:/tmp/never.json");
    let args = ["--runc-binary", &binary, "--annotation", &bad];
    let out = c.run(
        &args,
        &rootfs,
        &e2e::unique_id("ctr"),
        &["/bin/mkdir", "/started"],
    );
    assert!(
        !out.status.success(),
        "a container with a bad annotation started"
    );
    assert!(
        stderr(&out).contains("starts with none of"),
        "{}",
        stderr(&out)
    );
    assert!(!rootfs.join("started").exists(), "the container ran");

    let plain = ["--runc-binary", &*binary];
    let out = c.run(
        &plain,
        &rootfs,
        &e2e::unique_id("ctr"),
        &["/bin/sh", "-c", "echo ran"],
    );
    e2e::assert_success("an untraced container through the wrapper", &out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ran");
}
