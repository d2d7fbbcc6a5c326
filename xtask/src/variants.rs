//! The hook binaries built from another eBPF object, for the tests: the version-skew test's
//! (same code, other bytes, as after an upgrade while old tracers still run) and the rejection
//! test's (one program the verifier refuses).

use std::path::Path;

use anyhow::{bail, Context, Result};
use object::{Object, ObjectSection, ObjectSymbol};

use crate::{paths, util};

/// Builds [`paths::skewed_binary`] and [`paths::rejected_binary`], then the normal binary
/// again (the build script embeds whatever `OSBH_EBPF_OBJECT` names, so each switch rebuilds
/// only the `hook` crate).
pub fn build(build_args: &[&str]) -> Result<()> {
    let target = util::target_dir();
    let object = paths::ebpf_object(&target);
    let bytes =
        std::fs::read(&object).with_context(|| format!("cannot read {}", object.display()))?;
    let mut skewed = bytes.clone();
    // ELF readers ignore bytes past the sections; the hash does not.
    skewed.extend_from_slice(b"\0osbh version-skew test\0\0");
    let rejected = reject(bytes, paths::REJECTED_PROGRAM)?;
    for (variant, binary) in [
        (skewed, paths::skewed_binary(&target)),
        (rejected, paths::rejected_binary(&target)),
    ] {
        build_with(&variant, &binary, build_args)?;
    }
    util::cargo(build_args)
}

/// Builds the hook with `object` embedded and copies the binary to `binary`.
fn build_with(object: &[u8], binary: &Path, build_args: &[&str]) -> Result<()> {
    let dir = binary.parent().context("a binary in a directory")?;
    std::fs::create_dir_all(dir)?;
    let path = dir.join("hook-ebpf.o");
    std::fs::write(&path, object)?;
    util::run(
        util::cargo_command()
            .args(build_args)
            .env("OSBH_EBPF_OBJECT", &path),
    )?;
    copy(
        &util::target_dir()
            .join("debug")
            .join("oci-seccomp-bpf-hook"),
        binary,
    )
}

/// `BPF_ALU64 | BPF_MOV | BPF_X`, `r0 = r5`: at a program's entry only r1 (the context) is
/// set, so the verifier refuses it (`R5 !read_ok`).
const READ_UNSET_REGISTER: [u8; 8] = [0xbf, 0x50, 0, 0, 0, 0, 0, 0];

/// `object` with the first instruction of `program` replaced by [`READ_UNSET_REGISTER`].
fn reject(mut object: Vec<u8>, program: &str) -> Result<Vec<u8>> {
    let at = {
        let file = object::File::parse(&*object).context("the eBPF object is not ELF")?;
        let symbol = file
            .symbols()
            .find(|s| s.name() == Ok(program))
            .with_context(|| format!("no program {program} in the eBPF object"))?;
        let section = file.section_by_index(
            symbol
                .section_index()
                .with_context(|| format!("{program} has no section"))?,
        )?;
        let (start, _) = section
            .file_range()
            .with_context(|| format!("{program}'s section has no bytes"))?;
        usize::try_from(start + symbol.address())?
    };
    let Some(first) = object.get_mut(at..at + READ_UNSET_REGISTER.len()) else {
        bail!("{program} lies outside the eBPF object");
    };
    first.copy_from_slice(&READ_UNSET_REGISTER);
    Ok(object)
}

/// Copies beside `to`, then renames: a copy still running keeps its own file.
fn copy(from: &Path, to: &Path) -> Result<()> {
    let temporary = to.with_extension("new");
    std::fs::copy(from, &temporary)
        .with_context(|| format!("cannot copy {} to {}", from.display(), temporary.display()))?;
    std::fs::rename(&temporary, to).with_context(|| format!("cannot replace {}", to.display()))
}
