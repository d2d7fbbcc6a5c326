//! The argument values of the calls in `contract::ARG_CALLS`, kept per container, ABI and
//! call the first time each is seen: the profile then allows those values and refuses the
//! rest. Reached only for a member's call whose `SEEN` byte marks it as one of these (see
//! `contract::SEEN_CALLED`): every other syscall pays nothing here.

use aya_ebpf::{
    helpers::bpf_probe_read_user,
    macros::map,
    maps::{Array, HashMap},
};
use hook_common::{
    ArgKey, Kept, ABI_COMPAT, ABI_COUNT, AF_NETLINK, ARG_CALL_COUNT, ARG_CLONE, ARG_CLONE3,
    ARG_COUNT_SLOTS, ARG_SETNS, ARG_SOCKET, ARG_UNREADABLE, ARG_VALUE_CAP, ARG_VALUE_SLOTS,
    BPF_F_NO_PREALLOC, CSIGNAL,
};

use crate::kept;

#[map]
static ARG_VALUES: HashMap<ArgKey, u8> =
    HashMap::with_max_entries(ARG_VALUE_SLOTS, BPF_F_NO_PREALLOC);

#[map]
static ARG_COUNTS: Array<Kept> = Array::with_max_entries(ARG_COUNT_SLOTS, 0);

/// Keeps the value of table entry `entry - 1` (the `SEEN` byte's upper bits) for container
/// `slot`; `arg(i, compat)` reads argument `i` in the ABI's own convention, and only the
/// arguments the call's value needs are read.
#[inline(never)]
pub fn record(slot: u32, abi: u32, entry: u8, arg: &impl Fn(usize, bool) -> u64) {
    let call = u32::from(entry).wrapping_sub(1);
    if call >= ARG_CALL_COUNT as u32 || abi >= ABI_COUNT {
        return;
    }
    let compat = abi == ABI_COMPAT;
    let value = value_of(call as usize, &|i| arg(i, compat), compat);
    let key = ArgKey {
        slot,
        call: abi * ARG_CALL_COUNT as u32 + call,
        value,
    };
    // The common case, a value kept before: one lookup, nothing written.
    if ARG_VALUES.get_ptr(key).is_some() {
        return;
    }
    let index = (slot * ABI_COUNT + abi) * ARG_CALL_COUNT as u32 + call;
    kept::keep(&ARG_VALUES, &key, &ARG_COUNTS, index, ARG_VALUE_CAP);
}

/// The value `contract::ARG_CALLS` keeps for `call`; a compat task's registers hold 32-bit
/// values.
#[inline(always)]
fn value_of(call: usize, arg: &impl Fn(usize) -> u64, compat: bool) -> u64 {
    let low = |i: usize| arg(i) & 0xffff_ffff;
    if call == ARG_SOCKET {
        let family = low(0);
        return match family == AF_NETLINK {
            true => family | low(2) << 32,
            false => family,
        };
    }
    if call == ARG_CLONE {
        return low(0) & !CSIGNAL;
    }
    if call == ARG_CLONE3 {
        let at = if compat { low(0) } else { arg(0) };
        // SAFETY: the helper checks the user address itself and fails rather than faults.
        return unsafe { bpf_probe_read_user(at as *const u64) }.unwrap_or(ARG_UNREADABLE);
    }
    if call == ARG_SETNS {
        return low(1);
    }
    // socketpair's family, unshare's flags, personality's persona: argument 0.
    low(0)
}
