//! The shipped binary must run on any Linux: static, with no program interpreter (the dynamic
//! loader) and no shared library named, for the machine it is packaged for.

use std::path::Path;

use anyhow::{bail, Context, Result};
use object::{
    elf,
    read::elf::{Dyn, FileHeader, ProgramHeader},
    Endianness,
};

use crate::vm::Arch;

/// Fails unless `binary` is a static ELF executable for `arch`.
pub fn check_static(binary: &Path, arch: Arch) -> Result<()> {
    let shown = binary.display();
    let data = std::fs::read(binary).with_context(|| format!("cannot read {shown}"))?;
    let header = elf::FileHeader64::<Endianness>::parse(&*data)
        .with_context(|| format!("{shown} is not a 64-bit ELF file: rebuild it"))?;
    let endian = header.endian()?;
    let machine = match arch {
        Arch::X86_64 => elf::EM_X86_64,
        Arch::Aarch64 => elf::EM_AARCH64,
    };
    if header.e_machine(endian) != machine {
        bail!(
            "{shown} is not built for {}: check its --target",
            arch.name()
        );
    }
    for segment in header.program_headers(endian, &*data)? {
        if segment.p_type(endian) == elf::PT_INTERP {
            bail!("{shown} is dynamically linked (it names a loader): build it for a musl target with rust-lld");
        }
        // A static-pie binary keeps a dynamic section for its own relocations, naming no library.
        let dynamic = segment.dynamic(endian, &*data)?.unwrap_or_default();
        if dynamic.iter().any(|d| d.tag(endian) == elf::DT_NEEDED) {
            bail!("{shown} needs shared libraries: build it for a musl target with rust-lld");
        }
    }
    eprintln!("{shown}: static, {}", arch.name());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This test binary, linked against glibc, is what the check must refuse.
    #[test]
    #[cfg(all(target_env = "gnu", target_arch = "x86_64"))]
    fn a_glibc_binary_is_refused() {
        let me = std::env::current_exe().unwrap();
        let err = check_static(&me, Arch::X86_64).unwrap_err().to_string();
        assert!(err.contains("dynamically linked"), "{err}");
        let err = check_static(&me, Arch::Aarch64).unwrap_err().to_string();
        assert!(err.contains("not built for aarch64"), "{err}");
    }
}
