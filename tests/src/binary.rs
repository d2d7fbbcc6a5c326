//! The hook binaries under test, and what they tell of the node: `status`, and which running
//! processes are their tracers.

use std::path::{Path, PathBuf};

use crate::{assert_success, child::Finish, gate::gate, paths};

/// The hook's run directory (`hook::node::RUN_DIR`): outcomes and the node's registries.
pub const RUN_DIR: &str = "/run/oci-seccomp-bpf-hook";

/// The hook binary under test: `$OSBH_BIN`, else the workspace's debug build.
pub fn hook_binary() -> PathBuf {
    let path = std::env::var_os("OSBH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| debug_artifact("oci-seccomp-bpf-hook"));
    assert!(
        path.is_file(),
        "{} does not exist: run `cargo xtask test` (or `cargo build -p hook` first), or set OSBH_BIN",
        path.display()
    );
    // Its directory without `..` (the workspace is `tests/..`): links to it and hooks.d JSON
    // naming it must resolve in the root of today's runtimes too, which has only that
    // directory. The file name stays (the wrapper's mode is told by it).
    let dir = path.parent().and_then(|d| d.canonicalize().ok());
    match (dir, path.file_name()) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => path,
    }
}

/// The hook binary under test run with `args` (stdin empty), within the child deadline.
pub fn run_hook(args: &[&str]) -> std::process::Output {
    std::process::Command::new(hook_binary())
        .args(args)
        .stdin(std::process::Stdio::null())
        .finish("the hook binary")
}

/// The second hook binary `cargo xtask test` builds, with another eBPF object (see
/// `xtask/src/variants.rs`); `None` (after [`gate`]'s rule: fail under CI, else say why) when
/// it was not built.
pub fn skewed_binary() -> Option<PathBuf> {
    built_by_xtask(paths::skewed_binary)
}

/// The hook binary `cargo xtask test` builds with one program the verifier rejects
/// ([`paths::REJECTED_PROGRAM`]); `None` as for [`skewed_binary`].
pub fn rejected_binary() -> Option<PathBuf> {
    built_by_xtask(paths::rejected_binary)
}

fn built_by_xtask(path_in: fn(&Path) -> PathBuf) -> Option<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = path_in(&paths::target_dir(&workspace));
    let missing = (!path.is_file())
        .then(|| format!("{} was not built (run `cargo xtask test`)", path.display()));
    gate(missing).then_some(path)
}

/// The Debian root filesystem `cargo xtask test` makes (nginx, python3); `None` (after [`gate`]'s
/// rule) when it was not made. Run it through an overlay: it is shared by every test.
pub fn debian_rootfs() -> Option<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = paths::debian_rootfs(&paths::target_dir(&workspace));
    let missing = (!root.with_extension("complete").is_file())
        .then(|| format!("{} was not made (run `cargo xtask test`)", root.display()));
    gate(missing).then_some(root)
}

/// The Debian package `cargo xtask dist` made for this machine; `None` (after [`gate`]'s rule)
/// when it was not made.
pub fn deb_package() -> Option<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let arch = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "amd64"
    };
    let deb = paths::deb_package(&paths::target_dir(&workspace), arch);
    let missing = (!deb.is_file())
        .then(|| format!("{} was not made (run `cargo xtask dist`)", deb.display()));
    gate(missing).then_some(deb)
}

/// `oci-seccomp-bpf-hook status --json` of `binary`, parsed.
pub fn status_of(binary: &Path) -> serde_json::Value {
    let out = std::process::Command::new(binary)
        .args(["status", "--json"])
        .finish("the hook binary");
    assert_success("status --json", &out);
    serde_json::from_slice(&out.stdout).expect("status --json prints JSON")
}

/// The containers `status` lists for every object, as (object, container) JSON pairs.
pub fn traced_containers(binary: &Path) -> Vec<(String, serde_json::Value)> {
    let status = status_of(binary);
    let mut all = Vec::new();
    for object in status["objects"].as_array().into_iter().flatten() {
        let key = object["object"].as_str().unwrap_or_default().to_owned();
        for container in object["containers"].as_array().into_iter().flatten() {
            all.push((key.clone(), container.clone()));
        }
    }
    all
}

/// `relative` under the workspace's debug build directory (honours `CARGO_TARGET_DIR`).
pub fn debug_artifact(relative: &str) -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    paths::target_dir(&workspace).join("debug").join(relative)
}

/// PIDs of running processes whose executable is the hook binary under test (tracers).
pub fn hook_processes() -> Vec<i32> {
    let hook = hook_binary().canonicalize().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == hook))
        .collect()
}

/// The tracer holding `dir` open (the output directory of one container's profile).
pub fn tracer_writing_into(dir: &Path) -> Option<i32> {
    let dir = dir.canonicalize().ok()?;
    hook_processes().into_iter().find(|pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == dir))
    })
}
