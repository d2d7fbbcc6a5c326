//! `cargo xtask build-ebpf`: the kernel object, built with nightly for bpfel-unknown-none.

use std::{path::PathBuf, process::Command};

use anyhow::{bail, Context, Result};

use crate::util::{self, output, succeeds};

pub const TOOLCHAIN: &str = "nightly";
const TARGET: &str = "bpfel-unknown-none";

/// Builds the object and copies it to [`crate::paths::ebpf_object`], where `hook`'s build
/// script looks for it. Returns that path.
pub fn build(release: bool) -> Result<PathBuf> {
    check_prerequisites()?;
    let mut cmd = Command::new("rustup");
    cmd.args(["run", TOOLCHAIN, "cargo", "build", "-p", "hook-ebpf"])
        .args(["--target", TARGET, "-Z", "build-std=core"]);
    if release {
        cmd.arg("--release");
    }
    // We run under stable cargo: its variables would pin the inner build to stable rustc.
    for var in ["RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "CARGO"] {
        cmd.env_remove(var);
    }
    util::run(&mut cmd)?;

    let profile = if release { "release" } else { "debug" };
    let built = util::target_dir()
        .join(TARGET)
        .join(profile)
        .join("hook-ebpf");
    let dest = crate::paths::ebpf_object(&util::target_dir());
    let dest_dir = dest.parent().expect("the object path has a directory");
    std::fs::create_dir_all(dest_dir)
        .with_context(|| format!("cannot create {}", dest_dir.display()))?;
    // Copied only when it changed: `hook`'s build script reruns (and every hook binary is
    // rebuilt) whenever the object's file is touched.
    let object = std::fs::read(&built)
        .with_context(|| format!("cannot read {}: build it again", built.display()))?;
    if std::fs::read(&dest).ok().as_ref() != Some(&object) {
        std::fs::write(&dest, &object)
            .with_context(|| format!("cannot write {}: check its permissions", dest.display()))?;
    }
    let stamp = crate::paths::ebpf_stamp(&util::target_dir());
    std::fs::write(&stamp, "")
        .with_context(|| format!("cannot write {}: check its permissions", stamp.display()))?;
    eprintln!("eBPF object ({profile}): {}", dest.display());
    Ok(dest)
}

/// Says exactly which prerequisite is missing and how to get it.
pub fn check_prerequisites() -> Result<()> {
    if !succeeds("rustup", &["--version"]) {
        bail!("rustup is not installed; the eBPF build needs it to select the nightly toolchain");
    }
    if !succeeds("rustup", &["run", TOOLCHAIN, "rustc", "--version"]) {
        bail!(
            "the {TOOLCHAIN} toolchain is missing: run `rustup toolchain install {TOOLCHAIN}` \
             (or `cargo xtask setup`)"
        );
    }
    if !rust_src_installed() {
        bail!(
            "rust-src for {TOOLCHAIN} is missing (needed by -Z build-std=core): run \
             `rustup component add rust-src --toolchain {TOOLCHAIN}` (or `cargo xtask setup`)"
        );
    }
    if !succeeds("bpf-linker", &["--version"]) {
        bail!(
            "bpf-linker is not on PATH: run `cargo xtask setup`, which installs LLVM 22 \
             (llvm-22-dev) and builds bpf-linker against it (takes several minutes)"
        );
    }
    Ok(())
}

pub fn rust_src_installed() -> bool {
    output("rustup", &["run", TOOLCHAIN, "rustc", "--print", "sysroot"]).is_some_and(|sysroot| {
        PathBuf::from(sysroot)
            .join("lib/rustlib/src/rust/library/core/Cargo.toml")
            .is_file()
    })
}
