//! Attaches the loaded eBPF object (see [`loader`]) to `sys_enter` for one PID namespace, and
//! reads back the set of syscall numbers that namespace has made. Dropping the [`Recorder`]
//! detaches it.

use aya::{
    maps::{Array, MapError, PerCpuArray},
    programs::{ProgramError, RawTracePoint, TracePoint},
    Ebpf, EbpfError,
};
use std::time::{Duration, Instant};

use aya_log::EbpfLogger;
use tokio::{io::unix::AsyncFd, task::JoinHandle};

use crate::{
    container::Container,
    contract::{self, Seen, SYSCALL_SLOTS},
    loader,
    syscall_table::{name_all, Arch},
};

// SAFETY: `Seen` is `repr(C)`, has no padding and every byte pattern is valid.
unsafe impl aya::Pod for Seen {}

/// Where on the syscall-entry path the program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AttachPoint {
    /// `BPF_RAW_TRACEPOINT_OPEN` on `sys_enter`: no tracefs needed.
    RawTracepoint,
    /// The `raw_syscalls:sys_enter` trace event: needs tracefs mounted.
    Tracepoint,
}

/// From when the container's syscalls count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Everything its init process (all threads) and their descendants do from the moment of
    /// attaching (`record`: the command is held before execve).
    Everything,
    /// Each task from the moment it runs under the container's filter (or starts the workload
    /// where none is expected): the runtime's own set-up (mounts, pivot_root, sethostname), its
    /// hooks and its threads that never carry the filter are left out.
    Workload,
}

/// Which program of the object to attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// Records syscalls of the target namespace.
    Recorder,
    /// Returns at once: the cost floor of the attach point, for the benchmark only.
    #[cfg(feature = "bench")]
    Empty,
}

impl Program {
    fn name(self, point: AttachPoint) -> &'static str {
        match (self, point) {
            (Program::Recorder, AttachPoint::RawTracepoint) => contract::PROG_RAW_TRACEPOINT,
            (Program::Recorder, AttachPoint::Tracepoint) => contract::PROG_TRACEPOINT,
            #[cfg(feature = "bench")]
            (Program::Empty, AttachPoint::RawTracepoint) => contract::PROG_EMPTY_RAW_TRACEPOINT,
            #[cfg(feature = "bench")]
            (Program::Empty, AttachPoint::Tracepoint) => contract::PROG_EMPTY_TRACEPOINT,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error("cannot load the eBPF object")]
    Load(#[source] EbpfError),
    #[error("the eBPF object has no {0}; rebuild it with `cargo xtask build`")]
    Contract(&'static str),
    #[error("cannot load or attach eBPF program {name}")]
    Program {
        name: &'static str,
        #[source]
        source: ProgramError,
    },
    #[error(
        "tracefs is not mounted, and the tracepoint needs it: mount it with \
         `mount -t tracefs nodev /sys/kernel/tracing`, or use --attach raw-tracepoint"
    )]
    NoTracefs,
    #[error("cannot read eBPF map {name}")]
    Map {
        name: &'static str,
        #[source]
        source: MapError,
    },
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
                "{} tasks of the container could not be followed (more than {} at once); \
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

/// A loaded and attached program. Must be created inside a tokio runtime: eBPF-side log
/// records are forwarded to `log` by a task on it.
pub struct Recorder {
    ebpf: Ebpf,
    log_forwarder: Option<JoinHandle<()>>,
    timings: AttachTimings,
}

/// Where the time of [`Recorder::attach`] went, so the next optimisation is visible.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttachTimings {
    /// Creating aya's loader (see [`loader`]: kernel BTF hidden).
    pub loader: Duration,
    /// Parsing the object, creating its maps, setting the globals.
    pub object: Duration,
    /// `BPF_PROG_LOAD` of each attached program: mostly the verifier.
    pub verify: Duration,
    /// Opening the links.
    pub attach: Duration,
}

impl Recorder {
    /// Loads the object for `container` and attaches `program` at `point`.
    pub fn attach(
        container: &Container,
        window: Window,
        point: AttachPoint,
        program: Program,
    ) -> Result<Self, RecorderError> {
        let mut timings = AttachTimings::default();
        let mut ebpf = loader::load(container, &mut timings).map_err(RecorderError::Load)?;
        let mut clock = Instant::now();
        if window == Window::Everything {
            mark_whole_process(&mut ebpf, container.init)?;
        }
        let log_forwarder = spawn_log_forwarder(&mut ebpf);
        timings.object += lap(&mut clock);
        if program == Program::Recorder {
            // Before the recorder: its per-CPU memo is only sound while exits are counted,
            // and a child forked in between would not be followed.
            for (name, tracepoint) in [
                (contract::PROG_TASK_EXIT, contract::EXIT_TRACEPOINT_NAME),
                (contract::PROG_TASK_FORK, contract::FORK_TRACEPOINT_NAME),
            ] {
                attach_raw(&mut ebpf, name, tracepoint, &mut timings)?;
            }
        }
        attach_program(&mut ebpf, program.name(point), point, &mut timings)?;
        Ok(Self {
            ebpf,
            log_forwarder,
            timings,
        })
    }

    /// How long each phase of [`Recorder::attach`] took.
    pub fn timings(&self) -> AttachTimings {
        self.timings
    }

    /// The syscalls recorded up to now (the program stays attached).
    pub fn snapshot(&self) -> Result<Snapshot, RecorderError> {
        let seen = self.map(contract::MAP_SEEN)?;
        let seen: Array<_, Seen> = Array::try_from(seen).map_err(map_err(contract::MAP_SEEN))?;
        let mut syscalls: [Vec<u32>; contract::ABI_COUNT as usize] = Default::default();
        for (abi, numbers) in (0..contract::ABI_COUNT).zip(&mut syscalls) {
            let table = seen.get(&abi, 0).map_err(map_err(contract::MAP_SEEN))?;
            *numbers = (0..SYSCALL_SLOTS as u32)
                .filter(|&nr| table.slots[nr as usize] != 0)
                .collect();
        }

        let out = self.map(contract::MAP_OUT_OF_RANGE)?;
        let out: PerCpuArray<_, u64> =
            PerCpuArray::try_from(out).map_err(map_err(contract::MAP_OUT_OF_RANGE))?;
        let per_cpu = out
            .get(&0, 0)
            .map_err(map_err(contract::MAP_OUT_OF_RANGE))?;
        let lost = self.map(contract::MAP_LOST)?;
        let lost: PerCpuArray<_, u64> =
            PerCpuArray::try_from(lost).map_err(map_err(contract::MAP_LOST))?;
        let lost = lost.get(&0, 0).map_err(map_err(contract::MAP_LOST))?;
        Ok(Snapshot {
            syscalls,
            out_of_range: per_cpu.iter().sum(),
            lost: lost.iter().sum(),
        })
    }

    /// True once the record window has opened (always, for [`Window::Everything`]).
    pub fn window_opened(&self) -> Result<bool, RecorderError> {
        let map = self.map(contract::MAP_STATE)?;
        let state: Array<_, u32> = Array::try_from(map).map_err(map_err(contract::MAP_STATE))?;
        let value = state
            .get(&contract::STATE_WINDOW, 0)
            .map_err(map_err(contract::MAP_STATE))?;
        Ok(value == contract::STATE_RECORDING)
    }

    fn map(&self, name: &'static str) -> Result<&aya::maps::Map, RecorderError> {
        self.ebpf.map(name).ok_or(RecorderError::Contract(name))
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(task) = self.log_forwarder.take() {
            task.abort();
        }
        // Dropping `ebpf` afterwards closes the link and program fds: that detaches.
    }
}

/// `record`: the command's process is a member before it runs, and the window is open.
fn mark_whole_process(ebpf: &mut Ebpf, tgid: u32) -> Result<(), RecorderError> {
    let map = ebpf
        .map_mut(contract::MAP_TRACED_GROUPS)
        .ok_or(RecorderError::Contract(contract::MAP_TRACED_GROUPS))?;
    let mut groups: aya::maps::HashMap<_, u32, u8> =
        aya::maps::HashMap::try_from(map).map_err(map_err(contract::MAP_TRACED_GROUPS))?;
    groups
        .insert(tgid, 1, 0)
        .map_err(map_err(contract::MAP_TRACED_GROUPS))?;
    let map = ebpf
        .map_mut(contract::MAP_STATE)
        .ok_or(RecorderError::Contract(contract::MAP_STATE))?;
    let mut state: Array<_, u32> = Array::try_from(map).map_err(map_err(contract::MAP_STATE))?;
    for index in [contract::STATE_GROUPS, contract::STATE_WINDOW] {
        state
            .set(index, contract::STATE_RECORDING, 0)
            .map_err(map_err(contract::MAP_STATE))?;
    }
    Ok(())
}

fn map_err(name: &'static str) -> impl Fn(MapError) -> RecorderError {
    move |source| RecorderError::Map { name, source }
}

/// The time since `clock`, which moves to now.
pub(crate) fn lap(clock: &mut Instant) -> Duration {
    let now = Instant::now();
    let elapsed = now - *clock;
    *clock = now;
    elapsed
}

fn attach_program(
    ebpf: &mut Ebpf,
    name: &'static str,
    point: AttachPoint,
    timings: &mut AttachTimings,
) -> Result<(), RecorderError> {
    match point {
        AttachPoint::RawTracepoint => attach_raw(ebpf, name, contract::TRACEPOINT_NAME, timings)?,
        AttachPoint::Tracepoint => {
            let err = |source| RecorderError::Program { name, source };
            let program = ebpf
                .program_mut(name)
                .ok_or(RecorderError::Contract(name))?;
            if !tracefs_mounted() {
                return Err(RecorderError::NoTracefs);
            }
            let p: &mut TracePoint = program.try_into().map_err(err)?;
            let mut clock = Instant::now();
            p.load().map_err(err)?;
            timings.verify += lap(&mut clock);
            p.attach(contract::TRACEPOINT_CATEGORY, contract::TRACEPOINT_NAME)
                .map_err(err)?;
            timings.attach += lap(&mut clock);
        }
    }
    Ok(())
}

fn attach_raw(
    ebpf: &mut Ebpf,
    name: &'static str,
    tracepoint: &str,
    timings: &mut AttachTimings,
) -> Result<(), RecorderError> {
    let err = |source| RecorderError::Program { name, source };
    let program = ebpf
        .program_mut(name)
        .ok_or(RecorderError::Contract(name))?;
    let p: &mut RawTracePoint = program.try_into().map_err(err)?;
    let mut clock = Instant::now();
    p.load().map_err(err)?;
    timings.verify += lap(&mut clock);
    p.attach(tracepoint).map_err(err)?;
    timings.attach += lap(&mut clock);
    Ok(())
}

fn tracefs_mounted() -> bool {
    [
        "/sys/kernel/tracing/events",
        "/sys/kernel/debug/tracing/events",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).is_dir())
}

/// Forwards the program's rare log records (errors, out-of-range numbers) to `log`.
/// Logging is best effort: a failure here is reported and recording goes on.
fn spawn_log_forwarder(ebpf: &mut Ebpf) -> Option<JoinHandle<()>> {
    let logger = match EbpfLogger::init(ebpf) {
        Ok(logger) => logger,
        Err(e) => {
            log::warn!("eBPF log records will not be shown: {e}");
            return None;
        }
    };
    // SAFETY: the logger owns its ring buffer fd, which stays open until the logger drops.
    let registered =
        unsafe { AsyncFd::register_with_interest(logger, tokio::io::Interest::READABLE) };
    let mut logger = match registered {
        Ok(fd) => fd,
        Err(e) => {
            log::warn!("eBPF log records will not be shown: {e}");
            return None;
        }
    };
    Some(tokio::spawn(async move {
        while let Ok(mut guard) = logger.readable_mut().await {
            guard.get_inner_mut().flush();
            guard.clear_ready();
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Verdict;

    /// The embedded object must carry every name the contract promises, with the sizes this
    /// side reads. Parsing the ELF needs no privileges, so this runs everywhere.
    #[test]
    fn object_matches_the_contract() {
        let mut obj = aya_obj::Object::parse(loader::OBJECT).expect("embedded object parses");
        for name in contract::ALL_PROGRAMS {
            assert!(obj.programs.contains_key(name), "program {name} missing");
        }
        let seen = &obj.maps[contract::MAP_SEEN];
        assert_eq!(seen.value_size() as usize, std::mem::size_of::<Seen>());
        assert_eq!(seen.max_entries(), contract::ABI_COUNT);
        let state = &obj.maps[contract::MAP_STATE];
        assert_eq!(state.value_size() as usize, std::mem::size_of::<u32>());
        let verdict = &obj.maps[contract::MAP_VERDICT];
        assert_eq!(
            verdict.value_size() as usize,
            std::mem::size_of::<Verdict>()
        );
        assert_eq!(state.max_entries(), contract::STATE_SLOTS);
        let traced = &obj.maps[contract::MAP_TRACED];
        assert_eq!(traced.key_size(), 8, "task_struct address");
        assert_eq!(traced.max_entries(), contract::TRACED_SLOTS);
        let groups = &obj.maps[contract::MAP_TRACED_GROUPS];
        assert_eq!(groups.key_size(), 4, "TGID");
        assert_eq!(groups.max_entries(), contract::TRACED_GROUP_SLOTS);
        for name in [contract::MAP_EPOCH, contract::MAP_LOST] {
            let map = &obj.maps[name];
            assert_eq!(
                map.value_size() as usize,
                std::mem::size_of::<u64>(),
                "{name}"
            );
        }
        let out = &obj.maps[contract::MAP_OUT_OF_RANGE];
        assert_eq!(out.value_size() as usize, std::mem::size_of::<u64>());
        // The same patching the loader does: fails if a global is missing or not a u64.
        let value = 0u64.to_ne_bytes();
        let markers = [0u8; 8 * contract::MARKER_COUNT];
        let offsets = [0u8; 8 * 3];
        let probe = [0u8; 8 * contract::ABI_PROBE_SLOTS];
        let globals = [
            (contract::GLOBAL_INIT_TGID, &value[..]),
            (contract::GLOBAL_CGROUP_ID, &value[..]),
            (contract::GLOBAL_OPENERS, &value[..]),
            (contract::GLOBAL_MARKERS, &markers[..]),
            (contract::GLOBAL_PT_REGS_ARGS, &offsets[..]),
            (contract::GLOBAL_ABI_PROBE, &probe[..]),
        ]
        .into_iter()
        .map(|(name, bytes)| (name, (bytes, true)))
        .collect();
        obj.patch_map_data(globals)
            .expect("globals present with u64 size");
    }

    #[test]
    fn bitmap_is_a_power_of_two_byte_per_syscall() {
        assert!(SYSCALL_SLOTS.is_power_of_two());
        assert_eq!(std::mem::size_of::<Seen>(), SYSCALL_SLOTS);
    }
}
