//! Syscall numbers to the names seccomp profiles use, per architecture.
//!
//! The tables come from the `syscalls` crate, which is generated from the kernel's own
//! syscall tables; we never invent a name for a number it does not know. The one addition is
//! AArch32's private calls (0xf0001..=0xf0006), which that table leaves out: they are named
//! as libseccomp names them.

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("oci-seccomp-bpf-hook supports x86_64 and aarch64 hosts");

/// A seccomp architecture (an ABI) we can record for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Arch {
    X86_64,
    Aarch64,
    /// i386, the compat ABI of x86_64.
    X86,
    /// x32, the ILP32 ABI of x86_64 (numbers without the x32 bit).
    X32,
    /// AArch32, the compat ABI of aarch64.
    Arm,
}

impl Arch {
    /// The architecture this binary runs on; the kernel reports its native syscall numbers.
    #[cfg(target_arch = "x86_64")]
    pub const NATIVE: Arch = Arch::X86_64;
    #[cfg(target_arch = "aarch64")]
    pub const NATIVE: Arch = Arch::Aarch64;

    /// The ABIs this native architecture's tasks can make syscalls through, in the order of
    /// `contract::ABI_*` (native, compat, x32).
    pub fn abis(self) -> [Option<Arch>; crate::contract::ABI_COUNT as usize] {
        match self {
            Arch::X86_64 => [Some(Arch::X86_64), Some(Arch::X86), Some(Arch::X32)],
            Arch::Aarch64 => [Some(Arch::Aarch64), Some(Arch::Arm), None],
            other => [Some(other), None, None],
        }
    }

    /// Name of the architecture in a seccomp profile's `architectures` list.
    pub fn seccomp_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "SCMP_ARCH_X86_64",
            Arch::Aarch64 => "SCMP_ARCH_AARCH64",
            Arch::X86 => "SCMP_ARCH_X86",
            Arch::X32 => "SCMP_ARCH_X32",
            Arch::Arm => "SCMP_ARCH_ARM",
        }
    }

    /// The native number of syscall `name`, if this architecture has it.
    pub fn syscall_number(self, name: &str) -> Option<u32> {
        (0..crate::contract::SYSCALL_SLOTS as u32).find(|&nr| self.syscall_name(nr) == Some(name))
    }

    /// The architecture a `SCMP_ARCH_*` name stands for, when it is one we have a table of.
    pub fn from_seccomp_name(name: &str) -> Option<Arch> {
        [Arch::X86_64, Arch::Aarch64, Arch::X86, Arch::X32, Arch::Arm]
            .into_iter()
            .find(|a| a.seccomp_name() == name)
    }

    /// Every syscall name of this architecture's table.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        (0..crate::contract::SYSCALL_SLOTS as u32).filter_map(move |nr| self.syscall_name(nr))
    }

    /// Byte offsets of syscall arguments 0, 1 and 2 inside the kernel's `struct pt_regs`.
    pub fn pt_regs_arg_offsets(self) -> [u64; 3] {
        match self {
            // r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di ...: dx, si, di at 12..=14.
            Arch::X86_64 => [14 * 8, 13 * 8, 12 * 8],
            // user_pt_regs.regs[0..]: x0, x1, x2 hold the arguments at syscall entry.
            Arch::Aarch64 => [0, 8, 16],
            // Never native: only the native ABI's markers are read.
            Arch::X86 | Arch::X32 | Arch::Arm => [0; 3],
        }
    }

    /// The `contract::GLOBAL_USER_REGS` array: where a syscall's number and arguments 0..=2
    /// are in a task's user `struct pt_regs`, for the native ABI and the compat one.
    pub fn user_regs(self) -> [u64; crate::contract::USER_REGS_SLOTS] {
        match self {
            // orig_ax is the 16th word; di, si, dx carry native arguments, bx, cx, dx i386's.
            Arch::X86_64 => [15 * 8, 14 * 8, 13 * 8, 12 * 8, 5 * 8, 11 * 8, 12 * 8],
            // syscallno follows regs[31], sp, pc, pstate and orig_x0; x0..x2 for both ABIs.
            Arch::Aarch64 => [35 * 8, 0, 8, 16, 0, 8, 16],
            Arch::X86 | Arch::X32 | Arch::Arm => [0; crate::contract::USER_REGS_SLOTS],
        }
    }

    /// The `contract::GLOBAL_WEIGHED_CALLS` array: the numbers of `contract::WEIGHED_CALLS` in
    /// the native table, then in the compat one (`u64::MAX` where there is none).
    pub fn weighed_calls(self) -> [u64; crate::contract::WEIGHED_SLOTS] {
        let [native, compat, _] = self.abis();
        let mut numbers = [u64::MAX; crate::contract::WEIGHED_SLOTS];
        for (table, abi) in [native, compat].into_iter().enumerate() {
            for (i, name) in crate::contract::WEIGHED_CALLS.iter().enumerate() {
                let number = abi.and_then(|a| a.syscall_number(name));
                numbers[table * crate::contract::WEIGHED_COUNT + i] =
                    number.map_or(u64::MAX, u64::from);
            }
        }
        numbers
    }

    /// Byte offsets in `struct pt_regs` of a kernel function's arguments 0..=3 at its entry
    /// (the C calling convention: di, si, dx, cx; x0..x3).
    pub fn kprobe_arg_offsets(self) -> [u64; crate::contract::KPROBE_ARG_SLOTS] {
        match self {
            Arch::X86_64 => [14 * 8, 13 * 8, 12 * 8, 11 * 8],
            Arch::Aarch64 => [0, 8, 16, 24],
            Arch::X86 | Arch::X32 | Arch::Arm => [0; 4],
        }
    }

    /// The syscall's name, or `None` when this architecture has no syscall with that number.
    pub fn syscall_name(self, nr: u32) -> Option<&'static str> {
        let nr = usize::try_from(nr).ok()?;
        match self {
            Arch::X86_64 => syscalls::x86_64::Sysno::new(nr).map(|s| s.name()),
            Arch::Aarch64 => syscalls::aarch64::Sysno::new(nr).map(|s| s.name()),
            Arch::X86 => syscalls::x86::Sysno::new(nr).map(|s| s.name()),
            Arch::Arm => arm_name(nr),
            Arch::X32 => x32_name(nr),
        }
    }
}

/// AArch32's table, and its private calls where the recorder keeps them (the slots from
/// `contract::COMPAT_PRIVATE_FIRST`), under libseccomp's names for 0xf0001..=0xf0006.
fn arm_name(nr: usize) -> Option<&'static str> {
    const PRIVATE: [Option<&str>; crate::contract::COMPAT_PRIVATE_SLOTS as usize] = [
        None,
        Some("breakpoint"),
        Some("cacheflush"),
        Some("usr26"),
        Some("usr32"),
        Some("set_tls"),
        Some("get_tls"),
        None,
    ];
    let first = crate::contract::COMPAT_PRIVATE_FIRST as usize;
    match nr.checked_sub(first) {
        Some(private) => PRIVATE.get(private).copied().flatten(),
        None => syscalls::arm::Sysno::new(nr).map(|s| s.name()),
    }
}

/// x32 numbers (x32 bit removed): x86_64's "common" entries below 512, and x32's own entries
/// from 512, as the kernel's syscall_64.tbl lists them. x86_64's "64"-only entries are not
/// x32 calls (the kernel answers ENOSYS): they have no name here.
fn x32_name(nr: usize) -> Option<&'static str> {
    const OWN: [&str; 36] = [
        "rt_sigaction",
        "rt_sigreturn",
        "ioctl",
        "readv",
        "writev",
        "recvfrom",
        "sendmsg",
        "recvmsg",
        "execve",
        "ptrace",
        "rt_sigpending",
        "rt_sigtimedwait",
        "rt_sigqueueinfo",
        "sigaltstack",
        "timer_create",
        "mq_notify",
        "kexec_load",
        "waitid",
        "set_robust_list",
        "get_robust_list",
        "vmsplice",
        "move_pages",
        "preadv",
        "pwritev",
        "rt_tgsigqueueinfo",
        "recvmmsg",
        "sendmmsg",
        "process_vm_readv",
        "process_vm_writev",
        "setsockopt",
        "getsockopt",
        "io_setup",
        "io_submit",
        "execveat",
        "preadv2",
        "pwritev2",
    ];
    /// x86_64 numbers that are 64-bit only (x32 has its own entry, or none).
    const ONLY_64: [usize; 47] = [
        13, 15, 16, 19, 20, 45, 46, 47, 54, 55, 59, 101, 127, 128, 129, 131, 134, 156, 174, 177,
        178, 180, 205, 206, 209, 211, 214, 215, 222, 236, 244, 246, 247, 273, 274, 278, 279, 295,
        296, 297, 299, 307, 310, 311, 322, 327, 328,
    ];
    match nr {
        512..=547 => Some(OWN[nr - 512]),
        _ if ONLY_64.contains(&nr) => None,
        _ => syscalls::x86_64::Sysno::new(nr).map(|s| s.name()),
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
    /// capset, chmod, fchmod, fchmodat, fchmodat2: native then compat; aarch64 has no chmod.
    #[test]
    fn weighed_calls_are_numbered_per_abi() {
        let none = u64::MAX;
        assert_eq!(
            Arch::X86_64.weighed_calls(),
            [126, 90, 91, 268, 452, 185, 15, 94, 306, 452]
        );
        assert_eq!(
            Arch::Aarch64.weighed_calls(),
            [91, none, 52, 53, 452, 185, 15, 94, 333, 452]
        );
    }

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

    /// AArch32's private calls are kept in slots its table never reaches, and named as
    /// libseccomp resolves them (`set_tls` is 0xf0005 there).
    #[test]
    fn arm_private_calls() {
        let first = crate::contract::COMPAT_PRIVATE_FIRST as u32;
        let highest = (0..first)
            .rev()
            .find(|&nr| Arch::Arm.syscall_name(nr).is_some());
        assert!(highest.is_some_and(|nr| nr < 500), "{highest:?}");
        assert_eq!(Arch::Arm.syscall_name(first + 5), Some("set_tls"));
        assert_eq!(Arch::Arm.syscall_name(first + 2), Some("cacheflush"));
        assert_eq!(Arch::Arm.syscall_name(first), None);
        assert_eq!(Arch::Arm.syscall_number("get_tls"), Some(first + 6));
        assert_eq!(Arch::X86.syscall_name(first + 5), None);
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
    fn compat_and_x32_numbers_are_named_from_their_own_tables() {
        // The example: i386 numbers named from the x86_64 table gave nonsense.
        assert_eq!(Arch::X86.syscall_name(39), Some("mkdir"));
        assert_eq!(Arch::X86.syscall_name(40), Some("rmdir"));
        assert_eq!(Arch::X86.syscall_name(192), Some("mmap2"));
        assert_eq!(Arch::X86.syscall_name(308), Some("pselect6"));
        assert_eq!(Arch::X86_64.syscall_name(308), Some("setns"));
        assert_eq!(Arch::Arm.syscall_name(39), Some("mkdir"));
        assert_eq!(Arch::Arm.syscall_name(11), Some("execve"));
        assert_eq!(Arch::X32.syscall_name(83), Some("mkdir"));
        assert_eq!(Arch::X32.syscall_name(512), Some("rt_sigaction"));
        assert_eq!(Arch::X32.syscall_name(520), Some("execve"));
        assert_eq!(Arch::X32.syscall_name(547), Some("pwritev2"));
        assert_eq!(
            Arch::X32.syscall_name(59),
            None,
            "64-bit execve is not an x32 call"
        );
        assert_eq!(Arch::X32.syscall_name(548), None);
    }

    #[test]
    fn abis_follow_the_contract_order() {
        use crate::contract::{ABI_COMPAT, ABI_NATIVE, ABI_X32};
        let x86 = Arch::X86_64.abis();
        assert_eq!(x86[ABI_NATIVE as usize], Some(Arch::X86_64));
        assert_eq!(x86[ABI_COMPAT as usize], Some(Arch::X86));
        assert_eq!(x86[ABI_X32 as usize], Some(Arch::X32));
        let arm = Arch::Aarch64.abis();
        assert_eq!(arm[ABI_COMPAT as usize], Some(Arch::Arm));
        assert_eq!(arm[ABI_X32 as usize], None);
    }

    #[test]
    fn seccomp_architecture_names() {
        assert_eq!(Arch::X86.seccomp_name(), "SCMP_ARCH_X86");
        assert_eq!(Arch::X32.seccomp_name(), "SCMP_ARCH_X32");
        assert_eq!(Arch::Arm.seccomp_name(), "SCMP_ARCH_ARM");
        assert_eq!(Arch::X86_64.seccomp_name(), "SCMP_ARCH_X86_64");
        assert_eq!(Arch::Aarch64.seccomp_name(), "SCMP_ARCH_AARCH64");
    }
}
