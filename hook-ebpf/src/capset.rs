//! capset(2)'s CAP_SETPCAP check, whose verdict the kernel mostly ignores. `cap_capset`
//! (security/commoncap.c) calls `cap_inh_is_capped()`, which asks `cap_capable(CAP_SETPCAP)` on
//! every call; the answer refuses the call only when the new inheritable set is not within the
//! old inheritable | permitted sets. Any root process that drops privileges (setpriv, libcap-ng,
//! capsh) shows a granted check it would not miss. And the call needs, with no check at all,
//! every capability it adds to the inheritable set to be in the bounding set. Both are read from
//! the call's own data, which the kernel has just copied in, and the old credentials the check
//! carries.

use aya_ebpf::helpers::bpf_probe_read_user;
use hook_common::{
    CALL_CAPSET, CAPABILITY_VERSION_1, OFFSET_CRED_CAP_INHERITABLE, OFFSET_CRED_CAP_PERMITTED,
};

use crate::{
    kernel::{offset, read_u64},
    syscall::Call,
};

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

/// What `call` asks, when it is the capset whose CAP_SETPCAP check is being made under the
/// old credentials `cred`; `None` when it is another call or its data cannot be read (the
/// check then counts by its verdict).
#[inline(always)]
pub fn weigh(call: &Call, cred: u64) -> Option<Weighed> {
    if call.which != CALL_CAPSET {
        return None;
    }
    let [header, data, _] = call.args;
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
