//! The embedded eBPF object, loaded: its node-wide globals set (this architecture's and
//! kernel's), its maps created, no program attached yet (that is [`programs`](super::programs)'
//! job). Nothing in it is about one container: containers are registered in its maps
//! ([`slot`](super::slot)). aya's loader is made without the kernel's BTF ([`btf`](super::btf)).

use std::time::Instant;

use aya::{Ebpf, EbpfError};

use super::{
    btf::loader_without_kernel_btf,
    offsets::kernel_offsets,
    timings::{lap, AttachTimings},
};
use crate::{
    contract,
    node::registry::{Registry, RegistryError},
    profile::arch::Arch,
};

/// The eBPF object built by `cargo xtask build-ebpf`, embedded at compile time.
pub static OBJECT: &[u8] = aya::include_bytes_aligned!(env!("OSBH_EBPF_OBJECT"));

/// The node's registry of this object (its programs and container slots), locked.
pub fn registry() -> Result<Registry, RegistryError> {
    Registry::lock(OBJECT)
}

/// The object, loaded.
pub struct Loaded {
    pub ebpf: Ebpf,
    /// Why the kernel's struct offsets (`contract::GLOBAL_KERNEL_OFFSETS`) could not be read:
    /// then no capability program may be attached.
    pub offsets_missing: Option<String>,
}

/// Parses the object and creates its maps, with the globals set for this architecture and
/// kernel. Adds the time spent to `timings.loader` and `timings.object`.
pub fn load(timings: &mut AttachTimings) -> Result<Loaded, EbpfError> {
    let arch = Arch::NATIVE;
    let markers = marker_numbers(arch);
    let arg_offsets = arch.pt_regs_arg_offsets();
    let kprobe_args = arch.kprobe_arg_offsets();
    let user_regs = arch.user_regs();
    let weighed_calls = arch.weighed_calls();
    let abi_probe = abi_probe(arch, kernel_version());
    let mut clock = Instant::now();
    let (kernel_offsets, offsets_missing) = match kernel_offsets() {
        Ok(offsets) => (offsets, None),
        Err(reason) => ([0; contract::OFFSET_SLOTS], Some(reason)),
    };
    timings.offsets += lap(&mut clock);
    // No CO-RE relocations in our program: it needs no kernel BTF.
    let mut loader = loader_without_kernel_btf();
    timings.loader += lap(&mut clock);
    let ebpf = loader
        .btf(None)
        .map_max_entries(contract::MAP_TRACED, traced_capacity())
        .override_global(contract::GLOBAL_MARKERS, &markers, true)
        .override_global(contract::GLOBAL_PT_REGS_ARGS, &arg_offsets, true)
        .override_global(contract::GLOBAL_KPROBE_ARGS, &kprobe_args, true)
        .override_global(contract::GLOBAL_USER_REGS, &user_regs, true)
        .override_global(contract::GLOBAL_WEIGHED_CALLS, &weighed_calls, true)
        .override_global(contract::GLOBAL_ABI_PROBE, &abi_probe, true)
        .override_global(contract::GLOBAL_KERNEL_OFFSETS, &kernel_offsets, true)
        .load(OBJECT)?;
    timings.object += lap(&mut clock);
    Ok(Loaded {
        ebpf,
        offsets_missing,
    })
}

/// The `contract::GLOBAL_ABI_PROBE` array for `arch` on a kernel of `version` (major, minor).
/// Both words live in `struct thread_info`, the first member of `task_struct` on x86_64 and
/// aarch64: x86_64's `status` (after `flags`, and since 5.11 `syscall_work`) holds `TS_COMPAT`
/// (0x2) while an i386 syscall runs, whether from a 32-bit task or `int 0x80`; aarch64's
/// `flags` holds `TIF_32BIT` (bit 22) for AArch32 tasks, whose private calls start at
/// 0xf0000. x32 numbers carry bit 30.
fn abi_probe(arch: Arch, version: (u32, u32)) -> [u64; contract::ABI_PROBE_SLOTS] {
    let mut probe = [0u64; contract::ABI_PROBE_SLOTS];
    // bpf_get_current_task_btf came with 5.11; before, the word is copied (dearer).
    let btf = version >= (5, 11);
    match arch {
        Arch::X86_64 => {
            probe[contract::ABI_PROBE_OFFSET] = if btf { 16 } else { 8 };
            probe[contract::ABI_PROBE_MASK] = 0x2;
            probe[contract::ABI_PROBE_X32] = contract::X32_SYSCALL_BIT;
            if btf {
                probe[contract::ABI_PROBE_MODE] = contract::PROBE_BTF_X86_64;
            }
        }
        Arch::Aarch64 => {
            probe[contract::ABI_PROBE_MASK] = 1 << 22;
            probe[contract::ABI_PROBE_PRIVATE] = contract::ARM_PRIVATE_BASE;
            if btf {
                probe[contract::ABI_PROBE_MODE] = contract::PROBE_BTF_AARCH64;
            }
        }
        Arch::X86 | Arch::X32 | Arch::Arm => {}
    }
    probe
}

/// How many tasks `contract::MAP_TRACED` holds: as many as can exist at once on this node, so
/// that one container's tasks can never crowd out another's. Members only take memory when they
/// join, but the kernel allocates the map's hash buckets (16 bytes each, a power of two at
/// least this size) when it is created, at every first start.
fn traced_capacity() -> u32 {
    capacity_for(sysctl("threads-max"), sysctl("pid_max"))
}

/// Tells a joining tracer when the running task map, sized when its programs loaded, is smaller
/// than the node's tasks can now be (`kernel.pid_max` raised since): tasks past it are counted
/// lost, never dropped in silence, but the reason belongs in the log.
pub(super) fn warn_if_outgrown(max_entries: u32) {
    let now = traced_capacity();
    if max_entries < now {
        log::warn!(
            "the node's task map holds {max_entries} tasks, the most the node could have when \
             the programs loaded; it can now have {now} (kernel.pid_max or threads-max was \
             raised): tasks past it are counted as lost; the map is sized again once no \
             container is traced"
        );
    }
}

/// `/proc/sys/kernel/NAME` as a number; 0 when unreadable.
fn sysctl(name: &str) -> u32 {
    sysctl_text(name).trim().parse().unwrap_or(0)
}

/// `/proc/sys/kernel/NAME`; empty when unreadable.
fn sysctl_text(name: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/kernel/{name}")).unwrap_or_default()
}

/// [`traced_capacity`] for a node of `threads_max` threads (with 1/16 more for tasks that
/// exited but are not gone yet) and PIDs below `pid_max`: every task holds a PID until it is
/// reaped, so there are never more tasks than that. 0 is unknown; neither known: the object's
/// own size. At most 4M (the kernel's PID limit).
fn capacity_for(threads_max: u32, pid_max: u32) -> u32 {
    let by_threads = threads_max.saturating_add(threads_max / 16);
    let bound = match (by_threads, pid_max) {
        (0, 0) => contract::TRACED_SLOTS,
        (0, pids) => pids,
        (threads, 0) => threads,
        (threads, pids) => threads.min(pids),
    };
    bound.clamp(MIN_TRACED, 1 << 22)
}

/// The fewest tasks the map is made for, whatever a sysctl says.
const MIN_TRACED: u32 = 1024;

/// The running kernel's (major, minor); (0, 0) when unreadable.
fn kernel_version() -> (u32, u32) {
    let release = sysctl_text("osrelease");
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// The `contract::GLOBAL_MARKERS` array for `arch`; a syscall it lacks never matches.
fn marker_numbers(arch: Arch) -> [u64; contract::MARKER_COUNT] {
    let mut markers = [u64::MAX; contract::MARKER_COUNT];
    for (index, name) in [
        (contract::MARKER_PRCTL, "prctl"),
        (contract::MARKER_SECCOMP, "seccomp"),
        (contract::MARKER_EXECVE, "execve"),
        (contract::MARKER_EXECVEAT, "execveat"),
    ] {
        if let Some(nr) = arch.syscall_number(name) {
            markers[index] = u64::from(nr);
        }
    }
    markers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_map_holds_every_task_the_node_can_have() {
        assert_eq!(capacity_for(0, 0), contract::TRACED_SLOTS);
        assert_eq!(capacity_for(192_726, 0), 204_771);
        assert_eq!(capacity_for(192_726, 4_194_304), 204_771);
        assert_eq!(capacity_for(192_726, 32_768), 32_768);
        assert_eq!(capacity_for(0, 32_768), 32_768);
        assert_eq!(capacity_for(100, 300), MIN_TRACED);
        assert_eq!(capacity_for(u32::MAX, u32::MAX), 1 << 22);
        assert!(traced_capacity() >= MIN_TRACED);
    }

    #[test]
    fn the_abi_probe_follows_thread_info_across_kernels() {
        let btf_x86 = contract::PROBE_BTF_X86_64;
        assert_eq!(
            abi_probe(Arch::X86_64, (6, 18)),
            [16, 0x2, 0x4000_0000, btf_x86, 0]
        );
        assert_eq!(
            abi_probe(Arch::X86_64, (5, 11)),
            [16, 0x2, 0x4000_0000, btf_x86, 0]
        );
        assert_eq!(
            abi_probe(Arch::X86_64, (5, 10)),
            [8, 0x2, 0x4000_0000, contract::PROBE_READ, 0]
        );
        let btf_arm = contract::PROBE_BTF_AARCH64;
        assert_eq!(
            abi_probe(Arch::Aarch64, (6, 1)),
            [0, 1 << 22, 0, btf_arm, 0xf_0000]
        );
        let (major, _) = kernel_version();
        assert!(major >= 5, "this kernel's version was not read");
    }
}
