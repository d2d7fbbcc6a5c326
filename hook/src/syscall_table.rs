//! Syscall numbers to the names seccomp profiles use, per architecture.
//!
//! The tables come from the `syscalls` crate, which is generated from the kernel's own
//! syscall tables; we never invent a name for a number it does not know.

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("oci-seccomp-bpf-hook supports x86_64 and aarch64 hosts");

/// A seccomp architecture we can record for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture this binary runs on; the kernel reports its native syscall numbers.
    #[cfg(target_arch = "x86_64")]
    pub const NATIVE: Arch = Arch::X86_64;
    #[cfg(target_arch = "aarch64")]
    pub const NATIVE: Arch = Arch::Aarch64;

    /// Name of the architecture in a seccomp profile's `architectures` list.
    pub fn seccomp_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "SCMP_ARCH_X86_64",
            Arch::Aarch64 => "SCMP_ARCH_AARCH64",
        }
    }

    /// The native number of syscall `name`, if this architecture has it.
    pub fn syscall_number(self, name: &str) -> Option<u32> {
        (0..crate::contract::SYSCALL_SLOTS as u32).find(|&nr| self.syscall_name(nr) == Some(name))
    }

    /// Byte offsets of syscall arguments 0, 1 and 2 inside the kernel's `struct pt_regs`.
    pub fn pt_regs_arg_offsets(self) -> [u64; 3] {
        match self {
            // r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di ...: dx, si, di at 12..=14.
            Arch::X86_64 => [14 * 8, 13 * 8, 12 * 8],
            // user_pt_regs.regs[0..]: x0, x1, x2 hold the arguments at syscall entry.
            Arch::Aarch64 => [0, 8, 16],
        }
    }

    /// The syscall's name, or `None` when this architecture has no syscall with that number.
    pub fn syscall_name(self, nr: u32) -> Option<&'static str> {
        let nr = usize::try_from(nr).ok()?;
        match self {
            Arch::X86_64 => syscalls::x86_64::Sysno::new(nr).map(|s| s.name()),
            Arch::Aarch64 => syscalls::aarch64::Sysno::new(nr).map(|s| s.name()),
        }
    }
}

/// Splits recorded numbers into the names `arch` gives them and the numbers it has none for.
pub fn name_all(arch: Arch, numbers: &[u32]) -> (Vec<&'static str>, Vec<u32>) {
    let mut names = Vec::with_capacity(numbers.len());
    let mut unknown = Vec::new();
    for &nr in numbers {
        match arch.syscall_name(nr) {
            Some(name) => names.push(name),
            None => unknown.push(nr),
        }
    }
    (names, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::SYSCALL_SLOTS;

    #[test]
    fn x86_64_numbers() {
        let a = Arch::X86_64;
        assert_eq!(a.syscall_name(0), Some("read"));
        assert_eq!(a.syscall_name(59), Some("execve"));
        assert_eq!(a.syscall_name(83), Some("mkdir"));
        assert_eq!(a.syscall_name(217), Some("getdents64"));
        assert_eq!(a.syscall_name(258), Some("mkdirat"));
        assert_eq!(a.syscall_name(435), Some("clone3"));
    }

    #[test]
    fn aarch64_numbers() {
        let a = Arch::Aarch64;
        assert_eq!(a.syscall_name(63), Some("read"));
        assert_eq!(a.syscall_name(221), Some("execve"));
        assert_eq!(a.syscall_name(34), Some("mkdirat"));
        assert_eq!(a.syscall_name(61), Some("getdents64"));
        assert_eq!(a.syscall_name(435), Some("clone3"));
        // aarch64 never had mkdir(2): only mkdirat.
        assert!((0..1024).all(|n| a.syscall_name(n) != Some("mkdir")));
    }

    #[test]
    fn gaps_and_out_of_table_numbers_have_no_name() {
        // x86_64 leaves 335..=423 unused; aarch64 leaves 244..=259 to arch-specific calls.
        assert_eq!(Arch::X86_64.syscall_name(400), None);
        assert_eq!(Arch::Aarch64.syscall_name(250), None);
        assert_eq!(Arch::X86_64.syscall_name(u32::MAX), None);
    }

    #[test]
    fn every_named_syscall_fits_in_the_bitmap() {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let named_beyond = (SYSCALL_SLOTS as u32..8192)
                .filter(|&n| arch.syscall_name(n).is_some())
                .count();
            assert_eq!(named_beyond, 0, "{arch:?} has syscalls past the bitmap");
        }
    }

    #[test]
    fn names_are_never_empty() {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            for n in 0..SYSCALL_SLOTS as u32 {
                if let Some(name) = arch.syscall_name(n) {
                    assert!(!name.is_empty() && name.is_ascii(), "{arch:?} {n}");
                }
            }
        }
    }

    #[test]
    fn name_all_reports_unknown_numbers_instead_of_naming_them() {
        let (names, unknown) = name_all(Arch::X86_64, &[0, 400, 59]);
        assert_eq!(names, ["read", "execve"]);
        assert_eq!(unknown, [400]);
    }

    #[test]
    fn numbers_by_name_round_trip() {
        assert_eq!(Arch::X86_64.syscall_number("prctl"), Some(157));
        assert_eq!(Arch::X86_64.syscall_number("seccomp"), Some(317));
        assert_eq!(Arch::Aarch64.syscall_number("prctl"), Some(167));
        assert_eq!(Arch::Aarch64.syscall_number("seccomp"), Some(277));
        assert_eq!(Arch::Aarch64.syscall_number("mkdir"), None);
    }

    #[test]
    fn seccomp_architecture_names() {
        assert_eq!(Arch::X86_64.seccomp_name(), "SCMP_ARCH_X86_64");
        assert_eq!(Arch::Aarch64.seccomp_name(), "SCMP_ARCH_AARCH64");
    }
}
