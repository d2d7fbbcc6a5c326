//! The set read back: what a container's slot of the `SEEN` map (and its loss counters) holds,
//! and the names it stands for; and what its slot of the capability maps holds.

use aya::maps::{Array, HashMap, PerCpuArray};

use super::{
    args,
    caps::CapWatch,
    error::{map_err, ProgramsError},
    maps::exec_count,
    programs::Programs,
};
use crate::{
    caps::{report::Checks, set::CapSet},
    contract::{self, CapsSeen, ContainerSlot, ExecKey, Seen, SYSCALL_SLOTS},
    profile::{
        arch::{name_all, Arch},
        args::Args,
        Recorded,
    },
};

/// What the container has done so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Syscall numbers seen at least once, ascending, per ABI (index `contract::ABI_*`).
    pub syscalls: [Vec<u32>; contract::ABI_COUNT as usize],
    /// Syscalls whose number did not fit the bitmap (counted, never recorded by name).
    pub out_of_range: u64,
    /// Tasks of the container that could not be followed (a full task map): their syscalls
    /// are missing.
    pub lost: u64,
    /// The argument values kept (see [`args`](super::args)).
    pub args: Args,
}

impl Snapshot {
    /// The recorded syscalls' names, ABI by ABI of `native`; numbers without a name are never
    /// written (see [`Snapshot::losses`]).
    pub fn names(&self, native: Arch) -> Recorded {
        let mut recorded = Recorded {
            arches: vec![native],
            names: Vec::new(),
            args: self.args.clone(),
        };
        for (abi, numbers) in native.abis().into_iter().zip(&self.syscalls) {
            let Some(arch) = abi.filter(|_| !numbers.is_empty()) else {
                continue;
            };
            // Numbers without a name are told by `losses`.
            let (names, _) = name_all(arch, numbers);
            if !recorded.arches.contains(&arch) {
                recorded.arches.push(arch);
            }
            recorded.names.extend(names);
        }
        recorded
    }

    /// What the recording lacks, in one line with what to do; `None` when it is whole. A
    /// lost task, a number outside every table and a number without a name all count.
    pub fn losses(&self, native: Arch) -> Option<String> {
        let mut lacks = Vec::new();
        if self.lost > 0 {
            lacks.push(format!(
                "{} tasks of the container could not be followed (more than its task quota, \
                 or the node's task map full), so their syscalls are missing",
                self.lost
            ));
        }
        if self.out_of_range > 0 {
            lacks.push(format!(
                "{} syscalls had numbers outside every table",
                self.out_of_range
            ));
        }
        for (abi, numbers) in native.abis().into_iter().zip(&self.syscalls) {
            let Some(arch) = abi else { continue };
            let (_, unknown) = name_all(arch, numbers);
            if !unknown.is_empty() {
                lacks.push(format!(
                    "syscall numbers {unknown:?} have no name on {}",
                    arch.seccomp_name()
                ));
            }
        }
        (!lacks.is_empty()).then(|| lacks.join("; "))
    }
}

/// Whether slot `index`'s container runs its workload (its record window is open).
pub fn window_open(programs: &Programs, index: u32) -> Result<bool, ProgramsError> {
    let name = contract::MAP_CONTAINERS;
    let containers: Array<_, ContainerSlot> =
        Array::try_from(programs.map(name)?).map_err(map_err(name))?;
    let slot = containers.get(&index, 0).map_err(map_err(name))?;
    Ok(slot.window == contract::WINDOW_OPEN)
}

/// What slot `index` of `programs` has recorded so far.
pub fn read_slot(programs: &Programs, index: u32) -> Result<Snapshot, ProgramsError> {
    let name = contract::MAP_SEEN;
    let seen: Array<_, Seen> = Array::try_from(programs.map(name)?).map_err(map_err(name))?;
    let mut syscalls: [Vec<u32>; contract::ABI_COUNT as usize] = Default::default();
    for (abi, numbers) in (0..contract::ABI_COUNT).zip(&mut syscalls) {
        let table = seen
            .get(&(index * contract::ABI_COUNT + abi), 0)
            .map_err(map_err(name))?;
        *numbers = (0..SYSCALL_SLOTS as u32)
            .filter(|&nr| table.slots[nr as usize] & contract::SEEN_CALLED != 0)
            .collect();
    }
    Ok(Snapshot {
        syscalls,
        out_of_range: per_cpu_sum(programs, contract::MAP_OUT_OF_RANGE, index)?,
        lost: per_cpu_sum(programs, contract::MAP_LOST, index)?,
        args: args::read(programs, index)?,
    })
}

/// The sum over CPUs of slot `index` of the per-CPU counter `name`.
fn per_cpu_sum(programs: &Programs, name: &'static str, index: u32) -> Result<u64, ProgramsError> {
    let counts: PerCpuArray<_, u64> =
        PerCpuArray::try_from(programs.map(name)?).map_err(map_err(name))?;
    let per_cpu = counts.get(&index, 0).map_err(map_err(name))?;
    Ok(per_cpu.iter().sum())
}

/// What the capset calls of slot `index` added to the inheritable set, on every CPU
/// (`contract::MAP_CAPS_RAISED`, kept by the tracepoint program alone).
fn raised(programs: &Programs, index: u32) -> Result<CapSet, ProgramsError> {
    let name = contract::MAP_CAPS_RAISED;
    let words: PerCpuArray<_, u64> =
        PerCpuArray::try_from(programs.map(name)?).map_err(map_err(name))?;
    let words = words.get(&index, 0).map_err(map_err(name))?;
    Ok(CapSet(words.iter().fold(0, |all, word| all | word)))
}

/// The capability checks recorded for slot `index`; `None` where no capability program runs.
pub fn read_caps(programs: &Programs, index: u32) -> Result<Option<Checks>, ProgramsError> {
    if matches!(programs.caps(), CapWatch::Unavailable(_)) {
        return Ok(None);
    }
    let name = contract::MAP_CAPS;
    let caps: Array<_, CapsSeen> = Array::try_from(programs.map(name)?).map_err(map_err(name))?;
    let seen = caps.get(&index, 0).map_err(map_err(name))?;
    let set = |bytes: &[u8; contract::CAP_SLOTS]| {
        CapSet::of((0..contract::CAP_SLOTS as u32).filter(|&n| bytes[n as usize] != 0))
    };
    let name = contract::MAP_EXECS;
    let execs: HashMap<_, ExecKey, u8> =
        HashMap::try_from(programs.map(name)?).map_err(map_err(name))?;
    let executed = execs
        .keys()
        .filter_map(Result::ok)
        .filter(|key| key.slot == index)
        .map(|key| {
            let len = key
                .path
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(key.path.len());
            String::from_utf8_lossy(&key.path[..len]).into_owned()
        })
        .collect();
    let raised = match programs.caps() {
        CapWatch::Tracepoint => raised(programs, index)?,
        _ => CapSet::default(),
    };
    Ok(Some(Checks {
        granted: set(&seen.granted).union(raised),
        denied: set(&seen.denied),
        quiet: set(&seen.quiet),
        unused: set(&seen.unused),
        executed,
        executed_not_kept: exec_count(programs, index)?.lost,
    }))
}
