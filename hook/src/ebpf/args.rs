//! A container's argument values in the shared maps (`contract::MAP_ARG_VALUES`,
//! `contract::MAP_ARG_COUNTS`): the `SEEN` bytes that make the kernel keep them, written when
//! the slot is taken; the values read back; and the slot's values cleared.

use std::sync::OnceLock;

use aya::maps::{Array, HashMap};

use super::{
    error::{map_err, ProgramsError},
    maps::{remove_keys, set_array},
    programs::Programs,
};
use crate::{
    contract::{self, ArgKey, Kept, Seen, ABI_COUNT, ARG_CALLS, ARG_CALL_COUNT},
    profile::{arch::Arch, args::Args},
};

/// ABI `abi`'s `SEEN` table (of this architecture's, `Arch::NATIVE`'s) for a new container:
/// each call of `contract::ARG_CALLS` marked with its entry (see `contract::SEEN_CALLED`) when
/// `values` are wanted, else all zero.
pub fn seen_table(abi: u32, values: bool) -> Seen {
    let mut table = Seen {
        slots: [0; contract::SYSCALL_SLOTS],
    };
    if values {
        for &(nr, entry) in &marks()[abi as usize] {
            table.slots[nr] = entry;
        }
    }
    table
}

/// (number, `SEEN` byte) of each recorded call, per ABI of `Arch::NATIVE`; found once per
/// process.
fn marks() -> &'static [Vec<(usize, u8)>; ABI_COUNT as usize] {
    static MARKS: OnceLock<[Vec<(usize, u8)>; ABI_COUNT as usize]> = OnceLock::new();
    MARKS.get_or_init(|| {
        Arch::NATIVE.abis().map(|abi| {
            let Some(arch) = abi else { return Vec::new() };
            ARG_CALLS
                .iter()
                .enumerate()
                .filter_map(|(i, name)| {
                    let nr = arch.syscall_number(name)? as usize;
                    Some((nr, ((i + 1) << 1) as u8))
                })
                .collect()
        })
    })
}

/// The values slot `index` kept, every ABI together.
pub fn read(programs: &Programs, index: u32) -> Result<Args, ProgramsError> {
    let name = contract::MAP_ARG_VALUES;
    let values: HashMap<_, ArgKey, u8> =
        HashMap::try_from(programs.map(name)?).map_err(map_err(name))?;
    let mut args = Args::default();
    for key in values.keys().filter_map(Result::ok) {
        if key.slot == index {
            args.add(ARG_CALLS[key.call as usize % ARG_CALL_COUNT], key.value);
        }
    }
    for (i, count) in counts(programs, index)?.into_iter().enumerate() {
        if count.lost != 0 {
            args.overflow(ARG_CALLS[i % ARG_CALL_COUNT]);
        }
    }
    Ok(args)
}

/// Slot `index`'s counts, ABI by ABI, call by call.
fn counts(programs: &Programs, index: u32) -> Result<Vec<Kept>, ProgramsError> {
    let name = contract::MAP_ARG_COUNTS;
    let counts: Array<_, Kept> = Array::try_from(programs.map(name)?).map_err(map_err(name))?;
    let first = index * ABI_COUNT * ARG_CALL_COUNT as u32;
    (first..first + ABI_COUNT * ARG_CALL_COUNT as u32)
        .map(|i| counts.get(&i, 0).map_err(map_err(name)))
        .collect()
}

/// Removes what slot `index` kept; the value map is walked only when its counts say it holds
/// something of the slot.
pub fn clear(programs: &mut Programs, index: u32) -> Result<(), ProgramsError> {
    let held = counts(programs, index)?;
    if held.iter().all(|c| *c == Kept::default()) {
        return Ok(());
    }
    let of_slot = |key: &ArgKey| key.slot == index;
    remove_keys(programs, contract::MAP_ARG_VALUES, of_slot)?;
    let first = index * ABI_COUNT * ARG_CALL_COUNT as u32;
    for (i, count) in held.iter().enumerate() {
        if *count != Kept::default() {
            set_array(
                programs,
                contract::MAP_ARG_COUNTS,
                first + i as u32,
                Kept::default(),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each ABI's table marks that ABI's number of each call with its entry, and nothing
    /// else; a name-only container's tables are all zero.
    #[test]
    fn each_abi_marks_its_own_numbers() {
        for (abi, arch) in Arch::NATIVE.abis().into_iter().enumerate() {
            let table = seen_table(abi as u32, true);
            let marked = table.slots.iter().filter(|&&b| b != 0).count();
            let Some(arch) = arch else {
                assert_eq!(marked, 0);
                continue;
            };
            for (i, name) in ARG_CALLS.iter().enumerate() {
                if let Some(nr) = arch.syscall_number(name) {
                    assert_eq!(table.slots[nr as usize], ((i + 1) << 1) as u8, "{name}");
                    assert_eq!(table.slots[nr as usize] & contract::SEEN_CALLED, 0);
                }
            }
            let known = ARG_CALLS
                .iter()
                .filter(|n| arch.syscall_number(n).is_some());
            assert_eq!(marked, known.count(), "{arch:?}");
            let plain = seen_table(abi as u32, false);
            assert!(plain.slots.iter().all(|&b| b == 0));
        }
    }
}
