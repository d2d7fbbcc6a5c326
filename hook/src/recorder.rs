//! One container's recorder: the node's shared programs (see [`programs`](crate::programs)) plus the
//! container's slot in their maps (see [`slot`](crate::slot)). Reads back the set of syscall numbers the
//! container has made. Dropping the [`Recorder`] releases the slot; the programs stay attached
//! while any other tracer holds them.

use aya::maps::{Array, PerCpuArray};
use std::time::Instant;

pub use crate::{programs::AttachPoint, slot::Window};

use crate::{
    container::Container,
    contract::{self, ContainerSlot, Seen, SYSCALL_SLOTS},
    programs::{lap, map_err, AttachTimings, Programs, ProgramsError},
    registry::{Registry, RegistryError},
    slot::{Label, Slot, SlotError},
    syscall_table::{name_all, Arch},
};

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error(transparent)]
    Programs(#[from] ProgramsError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Slot(#[from] SlotError),
}

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
}

/// What a profile needs from a snapshot: the architectures used (the native one first) and
/// the names recorded through any of them. One `names` list serves every architecture of a
/// profile: runc and crun (libseccomp) resolve each name on each architecture that has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub arches: Vec<Arch>,
    pub names: Vec<&'static str>,
}

impl Snapshot {
    /// The recorded syscalls' names, ABI by ABI of `native`; numbers without a name are
    /// reported (warning), never written.
    pub fn names(&self, native: Arch) -> Recorded {
        let mut recorded = Recorded {
            arches: vec![native],
            names: Vec::new(),
        };
        for (abi, numbers) in native.abis().into_iter().zip(&self.syscalls) {
            let Some(arch) = abi.filter(|_| !numbers.is_empty()) else {
                continue;
            };
            let (names, unknown) = name_all(arch, numbers);
            if !unknown.is_empty() {
                log::warn!(
                    "syscall numbers {unknown:?} have no name on {}; they are left out of the \
                     profile",
                    arch.seccomp_name()
                );
            }
            if !recorded.arches.contains(&arch) {
                recorded.arches.push(arch);
            }
            recorded.names.extend(names);
        }
        self.warn_about_losses();
        recorded
    }

    fn warn_about_losses(&self) {
        if self.lost > 0 {
            log::warn!(
                "{} tasks of the container could not be followed (more than {} traced tasks on the node); \
                 their syscalls may be missing from the profile",
                self.lost,
                contract::TRACED_SLOTS
            );
        }
        if self.out_of_range > 0 {
            log::warn!(
                "{} syscalls had numbers outside every table (invalid numbers); they are left \
                 out of the profile",
                self.out_of_range
            );
        }
    }
}

/// A container registered with attached programs. Must be created inside a tokio runtime: a
/// tracer that loads the programs forwards their log records on it.
pub struct Recorder {
    programs: Programs,
    slot: Option<Slot>,
    timings: AttachTimings,
}

impl Recorder {
    /// Registers `container` with the node's programs at `point`: the shared ones on the raw
    /// tracepoint (joined, or loaded and published when none run), private ones on the trace
    /// event.
    pub fn attach(
        container: &Container,
        window: Window,
        point: AttachPoint,
        label: &Label,
    ) -> Result<Self, RecorderError> {
        let mut timings = AttachTimings::default();
        let (programs, slot) = match point {
            AttachPoint::RawTracepoint => {
                let registry = Registry::lock()?;
                let mut programs = Programs::shared(&registry, &mut timings)?;
                let mut clock = Instant::now();
                let slot = Slot::take(&registry, &mut programs, container, window, label)?;
                timings.register += lap(&mut clock);
                (programs, slot)
            }
            AttachPoint::Tracepoint => {
                let mut programs = Programs::load(point, &mut timings)?;
                let slot = Slot::private(&mut programs, container, window)?;
                (programs, slot)
            }
        };
        Ok(Self {
            programs,
            slot: Some(slot),
            timings,
        })
    }

    /// How long each phase of [`Recorder::attach`] took.
    pub fn timings(&self) -> AttachTimings {
        self.timings
    }

    /// Whether this recorder loaded the programs (the first on the node) or joined them.
    pub fn loaded_programs(&self) -> bool {
        self.programs.loaded_here()
    }

    /// Kernel memory of the programs' maps, by name, in bytes (see
    /// [`Programs::kernel_memory`]).
    pub fn kernel_memory(&self) -> Vec<(String, u64)> {
        self.programs.kernel_memory()
    }

    fn index(&self) -> u32 {
        self.slot.as_ref().map_or(0, Slot::index)
    }

    /// The syscalls recorded up to now (recording goes on).
    pub fn snapshot(&self) -> Result<Snapshot, RecorderError> {
        Ok(read_slot(&self.programs, self.index())?)
    }

    /// True once the record window has opened (always, for [`Window::Everything`]).
    pub fn window_opened(&self) -> Result<bool, RecorderError> {
        Ok(window_open(&self.programs, self.index())?)
    }

    /// Frees the container's slot now, reporting what went wrong (dropping does it silently).
    pub fn release(mut self) -> Result<(), RecorderError> {
        match self.slot.take() {
            Some(slot) => Ok(slot.release(&mut self.programs)?),
            None => Ok(()),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            if let Err(e) = slot.release(&mut self.programs) {
                log::warn!("the container's slot was not cleared ({e}); the next tracer will");
            }
        }
        // Dropping `programs` afterwards closes our descriptors: the last one detaches.
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
            .filter(|&nr| table.slots[nr as usize] != 0)
            .collect();
    }
    Ok(Snapshot {
        syscalls,
        out_of_range: per_cpu_sum(programs, contract::MAP_OUT_OF_RANGE, index)?,
        lost: per_cpu_sum(programs, contract::MAP_LOST, index)?,
    })
}

fn per_cpu_sum(programs: &Programs, name: &'static str, index: u32) -> Result<u64, ProgramsError> {
    let counts: PerCpuArray<_, u64> =
        PerCpuArray::try_from(programs.map(name)?).map_err(map_err(name))?;
    let per_cpu = counts.get(&index, 0).map_err(map_err(name))?;
    Ok(per_cpu.iter().sum())
}
