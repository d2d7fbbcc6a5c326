//! Where a container joins the shared maps: its slot, taken when its tracer registers the
//! container, released when the tracer ends. A slot is held by an exclusive `flock` on its
//! file in the node's [`registry`](crate::node::registry) (which also holds its
//! [`label`]), so a tracer that dies (SIGKILL included) frees it at once and
//! no slot is ever handed to two live tracers. Whatever a dead tracer left in the maps is
//! cleared when its slot is taken again, before the new container is written.

use std::fs::File;

use aya::maps::Array;
use rustix::{
    fs::{flock, FlockOperation},
    io::Errno,
};

use super::{
    args,
    caps::CapWatch,
    container::Container,
    error::{map_err, ProgramsError},
    maps::{clear_execs, insert, remove_slot, set_array, zero_per_cpu},
    object,
    programs::Programs,
};
use crate::{
    contract::{self, CapsSeen, ContainerSlot, Seen, CONTAINER_SLOTS},
    node::{
        files::{open_rw, retry},
        label::{self, Label},
        registry::{Registry, RegistryError},
    },
};

/// From when the container's syscalls count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Everything its init process (all threads) and their descendants do from the moment of
    /// registering (`record`: the command is held before execve).
    Everything,
    /// Each task from the moment it runs under the container's filter (or starts the workload
    /// where none is expected): the runtime's own set-up (mounts, pivot_root, sethostname), its
    /// hooks and its threads that never carry the filter are left out.
    Workload,
}

#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    #[error("{CONTAINER_SLOTS} containers are already traced on this node; wait for one to end")]
    Full,
    #[error(
        "{TASK_QUOTA_VAR}=0 leaves no room for the container's init, so nothing of it could \
         be recorded; unset it or set it above 0"
    )]
    NoRoom,
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Maps(#[from] ProgramsError),
}

/// A container's place in the shared maps.
pub struct Slot {
    index: u32,
    /// Locked while this tracer lives; `None` for privately loaded programs (slot 0).
    file: Option<File>,
}

impl Slot {
    /// Takes the first free slot of `registry` (locked by the caller) and writes `container`
    /// into it.
    pub fn take(
        registry: &Registry,
        programs: &mut Programs,
        container: &Container,
        window: Window,
        label: &Label,
    ) -> Result<Self, SlotError> {
        room_for_init()?;
        for index in 0..CONTAINER_SLOTS {
            let path = registry.slot_path(index);
            let io = |source| RegistryError {
                path: path.clone(),
                source,
            };
            let mut file = open_rw(&path).map_err(io)?;
            match retry(|| flock(&file, FlockOperation::NonBlockingLockExclusive)) {
                Ok(()) => {}
                Err(Errno::WOULDBLOCK) => continue,
                Err(e) => return Err(io(e.into()).into()),
            }
            register(programs, index, container, window)?;
            label::write(&mut file, label, container.init).map_err(io)?;
            return Ok(Self {
                index,
                file: Some(file),
            });
        }
        Err(SlotError::Full)
    }

    /// Slot 0 of programs this process loaded for itself.
    pub fn private(
        programs: &mut Programs,
        container: &Container,
        window: Window,
    ) -> Result<Self, SlotError> {
        room_for_init()?;
        register(programs, 0, container, window)?;
        Ok(Self {
            index: 0,
            file: None,
        })
    }

    pub fn index(&self) -> u32 {
        self.index
    }

    /// Clears the slot from the maps and frees it. A tracer that dies first leaves this to
    /// the next registration of the slot.
    pub fn release(mut self, programs: &mut Programs) -> Result<(), SlotError> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        // Epoch moves are serialised by the registry lock.
        let _registry = object::registry()?;
        clear(programs, self.index)?;
        let empty = ContainerSlot::default();
        set_array(programs, contract::MAP_CONTAINERS, self.index, empty)?;
        move_epoch(programs)?;
        // An empty file says the slot was left clean; the lock goes with the descriptor.
        let _ = file.set_len(0);
        Ok(())
    }
}

/// Writes `container` into slot `index`, after clearing anything an earlier holder left.
fn register(
    programs: &mut Programs,
    index: u32,
    container: &Container,
    window: Window,
) -> Result<(), ProgramsError> {
    clear(programs, index)?;
    let seen = programs.map_mut(contract::MAP_SEEN)?;
    let mut seen: Array<_, Seen> = Array::try_from(seen).map_err(map_err(contract::MAP_SEEN))?;
    for abi in 0..contract::ABI_COUNT {
        let table = args::seen_table(abi, container.arg_values);
        seen.set(index * contract::ABI_COUNT + abi, table, 0)
            .map_err(map_err(contract::MAP_SEEN))?;
    }
    for name in [contract::MAP_LOST, contract::MAP_OUT_OF_RANGE] {
        zero_per_cpu(programs, name, index)?;
    }
    let whole = window == Window::Everything;
    let slot = ContainerSlot {
        init_tgid: u64::from(container.init),
        cgroup: container.cgroup.unwrap_or(0),
        openers: container.openers,
        user_ns: container.user_ns,
        window: if whole {
            contract::WINDOW_OPEN
        } else {
            contract::WINDOW_WAITING
        },
        members: 0,
        quota: task_quota(),
    };
    set_array(programs, contract::MAP_CONTAINERS, index, slot)?;
    if whole {
        insert(programs, contract::MAP_TRACED_GROUPS, container.init, index)?;
        set_array(programs, contract::MAP_NODE, contract::NODE_GROUPS, 1u64)?;
    } else {
        insert(programs, contract::MAP_INITS, container.init, index)?;
        if let Some(cgroup) = container.cgroup {
            insert(programs, contract::MAP_CGROUPS, cgroup, index)?;
        }
        if let Some(mnt_ns) = container.mnt_ns {
            insert(programs, contract::MAP_MNT_NAMESPACES, mnt_ns, index)?;
            set_array(
                programs,
                contract::MAP_NODE,
                contract::NODE_MNT_NAMESPACES,
                1u64,
            )?;
        }
    }
    // The init (or `record`'s command) may have run syscalls before: memos say "not a member".
    move_epoch(programs)
}

/// The environment variable that caps how many tasks of one container are followed at once
/// (the tests use it to make a recording incomplete on purpose; 0 is refused, see
/// [`SlotError::NoRoom`]).
pub const TASK_QUOTA_VAR: &str = "OSBH_TASK_QUOTA";

/// Refuses a quota with no room for the init: known before anything runs, so it is refused
/// while the runtime can still fail the container (and tell the user), not found at its exit.
fn room_for_init() -> Result<(), SlotError> {
    match task_quota() {
        0 => Err(SlotError::NoRoom),
        _ => Ok(()),
    }
}

/// [`TASK_QUOTA_VAR`]'s value, else no cap but the node's.
fn task_quota() -> u64 {
    std::env::var(TASK_QUOTA_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(contract::UNLIMITED_TASKS, |n| {
            n.min(contract::UNLIMITED_TASKS)
        })
}

/// Removes every entry of slot `index` from the membership and capability maps. The task map
/// is walked only when the slot's count says some of its tasks are still there: walking a
/// map sized for every task on the node visits each of its buckets, a millisecond at start.
fn clear(programs: &mut Programs, index: u32) -> Result<(), ProgramsError> {
    let name = contract::MAP_CONTAINERS;
    let containers: Array<_, ContainerSlot> =
        Array::try_from(programs.map(name)?).map_err(map_err(name))?;
    let held = containers.get(&index, 0).map_err(map_err(name))?;
    if held.members > 0 {
        remove_slot::<u64>(programs, contract::MAP_TRACED, index)?;
    }
    remove_slot::<u32>(programs, contract::MAP_TRACED_GROUPS, index)?;
    remove_slot::<u32>(programs, contract::MAP_INITS, index)?;
    remove_slot::<u64>(programs, contract::MAP_CGROUPS, index)?;
    remove_slot::<u64>(programs, contract::MAP_MNT_NAMESPACES, index)?;
    args::clear(programs, index)?;
    if matches!(programs.caps(), CapWatch::Unavailable(_)) {
        return Ok(());
    }
    let none = [0; contract::CAP_SLOTS];
    let empty = CapsSeen {
        granted: none,
        denied: none,
        quiet: none,
        unused: none,
    };
    set_array(programs, contract::MAP_CAPS, index, empty)?;
    if programs.caps() == &CapWatch::Tracepoint {
        zero_per_cpu(programs, contract::MAP_CAPS_RAISED, index)?;
    }
    clear_execs(programs, index)
}

/// Retires every CPU's memo. Userspace cannot add atomically to the epoch the programs bump,
/// so it moves it to a fresh multiple of `USER_EPOCH_STEP`: a value no memo holds, whatever
/// the kernel added meanwhile. Callers hold the registry lock, so no two tracers race here.
fn move_epoch(programs: &mut Programs) -> Result<(), ProgramsError> {
    let name = contract::MAP_NODE;
    let map = programs.map_mut(name)?;
    let mut node: Array<_, u64> = Array::try_from(map).map_err(map_err(name))?;
    let now = node.get(&contract::NODE_EPOCH, 0).map_err(map_err(name))?;
    let next = (now / contract::USER_EPOCH_STEP + 1) * contract::USER_EPOCH_STEP;
    node.set(contract::NODE_EPOCH, next, 0)
        .map_err(map_err(name))
}
