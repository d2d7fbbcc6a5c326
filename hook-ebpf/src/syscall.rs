//! The system call a task is in, read from its saved user registers, for a capability check
//! whose verdict counts only under a condition of the call's own arguments
//! (`contract::WEIGHED_CALLS`). Made only inside such a check of a started member.

use aya_ebpf::helpers::{bpf_get_current_task_btf, generated::bpf_task_pt_regs};
use hook_common::{
    ABI_PROBE_X32, USER_REGS_COMPAT_ARGS, USER_REGS_NATIVE_ARGS, USER_REGS_NR, USER_REGS_SLOTS,
    WEIGHED_COUNT, WEIGHED_SLOTS,
};

use crate::{
    abi_probe, is_compat,
    kernel::{global, read_u32, read_u64},
};

/// Where the number and arguments are in `struct pt_regs` (`contract::GLOBAL_USER_REGS`).
#[unsafe(no_mangle)]
static USER_REGS: [u64; USER_REGS_SLOTS] = [0; USER_REGS_SLOTS];
/// The weighed calls' numbers, native then compat (`contract::GLOBAL_WEIGHED_CALLS`).
#[unsafe(no_mangle)]
static WEIGHED_CALLS: [u64; WEIGHED_SLOTS] = [u64::MAX; WEIGHED_SLOTS];

/// A weighed call: which one (`contract::CALL_*`), and its arguments 0..=2.
pub struct Call {
    pub which: usize,
    pub args: [u64; 3],
}

/// The weighed call member `task` is in, if it is in one (anything unreadable: `None`).
#[inline(never)]
pub fn current(task: u64) -> Option<Call> {
    let nr_offset = global(&USER_REGS, USER_REGS_NR);
    if nr_offset == 0 {
        return None;
    }
    // SAFETY: the helper takes no argument and returns the current task, never null.
    let current = unsafe { bpf_get_current_task_btf() };
    // SAFETY: a trusted pointer to the current task; the helper returns its user registers
    // (used only as an address for the probe-read helper, which checks it).
    let regs = unsafe { bpf_task_pt_regs(current.cast()) } as u64;
    let compat = is_compat(task);
    // `orig_ax` and `syscallno` both hold the number in their low 32 bits.
    let nr = u64::from(read_u32(regs.wrapping_add(nr_offset))) & !abi_probe(ABI_PROBE_X32);
    let (at, width) = match compat {
        // A compat task's registers hold 32-bit values.
        true => (USER_REGS_COMPAT_ARGS, 0xffff_ffff),
        false => (USER_REGS_NATIVE_ARGS, u64::MAX),
    };
    let arg = |i: usize| read_u64(regs.wrapping_add(global(&USER_REGS, at + i))) & width;
    // Read before the call is told: after it, the verifier walks the rest once per call.
    let args = [arg(0), arg(1), arg(2)];
    let table = if compat { WEIGHED_COUNT } else { 0 };
    let which = (0..WEIGHED_COUNT).find(|&i| global(&WEIGHED_CALLS, table + i) == nr)?;
    Some(Call { which, args })
}

/// The byte offset in `struct pt_regs` of syscall argument `i` (0..=2) in the native ABI's
/// convention, or the compat one's.
#[inline(always)]
pub fn arg_offset(i: usize, compat: bool) -> u64 {
    let at = if compat {
        USER_REGS_COMPAT_ARGS
    } else {
        USER_REGS_NATIVE_ARGS
    };
    global(&USER_REGS, at + i)
}
