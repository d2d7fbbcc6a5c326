//! Where the workspace's build output is, written once for the three that need it: xtask,
//! `hook`'s build script and the tests include this file with `#[path]` (a build script can
//! depend on no workspace crate). Keep it std-only.
//!
//! Also the one contract between `cargo xtask test` and the tests: where skips are counted,
//! and where `cargo xtask dist` leaves the packages. The version in file names is the
//! workspace's: every crate that includes this file takes it from there.

use std::path::{Path, PathBuf};

/// `$CARGO_TARGET_DIR`, else `<workspace>/target`.
pub fn target_dir(workspace_root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root.join("target"))
}

/// Where `cargo xtask build-ebpf` leaves the object, and where `hook` embeds it from.
pub fn ebpf_object(target_dir: &Path) -> PathBuf {
    target_dir.join("ebpf").join("hook-ebpf.o")
}

/// Touched by every `cargo xtask build-ebpf`, whether or not the object's bytes changed: the
/// object's own time moves only with its bytes (so that nothing is rebuilt for nothing), and
/// this file says it was built from sources as new as they are.
pub fn ebpf_stamp(target_dir: &Path) -> PathBuf {
    target_dir.join("ebpf").join("hook-ebpf.o.built")
}

/// The eBPF crate's own inputs, the contract crate (`common/`) among them: the object is stale
/// when one of them is newer.
pub fn ebpf_sources(workspace_root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![workspace_root.join("hook-ebpf")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// A second hook binary whose embedded eBPF object differs from the main build's (same code,
/// other bytes, so another hash): `cargo xtask test` builds it for the version-skew test.
pub fn skewed_binary(target_dir: &Path) -> PathBuf {
    target_dir.join("skew").join("oci-seccomp-bpf-hook")
}

/// A hook binary whose embedded eBPF object has one program the verifier rejects (its first
/// instruction reads a register nothing wrote): `cargo xtask test` builds it for the test of
/// how a rejection is told.
pub fn rejected_binary(target_dir: &Path) -> PathBuf {
    target_dir.join("reject").join("oci-seccomp-bpf-hook")
}

/// The program [`rejected_binary`]'s object breaks: one every tracer loads.
pub const REJECTED_PROGRAM: &str = "task_exit";

/// The Debian root filesystem `cargo xtask test` makes for the workload tests (nginx).
pub fn debian_rootfs(target_dir: &Path) -> PathBuf {
    target_dir.join("debian").join("bookworm")
}

/// The Debian root `cargo xtask test` makes with today's runtimes (podman 5, runc 1.3, crun
/// 1.2x, containerd 2, Docker 28), which need a newer libc than the host's: the tests run them
/// inside it (see `tests/src/sid.rs`). Complete when [`complete_marker`] of it exists.
pub fn sid_root(target_dir: &Path) -> PathBuf {
    target_dir.join("debian").join("sid")
}

/// The file saying a root made by `cargo xtask test` is complete (it holds what it was made
/// of): a root without it is half made and made again.
pub fn complete_marker(root: &Path) -> PathBuf {
    root.with_extension("complete")
}

/// Where `cargo xtask test` unpacks Debian 13's containerd (its `tree/usr/bin`).
pub fn containerd_trixie(target_dir: &Path) -> PathBuf {
    target_dir.join("debian").join("trixie-containerd")
}

/// The variable naming the file a test that cannot run writes `TEST: REASON` to (set by
/// `cargo xtask test`, which counts those lines as skipped).
pub const SKIP_LOG_VAR: &str = "OSBH_SKIP_LOG";

/// The skip log `cargo xtask test` uses.
pub fn skip_log(target_dir: &Path) -> PathBuf {
    target_dir.join("test-skips.txt")
}

/// Where `cargo xtask dist` leaves what it ships: a Debian package and a static tarball for
/// each machine.
pub fn dist_dir(target_dir: &Path) -> PathBuf {
    target_dir.join("dist")
}

/// The Debian package `cargo xtask dist` makes for `debian_arch` (`amd64` or `arm64`): the
/// workspace's version, no Debian revision (the package is built here, not by Debian).
pub fn deb_package(target_dir: &Path, debian_arch: &str) -> PathBuf {
    let version = env!("CARGO_PKG_VERSION");
    dist_dir(target_dir).join(format!("oci-seccomp-bpf-hook_{version}_{debian_arch}.deb"))
}

/// The static tarball `cargo xtask dist` makes for `arch` (Rust's name: `x86_64` or
/// `aarch64`), holding the tree the package installs, from `usr/` down.
pub fn static_tarball(target_dir: &Path, arch: &str) -> PathBuf {
    let version = env!("CARGO_PKG_VERSION");
    dist_dir(target_dir).join(format!(
        "oci-seccomp-bpf-hook-{version}-{arch}-linux-musl.tar.gz"
    ))
}
