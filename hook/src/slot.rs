//! A container's slot in the shared maps: taken when its tracer registers the container,
//! released when the tracer ends. A slot is held by an exclusive `flock` on its file in the
//! [`registry`](crate::registry), so a tracer that dies (SIGKILL included) frees it at once and
//! no slot is ever handed to two live tracers. Whatever a dead tracer left in the maps is
//! cleared when its slot is taken again, before the new container is written.

use std::{
    fs::File,
    io::{Read, Seek, Write},
    time::{SystemTime, UNIX_EPOCH},
};

use aya::maps::{Array, HashMap, MapData, MapError, PerCpuArray, PerCpuValues};
use rustix::{
    fs::{flock, FlockOperation},
    io::Errno,
};
use serde_json::{json, Value};

use crate::{
    container::Container,
    contract::{self, ContainerSlot, Seen, CONTAINER_SLOTS},
    profile::Recipe,
    programs::{map_err, Programs, ProgramsError},
    registry::{open_rw, retry, Registry, RegistryError},
};

// SAFETY: `repr(C)` structs of integers with no padding; every byte pattern is valid.
unsafe impl aya::Pod for Seen {}
unsafe impl aya::Pod for ContainerSlot {}

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

/// What `status` shows of a traced container, and what `snapshot` needs to make its profile:
/// written into its slot's file (root only, like the whole registry).
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// The container's ID (or `record`'s command).
    pub id: String,
    /// Where the profile goes (`-` for stdout).
    pub output: String,
    pub recipe: Recipe,
}

#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    #[error("{CONTAINER_SLOTS} containers are already traced on this node; wait for one to end")]
    Full,
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
            file.set_len(0).map_err(io)?;
            file.write_all(describe(container, label).as_bytes())
                .map_err(io)?;
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
        let _registry = Registry::lock()?;
        clear(programs, self.index)?;
        let empty = ContainerSlot::default();
        set_array(programs, contract::MAP_CONTAINERS, self.index, empty)?;
        move_epoch(programs)?;
        // An empty file says the slot was left clean; the lock goes with the descriptor.
        let _ = file.set_len(0);
        Ok(())
    }
}

/// What a slot's file holds while its tracer lives.
fn describe(container: &Container, label: &Label) -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let value = json!({
        "id": label.id,
        "pid": container.init,
        "output": label.output,
        "since": since,
        "recipe": label.recipe.to_json(),
    });
    value.to_string()
}

/// The label, init PID and start (Unix seconds) written into a live slot's file.
pub fn read_label(file: &mut File) -> Option<(Label, u32, u64)> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    let label = Label {
        id: value["id"].as_str()?.to_owned(),
        output: value["output"].as_str()?.to_owned(),
        recipe: Recipe::from_json(&value["recipe"])?,
    };
    let pid = u32::try_from(value["pid"].as_u64()?).ok()?;
    Some((label, pid, value["since"].as_u64()?))
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
    let empty = Seen {
        slots: [0; contract::SYSCALL_SLOTS],
    };
    for abi in 0..contract::ABI_COUNT {
        seen.set(index * contract::ABI_COUNT + abi, empty, 0)
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
        window: if whole {
            contract::WINDOW_OPEN
        } else {
            contract::WINDOW_WAITING
        },
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
    }
    // The init (or `record`'s command) may have run syscalls before: memos say "not a member".
    move_epoch(programs)
}

/// Removes every entry of slot `index` from the membership maps.
fn clear(programs: &mut Programs, index: u32) -> Result<(), ProgramsError> {
    remove_slot::<u64>(programs, contract::MAP_TRACED, index)?;
    remove_slot::<u32>(programs, contract::MAP_TRACED_GROUPS, index)?;
    remove_slot::<u32>(programs, contract::MAP_INITS, index)?;
    remove_slot::<u64>(programs, contract::MAP_CGROUPS, index)
}

fn remove_slot<K: aya::Pod + Eq>(
    programs: &mut Programs,
    name: &'static str,
    index: u32,
) -> Result<(), ProgramsError> {
    let map = programs.map_mut(name)?;
    let mut map: HashMap<_, K, u32> = HashMap::try_from(map).map_err(map_err(name))?;
    let stale: Vec<K> = map
        .iter()
        .filter_map(Result::ok)
        .filter(|(_, slot)| *slot == index)
        .map(|(key, _)| key)
        .collect();
    for key in stale {
        // Gone already (the task exited meanwhile) is fine.
        let _ = map.remove(&key);
    }
    Ok(())
}

fn insert<K: aya::Pod>(
    programs: &mut Programs,
    name: &'static str,
    key: K,
    index: u32,
) -> Result<(), ProgramsError> {
    let map = programs.map_mut(name)?;
    let mut map: HashMap<_, K, u32> = HashMap::try_from(map).map_err(map_err(name))?;
    map.insert(key, index, 0).map_err(map_err(name))
}

fn set_array<V: aya::Pod>(
    programs: &mut Programs,
    name: &'static str,
    index: u32,
    value: V,
) -> Result<(), ProgramsError> {
    let map = programs.map_mut(name)?;
    let mut array: Array<&mut MapData, V> = Array::try_from(map).map_err(map_err(name))?;
    array.set(index, value, 0).map_err(map_err(name))
}

fn zero_per_cpu(
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
