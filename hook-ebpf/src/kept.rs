//! Bounded sets of keys kept per container (argument values, executed names): a key joins its
//! map within its count's cap, and a key that cannot be kept is counted lost, never dropped in
//! silence (`contract::Kept`).

use aya_ebpf::maps::{Array, HashMap};
use core::intrinsics::{atomic_xadd, AtomicOrdering};
use hook_common::Kept;

/// `BPF_NOEXIST`: a key another CPU kept first is not written twice.
const BPF_NOEXIST: u64 = 1;
/// `-EEXIST`, what that insert answers then.
const EEXIST: i32 = -17;

/// Adds `key` to the set `map` (every value 1) within `cap` keys, counted in `counts[index]`;
/// the caller has looked `key` up already (the common case: kept before, nothing written).
#[inline(always)]
pub fn keep<K>(map: &HashMap<K, u8>, key: &K, counts: &Array<Kept>, index: u32, cap: u64) {
    let Some(count) = counts.get_ptr_mut(index) else {
        return;
    };
    // SAFETY: a live map value (the lookup succeeded); aligned u64 loads cannot tear.
    if unsafe { (*count).kept } >= cap {
        add(count, Field::Lost);
        return;
    }
    match map.insert(key, 1u8, BPF_NOEXIST) {
        Ok(()) => add(count, Field::Kept),
        Err(EEXIST) => {}
        // The map is full.
        Err(_) => add(count, Field::Lost),
    }
}

/// Counts one key lost in `counts[index]` (one that could not even be read).
#[inline(always)]
pub fn lose(counts: &Array<Kept>, index: u32) {
    if let Some(count) = counts.get_ptr_mut(index) {
        add(count, Field::Lost);
    }
}

enum Field {
    Kept,
    Lost,
}

/// Adds one to a field of `count`, a live map value, atomically (two CPUs may keep at once).
#[inline(always)]
fn add(count: *mut Kept, field: Field) {
    // SAFETY: `count` is a live map value (its lookup succeeded); only a field address is
    // taken, and the add is atomic.
    unsafe {
        let at = match field {
            Field::Kept => &raw mut (*count).kept,
            Field::Lost => &raw mut (*count).lost,
        };
        atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(at, 1);
    }
}
