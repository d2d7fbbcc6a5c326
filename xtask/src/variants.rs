//! The version-skew test's second binary: the same hook with an eBPF object whose bytes (and
//! so whose registry key) differ, as after an upgrade while old tracers still run.

use std::path::Path;

use anyhow::{Context, Result};

use crate::{paths, util};

/// Builds [`paths::skewed_binary`], then the normal binary again (the build script embeds
/// whatever `OSBH_EBPF_OBJECT` names, so each switch rebuilds only the `hook` crate).
pub fn build(build_args: &[&str]) -> Result<()> {
    let target = util::target_dir();
    let object = paths::ebpf_object(&target);
    let binary = paths::skewed_binary(&target);
    let dir = binary.parent().context("skew directory")?;
    std::fs::create_dir_all(dir)?;
    let skewed_object = dir.join("hook-ebpf.o");
    let mut bytes =
        std::fs::read(&object).with_context(|| format!("cannot read {}", object.display()))?;
    // ELF readers ignore bytes past the sections; the hash does not.
    bytes.extend_from_slice(b"\0osbh version-skew test\0\0");
    std::fs::write(&skewed_object, bytes)?;

    util::run(
        util::cargo_command()
            .args(build_args)
            .env("OSBH_EBPF_OBJECT", &skewed_object),
    )?;
    copy(&target.join("debug").join("oci-seccomp-bpf-hook"), &binary)?;
    util::cargo(build_args)
}

/// Copies beside `to`, then renames: a copy still running keeps its own file.
fn copy(from: &Path, to: &Path) -> Result<()> {
    let temporary = to.with_extension("new");
    std::fs::copy(from, &temporary)
        .with_context(|| format!("cannot copy {} to {}", from.display(), temporary.display()))?;
    std::fs::rename(&temporary, to).with_context(|| format!("cannot replace {}", to.display()))
}
