//! The programs on `sys_enter` and the scheduler tracepoints, and the maps they share. The
//! first tracer on the node loads the [`object`], attaches its programs
//! ([`attach`](super::attach)) and publishes the links' IDs in the node's
//! [`registry`](crate::node::registry); every later tracer joins them by ID
//! ([`by_id`]), without the verifier, after checking that each ID still names
//! our program (name and tag). The trace-event attach point and the benchmark's empty program
//! are loaded privately instead.

use std::{
    os::fd::{AsRawFd, OwnedFd},
    time::Instant,
};

use aya::{
    maps::{Map, MapData},
    programs::links::FdLink,
    Ebpf,
};

use super::{
    attach::{attach_raw, attach_trace_event, verify_together},
    by_id,
    caps::{self, CapWatch, CAP_MAPS, TRACEPOINT_MAPS},
    error::ProgramsError,
    object,
    timings::{lap, AttachTimings},
};
use crate::{
    contract,
    node::registry::{LinkRecord, Registry},
};

/// Where on the syscall-entry path the program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AttachPoint {
    /// `BPF_RAW_TRACEPOINT_OPEN` on `sys_enter`: no tracefs needed; shared by every tracer.
    RawTracepoint,
    /// The `raw_syscalls:sys_enter` trace event: needs tracefs mounted; loaded privately.
    Tracepoint,
}

/// The maps userspace reads or writes, found by name.
pub(super) const MAPS: [&str; 12] = [
    contract::MAP_CONTAINERS,
    contract::MAP_SEEN,
    contract::MAP_NODE,
    contract::MAP_TRACED,
    contract::MAP_TRACED_GROUPS,
    contract::MAP_INITS,
    contract::MAP_CGROUPS,
    contract::MAP_MNT_NAMESPACES,
    contract::MAP_LOST,
    contract::MAP_OUT_OF_RANGE,
    contract::MAP_ARG_VALUES,
    contract::MAP_ARG_COUNTS,
];

/// The shared programs, in attach order: exits and forks are followed before the recorder
/// runs (its per-CPU memo is only sound while exits are counted, and a child forked in between
/// would not be followed).
const SHARED: [(&str, &str); 3] = [
    (contract::PROG_TASK_EXIT, contract::EXIT_TRACEPOINT_NAME),
    (contract::PROG_TASK_FORK, contract::FORK_TRACEPOINT_NAME),
    (contract::PROG_RAW_TRACEPOINT, contract::TRACEPOINT_NAME),
];

/// Programs attached and the maps they use, held open: while any tracer holds them, they stay.
pub struct Programs {
    maps: Vec<(&'static str, Map)>,
    links: Vec<OwnedFd>,
    records: Vec<LinkRecord>,
    /// Every map the attached programs use (ours, and the object's data and log maps).
    map_ids: Vec<u32>,
    /// How capability checks are seen (the maps of [`CAP_MAPS`] are there unless
    /// unavailable).
    caps: CapWatch,
    /// The object, when this process loaded them.
    loaded: Option<Ebpf>,
}

impl Programs {
    /// The node's running programs, or (when none run, or the registry names something else)
    /// loaded, attached and published. `registry` is held locked meanwhile.
    pub fn shared(registry: &Registry, timings: &mut AttachTimings) -> Result<Self, ProgramsError> {
        let mut clock = Instant::now();
        let running = Self::join(&registry.links(), registry.note(caps::NOTE));
        timings.join += lap(&mut clock);
        if let Some(programs) = running {
            return Ok(programs);
        }
        let programs = Self::load(AttachPoint::RawTracepoint, timings)?;
        if let CapWatch::Unavailable(reason) = &programs.caps {
            registry.publish_note(caps::NOTE, reason)?;
        }
        registry.publish(&programs.records)?;
        // A fresh load is the moment an upgrade's first tracer runs: older builds' registries
        // that nobody uses any more go.
        registry.sweep_others();
        Ok(programs)
    }

    /// Opens the programs `records` names, if every ID still names what it did: the link's
    /// program, the program's name and tag, and every map we use among the programs' maps.
    /// `note` is the loading tracer's word on a missing capability program.
    pub fn join(records: &[LinkRecord], note: Option<String>) -> Option<Self> {
        if !published_names_fit(records) {
            return None;
        }
        let mut links = Vec::new();
        let mut map_ids = Vec::new();
        for record in records {
            let (link, ids) = open_record(record)?;
            links.push(link);
            map_ids.extend(ids);
        }
        map_ids.sort_unstable();
        map_ids.dedup();
        let caps = CapWatch::of_records(records, note);
        Some(Self {
            maps: maps_by_id(&map_ids, &caps)?,
            links,
            records: records.to_vec(),
            map_ids,
            caps,
            loaded: None,
        })
    }

    /// Loads and attaches the recorder at `point` (with the exit and fork programs, and the
    /// capability programs this kernel allows), for this process alone unless published.
    pub fn load(point: AttachPoint, timings: &mut AttachTimings) -> Result<Self, ProgramsError> {
        let object::Loaded {
            mut ebpf,
            offsets_missing,
        } = object::load(timings).map_err(ProgramsError::Load)?;
        verify_together(&mut ebpf, &first_loads(point, &offsets_missing), timings);
        let mut attached = Vec::new();
        for (name, tracepoint) in SHARED {
            match (name, point) {
                (contract::PROG_RAW_TRACEPOINT, AttachPoint::Tracepoint) => {
                    attach_trace_event(&mut ebpf, contract::PROG_TRACEPOINT, timings)?;
                }
                _ => attached.push((attach_raw(&mut ebpf, name, tracepoint, timings)?, name)),
            }
        }
        let (caps, cap_links) = caps::attach(&mut ebpf, offsets_missing.as_deref(), timings);
        attached.extend(cap_links);
        let mut programs = Self {
            maps: take_maps(&mut ebpf, &caps)?,
            links: Vec::new(),
            records: Vec::new(),
            map_ids: Vec::new(),
            caps,
            loaded: None,
        };
        for (link, name) in attached {
            let (fd, record, ids) = hold(link, name)?;
            programs.links.push(fd);
            programs.records.push(record);
            programs.map_ids.extend(ids);
        }
        programs.map_ids.sort_unstable();
        programs.map_ids.dedup();
        programs.loaded = Some(ebpf);
        Ok(programs)
    }

    /// The empty program alone at `point`: the floor any design pays, for the benchmark.
    #[cfg(feature = "bench")]
    pub fn empty(point: AttachPoint) -> Result<Self, ProgramsError> {
        let mut timings = AttachTimings::default();
        let mut ebpf = object::load(&mut timings)
            .map_err(ProgramsError::Load)?
            .ebpf;
        let links = match point {
            AttachPoint::RawTracepoint => {
                let name = contract::PROG_EMPTY_RAW_TRACEPOINT;
                let link = attach_raw(&mut ebpf, name, contract::TRACEPOINT_NAME, &mut timings)?;
                vec![hold(link, name)?.0]
            }
            AttachPoint::Tracepoint => {
                attach_trace_event(&mut ebpf, contract::PROG_EMPTY_TRACEPOINT, &mut timings)?;
                Vec::new()
            }
        };
        Ok(Self {
            maps: Vec::new(),
            links,
            records: Vec::new(),
            map_ids: Vec::new(),
            caps: CapWatch::Unavailable("the benchmark's empty program sees nothing".into()),
            loaded: Some(ebpf),
        })
    }

    /// Whether this process loaded the programs (rather than joining running ones).
    pub fn loaded_here(&self) -> bool {
        self.loaded.is_some()
    }

    /// How capability checks are seen by these programs.
    pub fn caps(&self) -> &CapWatch {
        &self.caps
    }

    /// The attached programs, as published.
    pub fn records(&self) -> &[LinkRecord] {
        &self.records
    }

    /// How many links this value holds open.
    pub fn link_count(&self) -> usize {
        self.links.len()
    }

    /// Kernel memory of every map the programs use, by name: what the kernel charges for it
    /// (`memlock` in the descriptor's fdinfo), in bytes.
    pub fn kernel_memory(&self) -> Vec<(String, u64)> {
        self.map_ids
            .iter()
            .filter_map(|&id| {
                let fd = by_id::map_by_id(id).ok()?;
                let name = by_id::map_name(&fd).ok()?;
                let path = format!("/proc/self/fdinfo/{}", fd.as_raw_fd());
                let info = std::fs::read_to_string(path).ok()?;
                let memlock = info.lines().find_map(|l| l.strip_prefix("memlock:"))?;
                Some((name, memlock.trim().parse().ok()?))
            })
            .collect()
    }

    pub fn map(&self, name: &'static str) -> Result<&Map, ProgramsError> {
        self.maps
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, map)| map)
            .ok_or(ProgramsError::Contract(name))
    }

    pub fn map_mut(&mut self, name: &'static str) -> Result<&mut Map, ProgramsError> {
        self.maps
            .iter_mut()
            .find(|(n, _)| *n == name)
            .map(|(_, map)| map)
            .ok_or(ProgramsError::Contract(name))
    }
}

/// Every map [`wanted_maps`] names for `caps` among `ids`, or nothing if one is missing.
fn maps_by_id(ids: &[u32], caps: &CapWatch) -> Option<Vec<(&'static str, Map)>> {
    let wanted: Vec<&'static str> = wanted_maps(caps).collect();
    let mut maps = Vec::new();
    for &id in ids {
        let fd = by_id::map_by_id(id).ok()?;
        let name = by_id::map_name(&fd).ok()?;
        let Some(name) = wanted.iter().find(|n| **n == name) else {
            continue;
        };
        if maps.iter().all(|(n, _)| n != name) {
            let data = MapData::from_fd(fd).ok()?;
            if *name == contract::MAP_TRACED {
                // Only for the warning: a map whose size cannot be read still joins.
                if let Ok(info) = data.info() {
                    object::warn_if_outgrown(info.max_entries());
                }
            }
            maps.push((*name, Map::from_map_data(data).ok()?));
        }
    }
    (maps.len() == wanted.len()).then_some(maps)
}

/// The raw tracepoint programs a first tracer will attach at `point`: the shared ones, then,
/// where the kernel's struct offsets were read, `task_exec` and the first capability program
/// it tries.
fn first_loads(point: AttachPoint, offsets_missing: &Option<String>) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = SHARED
        .iter()
        .map(|(name, _)| *name)
        .filter(|&name| {
            name != contract::PROG_RAW_TRACEPOINT || point == AttachPoint::RawTracepoint
        })
        .collect();
    if offsets_missing.is_none() {
        names.extend([contract::PROG_TASK_EXEC, contract::PROG_CAP_TRACEPOINT]);
    }
    names
}

/// The maps userspace uses out of a freshly loaded object.
fn take_maps(ebpf: &mut Ebpf, caps: &CapWatch) -> Result<Vec<(&'static str, Map)>, ProgramsError> {
    wanted_maps(caps)
        .map(|name| {
            Ok((
                name,
                ebpf.take_map(name).ok_or(ProgramsError::Contract(name))?,
            ))
        })
        .collect()
}

/// [`MAPS`], with [`CAP_MAPS`] where a capability program is attached, and
/// [`TRACEPOINT_MAPS`] where that is the tracepoint program.
fn wanted_maps(caps: &CapWatch) -> impl Iterator<Item = &'static str> {
    let (all, tracepoint): (&[&'static str], &[&'static str]) = match caps {
        CapWatch::Unavailable(_) => (&[], &[]),
        CapWatch::Tracepoint => (&CAP_MAPS, &TRACEPOINT_MAPS),
        CapWatch::Fexit | CapWatch::Kprobe => (&CAP_MAPS, &[]),
    };
    MAPS.into_iter()
        .chain(all.iter().copied())
        .chain(tracepoint.iter().copied())
}

/// Whether `records` are the shared programs in their order, then either nothing or
/// `task_exec` with one capability program.
fn published_names_fit(records: &[LinkRecord]) -> bool {
    let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    let (shared, rest) = names.split_at(names.len().min(SHARED.len()));
    let caps = [
        contract::PROG_CAP_TRACEPOINT,
        contract::PROG_CAP_FEXIT,
        contract::PROG_CAP_KPROBE,
    ];
    shared
        .iter()
        .copied()
        .eq(SHARED.iter().map(|(name, _)| *name))
        && match rest {
            [] => true,
            [exec, cap] => *exec == contract::PROG_TASK_EXEC && caps.contains(cap),
            _ => false,
        }
}

/// A descriptor of `record`'s link and its program's map IDs, if the IDs still name what
/// the record says: the link's program, and the program's name and tag.
fn open_record(record: &LinkRecord) -> Option<(OwnedFd, Vec<u32>)> {
    let link = by_id::link_by_id(record.link).ok()?;
    let info = by_id::link_info(&link).ok()?;
    let prog = by_id::prog_by_id(info.prog_id).ok()?;
    let prog = by_id::prog_info(&prog).ok()?;
    let same = info.prog_id == record.prog && prog.tag == record.tag;
    if !same || !record.name.starts_with(&prog.name) || prog.name.is_empty() {
        return None;
    }
    Some((link, prog.map_ids))
}

/// Our own descriptor of an attached link, its record for the registry, and the IDs of the
/// maps its program uses.
fn hold(
    link: FdLink,
    name: &'static str,
) -> Result<(OwnedFd, LinkRecord, Vec<u32>), ProgramsError> {
    let err = |source| ProgramsError::Link { name, source };
    let io = |e: aya::programs::links::LinkError| std::io::Error::other(e.to_string());
    let info = link.info().map_err(io).map_err(err)?;
    // A descriptor of our own, so every tracer holds links the same way; aya's closes here.
    let fd = by_id::link_by_id(info.id()).map_err(err)?;
    let prog = by_id::prog_by_id(info.program_id()).map_err(err)?;
    let prog = by_id::prog_info(&prog).map_err(err)?;
    let record = LinkRecord {
        name: name.to_owned(),
        link: info.id(),
        prog: info.program_id(),
        tag: prog.tag,
    };
    Ok((fd, record, prog.map_ids))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{
        ArgKey, CapCalibration, CapsSeen, ContainerSlot, ExecKey, Kept, Seen, Verdict,
        SYSCALL_SLOTS,
    };
    use std::mem::size_of;

    /// (name, key size, value size, entries) of every map of the object.
    fn expected_maps() -> [(&'static str, u32, usize, u32); 18] {
        let slots = contract::CONTAINER_SLOTS;
        [
            (
                contract::MAP_CONTAINERS,
                4,
                size_of::<ContainerSlot>(),
                slots,
            ),
            (
                contract::MAP_SEEN,
                4,
                size_of::<Seen>(),
                slots * contract::ABI_COUNT,
            ),
            (contract::MAP_NODE, 4, 8, contract::NODE_SLOTS),
            (contract::MAP_VERDICT, 4, size_of::<Verdict>(), 1),
            (contract::MAP_TRACED, 8, 4, contract::TRACED_SLOTS),
            (
                contract::MAP_TRACED_GROUPS,
                4,
                4,
                contract::TRACED_GROUP_SLOTS,
            ),
            (contract::MAP_INITS, 4, 4, slots),
            (contract::MAP_CGROUPS, 8, 4, slots),
            (contract::MAP_MNT_NAMESPACES, 8, 4, slots),
            (contract::MAP_LOST, 4, 8, slots),
            (contract::MAP_OUT_OF_RANGE, 4, 8, slots),
            (contract::MAP_CAPS, 4, size_of::<CapsSeen>(), slots),
            (contract::MAP_CAPS_RAISED, 4, 8, slots),
            (
                contract::MAP_EXECS,
                size_of::<ExecKey>() as u32,
                1,
                contract::EXEC_SLOTS,
            ),
            (contract::MAP_EXEC_COUNTS, 4, size_of::<Kept>(), slots),
            (
                contract::MAP_ARG_VALUES,
                size_of::<ArgKey>() as u32,
                1,
                contract::ARG_VALUE_SLOTS,
            ),
            (
                contract::MAP_ARG_COUNTS,
                4,
                size_of::<Kept>(),
                contract::ARG_COUNT_SLOTS,
            ),
            (
                contract::MAP_CAP_CALIBRATION,
                4,
                size_of::<CapCalibration>(),
                1,
            ),
        ]
    }

    /// The embedded object must carry every name the contract promises, with the sizes this
    /// side reads. Parsing the ELF needs no privileges, so this runs everywhere.
    #[test]
    fn object_matches_the_contract() {
        let mut obj = aya_obj::Object::parse(object::OBJECT).expect("embedded object parses");
        for name in contract::ALL_PROGRAMS {
            assert!(obj.programs.contains_key(name), "program {name} missing");
        }
        for (name, key, value, entries) in expected_maps() {
            let map = &obj.maps[name];
            assert_eq!(map.key_size(), key, "{name} key");
            assert_eq!(map.value_size() as usize, value, "{name} value");
            assert_eq!(map.max_entries(), entries, "{name} entries");
        }
        for name in MAPS.iter().chain(&CAP_MAPS).chain(&TRACEPOINT_MAPS) {
            assert!(obj.maps.contains_key(*name), "{name}");
        }
        // The same patching the loader does: fails if a global is missing or not u64s.
        let markers = [0u8; 8 * contract::MARKER_COUNT];
        let offsets = [0u8; 8 * 3];
        let probe = [0u8; 8 * contract::ABI_PROBE_SLOTS];
        let kernel = [0u8; 8 * contract::OFFSET_SLOTS];
        let kprobe = [0u8; 8 * contract::KPROBE_ARG_SLOTS];
        let user_regs = [0u8; 8 * contract::USER_REGS_SLOTS];
        let weighed = [0u8; 8 * contract::WEIGHED_SLOTS];
        let globals = [
            (contract::GLOBAL_MARKERS, &markers[..]),
            (contract::GLOBAL_PT_REGS_ARGS, &offsets[..]),
            (contract::GLOBAL_ABI_PROBE, &probe[..]),
            (contract::GLOBAL_KERNEL_OFFSETS, &kernel[..]),
            (contract::GLOBAL_KPROBE_ARGS, &kprobe[..]),
            (contract::GLOBAL_USER_REGS, &user_regs[..]),
            (contract::GLOBAL_WEIGHED_CALLS, &weighed[..]),
        ]
        .into_iter()
        .map(|(name, bytes)| (name, (bytes, true)))
        .collect();
        obj.patch_map_data(globals)
            .expect("globals present with u64 size");
    }

    /// What a first tracer verifies side by side: every raw tracepoint program it will
    /// attach, and no other.
    #[test]
    fn first_loads_are_the_programs_attached_at_a_raw_tracepoint() {
        let all = first_loads(AttachPoint::RawTracepoint, &None);
        assert_eq!(all.len(), 5, "{all:?}");
        assert!(all.contains(&contract::PROG_RAW_TRACEPOINT));
        assert!(all.contains(&contract::PROG_CAP_TRACEPOINT));
        let bare = first_loads(AttachPoint::Tracepoint, &Some("no BTF".into()));
        assert_eq!(bare, [contract::PROG_TASK_EXIT, contract::PROG_TASK_FORK]);
    }

    #[test]
    fn bitmap_is_a_power_of_two_byte_per_syscall() {
        assert!(SYSCALL_SLOTS.is_power_of_two());
        assert_eq!(size_of::<Seen>(), SYSCALL_SLOTS);
    }

    #[test]
    fn map_names_fit_the_kernels_limit() {
        // The kernel keeps 15 bytes of a name; a longer one would not be found by ID.
        for name in MAPS.iter().chain(&CAP_MAPS).chain(&TRACEPOINT_MAPS) {
            assert!(name.len() <= 15, "{name}");
        }
        for name in contract::ALL_PROGRAMS {
            assert!(name.len() <= 15, "{name}");
        }
    }
}
