//! Reads of kernel memory at the struct offsets userspace found in the kernel's BTF
//! (`contract::GLOBAL_KERNEL_OFFSETS`): the capability programs' credentials and namespaces,
//! and the mount namespace that attributes an exec into a container without a cgroup.

use aya_ebpf::helpers::generated::bpf_probe_read_kernel;
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

/// The u64 at kernel address `at`, 0 where it cannot be read.
#[inline(always)]
pub fn read_u64(at: u64) -> u64 {
    read(at, 0u64)
}

/// The u32 at kernel address `at`, 0 where it cannot be read.
#[inline(always)]
pub fn read_u32(at: u64) -> u32 {
    read(at, 0u32)
}

/// Reads a `T` over `zero` without a branch on the outcome: the helper zeroes its destination
/// when the read fails (every kernel since the helper came, 5.5), so both outcomes leave one
/// kind of value. A branch here (`unwrap_or`) doubled the paths the verifier walks at each
/// read, and `syscall::current` makes four in a row.
#[inline(always)]
fn read<T: Copy>(at: u64, zero: T) -> T {
    let mut value = zero;
    // SAFETY: `value` is a live local of `size_of::<T>()` bytes, all the helper writes; the
    // helper checks the source address itself and fails rather than faults.
    unsafe {
        bpf_probe_read_kernel(
            (&raw mut value).cast(),
            core::mem::size_of::<T>() as u32,
            at as *const _,
        )
    };
    value
}
