//! Reads of kernel memory at the struct offsets userspace found in the kernel's BTF
//! (`contract::GLOBAL_KERNEL_OFFSETS`): the capability programs' credentials and namespaces,
//! and the mount namespace that attributes an exec into a container without a cgroup.

use aya_ebpf::helpers::bpf_probe_read_kernel;
use hook_common::OFFSET_SLOTS;

/// Kernel struct offsets from the kernel's BTF (`contract::GLOBAL_KERNEL_OFFSETS`).
#[unsafe(no_mangle)]
static KERNEL_OFFSETS: [u64; OFFSET_SLOTS] = [0; OFFSET_SLOTS];

/// `KERNEL_OFFSETS[i]`, as the loader wrote it.
#[inline(always)]
pub fn offset(i: usize) -> u64 {
    global(&KERNEL_OFFSETS, i)
}

/// Element `i` of one of our read-only globals, as the loader wrote it: volatile, so the
/// compiler never folds in the zeros it was declared with.
#[inline(always)]
pub fn global<const N: usize>(array: &'static [u64; N], i: usize) -> u64 {
    // SAFETY: a volatile read of our own static, in bounds (the index is checked).
    unsafe { core::ptr::read_volatile(&array[i]) }
}

#[inline(always)]
pub fn read_u64(at: u64) -> u64 {
    // SAFETY: the helper checks the address itself and fails rather than faults.
    unsafe { bpf_probe_read_kernel(at as *const u64) }.unwrap_or(0)
}

#[inline(always)]
pub fn read_u32(at: u64) -> u32 {
    // SAFETY: as for `read_u64`.
    unsafe { bpf_probe_read_kernel(at as *const u32) }.unwrap_or(0)
}
