//! Typed access to one entry of a shared map, found by name in [`Programs`].

use aya::maps::{Array, HashMap, MapData, MapError, PerCpuArray, PerCpuValues};

use super::{
    error::{map_err, ProgramsError},
    programs::Programs,
};
use crate::contract::{self, ExecKey, Kept};

/// Removes every entry of the hash map `name` whose value is slot `index`.
pub fn remove_slot<K: aya::Pod + Eq>(
    programs: &mut Programs,
    name: &'static str,
    index: u32,
) -> Result<(), ProgramsError> {
    let map = programs.map_mut(name)?;
    let mut map: HashMap<_, K, u32> = HashMap::try_from(map).map_err(map_err(name))?;
    let stale: Vec<K> = map
        .iter()
        .filter_map(Result::ok)
        // A TRACED value carries `contract::TRACED_STARTED` beside the slot.
        .filter(|(_, value)| value & contract::TRACED_SLOT_MASK == index)
        .map(|(key, _)| key)
        .collect();
    for key in stale {
        // Gone already (the task exited meanwhile) is fine.
        let _ = map.remove(&key);
    }
    Ok(())
}

/// Sets `key` to slot `index` in the hash map `name`.
pub fn insert<K: aya::Pod>(
    programs: &mut Programs,
    name: &'static str,
    key: K,
    index: u32,
) -> Result<(), ProgramsError> {
    let map = programs.map_mut(name)?;
    let mut map: HashMap<_, K, u32> = HashMap::try_from(map).map_err(map_err(name))?;
    map.insert(key, index, 0).map_err(map_err(name))
}

/// Sets entry `index` of the array map `name`.
pub fn set_array<V: aya::Pod>(
    programs: &mut Programs,
    name: &'static str,
    index: u32,
    value: V,
) -> Result<(), ProgramsError> {
    let map = programs.map_mut(name)?;
    let mut array: Array<&mut MapData, V> = Array::try_from(map).map_err(map_err(name))?;
    array.set(index, value, 0).map_err(map_err(name))
}

/// Zeroes entry `index` of the per-CPU array map `name` on every CPU.
pub fn zero_per_cpu(
    programs: &mut Programs,
    name: &'static str,
    index: u32,
) -> Result<(), ProgramsError> {
    let cpus = aya::util::nr_cpus()
        .map_err(|(_, source)| MapError::IoError(source))
        .map_err(map_err(name))?;
    let map = programs.map_mut(name)?;
    let mut array: PerCpuArray<_, u64> = PerCpuArray::try_from(map).map_err(map_err(name))?;
    let zeros = PerCpuValues::try_from(vec![0u64; cpus])
        .map_err(MapError::IoError)
        .map_err(map_err(name))?;
    array.set(index, zeros, 0).map_err(map_err(name))
}

/// Slot `index`'s count of executed files' names, kept and not.
pub fn exec_count(programs: &Programs, index: u32) -> Result<Kept, ProgramsError> {
    let name = contract::MAP_EXEC_COUNTS;
    let counts: Array<_, Kept> = Array::try_from(programs.map(name)?).map_err(map_err(name))?;
    counts.get(&index, 0).map_err(map_err(name))
}

/// Removes every executed file's name kept for slot `index`, and its count; the name map is
/// walked only when the count says it holds something of the slot.
pub fn clear_execs(programs: &mut Programs, index: u32) -> Result<(), ProgramsError> {
    let count = exec_count(programs, index)?;
    if count == Kept::default() {
        return Ok(());
    }
    if count.kept != 0 {
        remove_keys(programs, contract::MAP_EXECS, |key: &ExecKey| {
            key.slot == index
        })?;
    }
    set_array(programs, contract::MAP_EXEC_COUNTS, index, Kept::default())
}

/// Removes every key `stale` picks from the hash map `name` of keys `K` and one-byte values
/// (the maps that hold names and values per slot).
pub fn remove_keys<K: aya::Pod>(
    programs: &mut Programs,
    name: &'static str,
    stale: impl Fn(&K) -> bool,
) -> Result<(), ProgramsError> {
    let map = programs.map_mut(name)?;
    let mut map: HashMap<_, K, u8> = HashMap::try_from(map).map_err(map_err(name))?;
    let picked: Vec<K> = map
        .keys()
        .filter_map(Result::ok)
        .filter(|key| stale(key))
        .collect();
    for key in picked {
        // Gone already is fine.
        let _ = map.remove(&key);
    }
    Ok(())
}
