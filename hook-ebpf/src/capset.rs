//! capset(2)'s CAP_SETPCAP check, whose verdict the kernel mostly ignores. `cap_capset`
//! (security/commoncap.c) calls `cap_inh_is_capped()`, which asks `cap_capable(CAP_SETPCAP)` on
//! every call; the answer refuses the call only when the new inheritable set is not within the
//! old inheritable | permitted sets. Any root process that drops privileges (setpriv, libcap-ng,
//! capsh) shows a granted check it would not miss. And the call needs, with no check at all,
//! every capability it adds to the inheritable set to be in the bounding set. Both are read from
//! the call's own data, which the kernel has just copied in, and the old credentials the check
//! carries (`contract::GLOBAL_CAPSET`).

use aya_ebpf::helpers::{
    bpf_get_current_task_btf, bpf_probe_read_user, generated::bpf_task_pt_regs,
};
use hook_common::{
    ABI_PROBE_X32, CAPABILITY_VERSION_1, CAPSET_COMPAT, CAPSET_COMPAT_ARGS, CAPSET_NATIVE,
    CAPSET_NATIVE_ARGS, CAPSET_NR_OFFSET, CAPSET_SLOTS, OFFSET_CRED_CAP_INHERITABLE,
    OFFSET_CRED_CAP_PERMITTED,
};

use crate::{
    abi_probe, is_compat,
    kernel::{offset, read_u32, read_u64},
};

/// How to read a capset call on this architecture (`contract::GLOBAL_CAPSET`).
#[unsafe(no_mangle)]
static CAPSET: [u64; CAPSET_SLOTS] = [0; CAPSET_SLOTS];

#[inline(always)]
fn capset(i: usize) -> u64 {
    // SAFETY: a volatile read of our own static, in bounds (the index is checked).
    unsafe { core::ptr::read_volatile(&CAPSET[i]) }
}

/// What a capset call asks of the capabilities, where a check inside it is weighed.
pub struct Weighed {
    /// Whether the new inheritable set exceeds the old inheritable | permitted sets: only then
    /// does CAP_SETPCAP's verdict decide the call.
    pub setpcap_used: bool,
    /// The capabilities the call puts into the inheritable set that were not there: each must
    /// be in the bounding set (`cap_capset`'s next test, with no capability check), so a set
    /// without them would fail this call.
    pub raised: u64,
}

/// The capset call of `task`, whose CAP_SETPCAP check is being made under the old credentials
/// `cred`; `None` when the current call is not capset or cannot be read (the check then
/// counts by its verdict).
#[inline(never)]
pub fn weigh(task: u64, cred: u64) -> Option<Weighed> {
    let nr_offset = capset(CAPSET_NR_OFFSET);
    if nr_offset == 0 {
        return None;
    }
    // SAFETY: the helper takes no argument and returns the current task, never null.
    let current = unsafe { bpf_get_current_task_btf() };
    // SAFETY: a trusted pointer to the current task; the helper returns its user registers
    // (used only as an address for the probe-read helper, which checks it).
    let regs = unsafe { bpf_task_pt_regs(current.cast()) } as u64;
    let compat = is_compat(task);
    let (number, args) = match compat {
        true => (CAPSET_COMPAT, CAPSET_COMPAT_ARGS),
        false => (CAPSET_NATIVE, CAPSET_NATIVE_ARGS),
    };
    // `orig_ax` and `syscallno` both hold the number in their low 32 bits.
    let nr = u64::from(read_u32(regs.wrapping_add(nr_offset))) & !abi_probe(ABI_PROBE_X32);
    if nr != capset(number) {
        return None;
    }
    // A compat task's registers hold 32-bit pointers.
    let width = if compat { 0xffff_ffff } else { u64::MAX };
    let header = read_u64(regs.wrapping_add(capset(args))) & width;
    let data = read_u64(regs.wrapping_add(capset(args + 1))) & width;
    let new = new_inheritable(header, data)?;
    let inheritable = read_u64(cred.wrapping_add(offset(OFFSET_CRED_CAP_INHERITABLE)));
    let permitted = read_u64(cred.wrapping_add(offset(OFFSET_CRED_CAP_PERMITTED)));
    Some(Weighed {
        setpcap_used: new & !(inheritable | permitted) != 0,
        raised: new & !inheritable,
    })
}

/// The inheritable set capset's `data` (`struct __user_cap_data_struct[]`: effective,
/// permitted, inheritable, one 32-bit word each) asks for, one element under version 1, two
/// under later ones.
#[inline(always)]
fn new_inheritable(header: u64, data: u64) -> Option<u64> {
    // SAFETY: the helper checks the user address itself and fails rather than faults.
    let version = unsafe { bpf_probe_read_user(header as *const u32) }.ok()?;
    // SAFETY: as above.
    let low = unsafe { bpf_probe_read_user(data.wrapping_add(8) as *const u32) }.ok()?;
    if version == CAPABILITY_VERSION_1 {
        return Some(u64::from(low));
    }
    // SAFETY: as above.
    let high = unsafe { bpf_probe_read_user(data.wrapping_add(20) as *const u32) }.ok()?;
    Some(u64::from(low) | (u64::from(high) << 32))
}
