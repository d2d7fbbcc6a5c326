//! What a VM runs from the host: the hook and the privileged test binaries (cross-built
//! static for a foreign machine; the eBPF object inside is the same), and on arm64 the
//! AArch32 test program.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{bail, Context, Result};

use super::Arch;
use crate::{cross, util};

/// What the VM's script runs.
pub struct Built {
    pub hook: PathBuf,
    pub tests: Vec<PathBuf>,
    /// Exported to the tests (the AArch32 program's path).
    pub env: Vec<(String, String)>,
    /// How many tests of a binary run at once: two, on every machine. On arm64 under
    /// multi-threaded TCG, two at once once left about one boot in five with an empty
    /// recording (2026-12-01), in a test with private programs too, so nothing shared between
    /// tracers; see `qemu::start` for the emulator's part. Since qemu runs the vCPUs on one
    /// host thread, 20 arm64 6.12 boots of two at a time were all green (2026-12-07).
    pub test_threads: u32,
}

/// The test binaries run inside, by package: `record` itself, the shared programs, the
/// capability program; on arm64 also the AArch32 program under runc.
fn tests(arch: Arch) -> Vec<(&'static str, &'static str)> {
    let mut tests = vec![("hook", "record"), ("hook", "programs"), ("hook", "caps")];
    if arch == Arch::Aarch64 {
        tests.push(("e2e", "aarch32"));
    }
    tests
}

/// Builds what `arch`'s VMs run (the host's own hook binary is built by the caller).
pub fn build(arch: Arch, work: &Path) -> Result<Built> {
    let target_dir = util::target_dir();
    let hook = match arch.rust_target() {
        None => target_dir.join("debug/oci-seccomp-bpf-hook"),
        Some(target) => {
            cross::add_target(target)?;
            util::run(cross::cargo(target).args(["build", "-p", "hook", "--bins"]))?;
            target_dir.join(target).join("debug/oci-seccomp-bpf-hook")
        }
    };
    let mut env = Vec::new();
    if arch == Arch::Aarch64 {
        let program = aarch32_program(work)?;
        env.push(("OSBH_AARCH32_PROGRAM".into(), program.display().to_string()));
    }
    Ok(Built {
        hook,
        tests: test_binaries(arch)?,
        env,
        test_threads: 2,
    })
}

/// The host paths a foreign VM sees at the same place: the workspace and the target dir.
pub fn binds() -> Vec<PathBuf> {
    let (root, target) = (util::workspace_root(), util::target_dir());
    match target.starts_with(&root) {
        true => vec![root],
        false => vec![root, target],
    }
}

/// Paths of the `tests` binaries, built if needed (`cargo test --no-run`).
fn test_binaries(arch: Arch) -> Result<Vec<PathBuf>> {
    let wanted = tests(arch);
    let mut cmd = match arch.rust_target() {
        None => util::cargo_command(),
        Some(target) => cross::cargo(target),
    };
    cmd.args(["test", "--no-run", "--message-format=json"]);
    for (package, test) in &wanted {
        cmd.args(["-p", package, "--test", test]);
    }
    let out = cmd
        .current_dir(util::workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo test --no-run")?;
    if !out.status.success() {
        bail!("building the tests for the VM failed");
    }
    let binaries: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["target"]["kind"][0] == "test")
        .filter(|m| wanted.iter().any(|(_, t)| m["target"]["name"] == *t))
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .collect();
    if binaries.len() != wanted.len() {
        bail!(
            "expected {} test binaries from cargo, found {binaries:?}",
            wanted.len()
        );
    }
    Ok(binaries)
}

/// tests/programs/aarch32_mkdir_rmdir.c, static for 32-bit ARM (EABI, hard float).
fn aarch32_program(work: &Path) -> Result<PathBuf> {
    let source = util::workspace_root().join("tests/programs/aarch32_mkdir_rmdir.c");
    let out = work.join("aarch32-mkdir-rmdir");
    util::run(
        Command::new("arm-linux-gnueabihf-gcc")
            .args(["-static", "-O2", "-o"])
            .arg(&out)
            .arg(&source),
    )?;
    Ok(out)
}
