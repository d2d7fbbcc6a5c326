//! The kernel/userspace contract of oci-seccomp-bpf-hook: the names, sizes and map value types
//! that the eBPF program (`hook-ebpf`) and userspace (`hook`, the tests) both compile from this
//! one crate. `hook`'s `object_matches_the_contract` test checks the built object against it,
//! and `hook`'s build script refuses an object older than this crate or the program.
//!
//! `no_std` and dependency-free for the kernel side; the `user` feature adds the `aya::Pod`
//! impls userspace needs, beside their types (aya-template's `-common` pattern).
#![no_std]

/// Number of syscall slots in the `SEEN` map. Every native syscall number on x86_64 and aarch64
/// is far below this (both tables end under 500); anything at or above it is counted in
/// `OUT_OF_RANGE` instead of being dropped.
pub const SYSCALL_SLOTS: usize = 1024;

/// Raw tracepoint program on `sys_enter` (works without tracefs).
pub const PROG_RAW_TRACEPOINT: &str = "sys_enter_raw";
/// Classic tracepoint program on `raw_syscalls:sys_enter` (needs tracefs).
pub const PROG_TRACEPOINT: &str = "sys_enter_tp";
/// Programs that do nothing, on the same attach points: the floor the benchmarks compare against.
pub const PROG_EMPTY_RAW_TRACEPOINT: &str = "empty_raw";
pub const PROG_EMPTY_TRACEPOINT: &str = "empty_tp";

/// Every program in the object, for checks that all of them are there (or all gone).
pub const ALL_PROGRAMS: [&str; 10] = [
    PROG_RAW_TRACEPOINT,
    PROG_TRACEPOINT,
    PROG_EMPTY_RAW_TRACEPOINT,
    PROG_EMPTY_TRACEPOINT,
    PROG_TASK_EXIT,
    PROG_TASK_FORK,
    PROG_TASK_EXEC,
    PROG_CAP_TRACEPOINT,
    PROG_CAP_FEXIT,
    PROG_CAP_KPROBE,
];

/// Raw tracepoint program on `sched_process_exit`: forgets the task, moves [`NODE_EPOCH`].
pub const PROG_TASK_EXIT: &str = "task_exit";
pub const EXIT_TRACEPOINT_NAME: &str = "sched_process_exit";
/// Raw tracepoint program on `sched_process_fork`: children (and threads) of members join
/// [`MAP_TRACED`].
pub const PROG_TASK_FORK: &str = "task_fork";
pub const FORK_TRACEPOINT_NAME: &str = "sched_process_fork";
/// Raw tracepoint program on `sched_process_exec`: a member's successful execve starts its
/// workload ([`TRACED_STARTED`]), and the executed file's name is kept ([`MAP_EXECS`]).
/// Attached with a capability program only: nothing else needs it.
pub const PROG_TASK_EXEC: &str = "task_exec";
pub const EXEC_TRACEPOINT_NAME: &str = "sched_process_exec";

/// How capability checks are seen, in the order they are tried: the raw tracepoint
/// `capability:cap_capable` (Linux 6.14+; no audit option), else fexit on `security_capable`
/// (BPF trampolines; has the options), else a kprobe on `cap_capable` (arm64 before 6.4,
/// whose trampolines cannot attach to kernel functions; has the options, and the verdict is
/// read from the credentials). Each writes [`MAP_CAPS`].
pub const PROG_CAP_TRACEPOINT: &str = "cap_capable";
pub const CAP_TRACEPOINT_NAME: &str = "cap_capable";
pub const PROG_CAP_FEXIT: &str = "cap_fexit";
pub const CAP_FEXIT_FUNCTION: &str = "security_capable";
pub const PROG_CAP_KPROBE: &str = "cap_kprobe";
pub const CAP_KPROBE_FUNCTION: &str = "cap_capable";
/// Read-only global `[u64; KPROBE_ARG_SLOTS]`: byte offsets in `struct pt_regs` of a kernel
/// function's arguments 0..=3 at its entry (the kprobe's context); arch-specific, so set by
/// userspace.
pub const GLOBAL_KPROBE_ARGS: &str = "KPROBE_ARGS";
pub const KPROBE_ARG_SLOTS: usize = 4;
/// `CAP_OPT_NOAUDIT` of `security_capable`'s options (include/linux/security.h).
pub const CAP_OPT_NOAUDIT: u64 = 1 << 1;

/// Array map of [`CapsSeen`], one per container slot.
pub const MAP_CAPS: &str = "CAPS";
/// Capability numbers recorded (the kernel has 41, `CAP_LAST_CAP` 40); a higher one is ignored.
pub const CAP_SLOTS: usize = 64;

/// What a container's started tasks were checked for, one byte per capability number, each
/// set once (as in [`Seen`]): a check counts only for a task whose workload started
/// ([`TRACED_STARTED`]), under its own credentials (`cred == task->real_cred`), against the
/// container's own user namespace (target and the credentials' namespace both
/// [`ContainerSlot::user_ns`]).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CapsSeen {
    /// Granted (and not quiet).
    pub granted: [u8; CAP_SLOTS],
    /// Denied (and not quiet): the workload ran without it.
    pub denied: [u8; CAP_SLOTS],
    /// `CAP_OPT_NOAUDIT` checks, whatever their verdict (fexit only: the tracepoint has no
    /// options).
    pub quiet: [u8; CAP_SLOTS],
    /// Checks whose verdict the kernel did not use in that call, whatever it was (see
    /// [`WEIGHED_CALLS`]): the workload would have done the same without the capability.
    pub unused: [u8; CAP_SLOTS],
}

// SAFETY: `repr(C)` bytes with no padding; every byte pattern is a valid value.
#[cfg(feature = "user")]
unsafe impl aya::Pod for CapsSeen {}

/// Per-CPU array map of one `u64` per slot: the capabilities a started member's capset added to
/// its inheritable set, a bit each (see [`WEIGHED_CALLS`]); userspace ORs the CPUs' words into
/// the needed set. A word rather than [`CapsSeen`]'s bytes: setting up to 64 bytes took a loop
/// that cost the verifier more than the rest of the program.
pub const MAP_CAPS_RAISED: &str = "CAPS_RAISED";

/// Array map of one [`CapCalibration`]: how to tell the kernel's quiet overcommit check
/// (`cap_vm_enough_memory` asks for CAP_SYS_ADMIN with NOAUDIT on every writable private
/// mapping, straight into `cap_capable`) from a real CAP_SYS_ADMIN check on the tracepoint,
/// which carries no options. The loading tracer makes one check of each kind itself; the
/// stacks first differ at depth `depth`, where the quiet one returns into `quiet_ip`.
pub const MAP_CAP_CALIBRATION: &str = "CAP_CAL";
pub const CAP_STACK_DEPTH: usize = 8;
pub const CAP_SETUID: u64 = 7;
pub const CAP_SYS_ADMIN: u64 = 21;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct CapCalibration {
    /// The calibrating thread (host TID), 0 outside calibration: its checks are not recorded
    /// but their stacks kept below.
    pub tid: u64,
    /// The stack of its CAP_SETUID check (`setuid(getuid())`, through `security_capable`).
    pub normal: [u64; CAP_STACK_DEPTH],
    /// The stack of its quiet CAP_SYS_ADMIN check (a writable private mapping).
    pub quiet: [u64; CAP_STACK_DEPTH],
    /// Set by userspace from the two stacks; `quiet_ip` 0 means "cannot tell".
    pub depth: u64,
    pub quiet_ip: u64,
}

// SAFETY: `repr(C)` of `u64`s only, no padding; every byte pattern is a valid value.
#[cfg(feature = "user")]
unsafe impl aya::Pod for CapCalibration {}

/// Hash map of [`ExecKey`] -> 1: the files the started tasks of each container executed
/// (the name given to execve), so userspace can read their file capabilities. Not
/// preallocated: it costs memory only for the names it holds. A container keeps at most
/// [`EXEC_QUOTA`] names, so that a neighbour running many programs (a build) cannot take
/// another's room; a name that cannot be kept is counted in its container's
/// [`MAP_EXEC_COUNTS`] entry ([`Kept::lost`]), and its capability report says so.
pub const MAP_EXECS: &str = "EXECS";
pub const EXEC_SLOTS: u32 = 16384;
/// Distinct executed names kept per container: [`EXEC_SLOTS`] holds sixteen containers at
/// their quota.
pub const EXEC_QUOTA: u64 = 1024;
/// Array map of [`Kept`], one per container slot: its names in [`MAP_EXECS`].
pub const MAP_EXEC_COUNTS: &str = "EXEC_COUNTS";
pub const EXEC_PATH_LEN: usize = 252;
pub const BPF_F_NO_PREALLOC: u32 = 1;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct ExecKey {
    pub slot: u32,
    /// NUL-terminated (and NUL-padded): the whole key is hashed.
    pub path: [u8; EXEC_PATH_LEN],
}

// SAFETY: `repr(C)` of a u32 and bytes, no padding; every byte pattern is a valid value.
#[cfg(feature = "user")]
unsafe impl aya::Pod for ExecKey {}

/// Read-only global `[u64; OFFSET_SLOTS]`: byte offsets of kernel struct fields, read by
/// userspace from the kernel's BTF when the capability programs load; [`OFFSET_FOUND`] is 0
/// when they could not be read, and then no check is recorded.
pub const GLOBAL_KERNEL_OFFSETS: &str = "KERNEL_OFFSETS";
/// `task_struct.real_cred`.
pub const OFFSET_REAL_CRED: usize = 0;
/// `cred.user_ns`.
pub const OFFSET_CRED_USER_NS: usize = 1;
/// `user_namespace.ns.inum`: the namespace's inode number, as `/proc/PID/ns/user` shows it.
pub const OFFSET_NS_INUM: usize = 2;
/// `linux_binprm.filename`.
pub const OFFSET_BPRM_FILENAME: usize = 3;
/// `cred.cap_effective` (64 bits: `u32 cap[2]` before 6.3, `u64 val` since).
pub const OFFSET_CRED_CAP_EFFECTIVE: usize = 4;
/// `task_struct.nsproxy`, `nsproxy.mnt_ns` and `mnt_namespace.ns.inum`: a task's mount
/// namespace, as `/proc/PID/ns/mnt` names it (see [`MAP_MNT_NAMESPACES`]).
pub const OFFSET_TASK_NSPROXY: usize = 5;
pub const OFFSET_NSPROXY_MNT_NS: usize = 6;
pub const OFFSET_MNT_NS_INUM: usize = 7;
/// `cred.cap_inheritable` and `cred.cap_permitted` (64 bits, as `cap_effective`): what
/// capset(2)'s CAP_SETPCAP check is weighed against (see [`WEIGHED_CALLS`]).
pub const OFFSET_CRED_CAP_INHERITABLE: usize = 8;
pub const OFFSET_CRED_CAP_PERMITTED: usize = 9;
pub const OFFSET_FOUND: usize = 10;
pub const OFFSET_SLOTS: usize = 11;

/// Read-only globals that read the system call a task is in from its saved user registers,
/// where a capability check inside it is weighed against what the call asked (see
/// [`CapsSeen::unused`]). `[u64; USER_REGS_SLOTS]`: [`USER_REGS_NR`], the byte offset in
/// `struct pt_regs` of the number (`orig_ax`, `syscallno`); [`USER_REGS_NATIVE_ARGS`] and
/// [`USER_REGS_COMPAT_ARGS`], the offsets of arguments 0..=2 for each ABI. All 0 (the default):
/// never read, every check counts by its verdict.
pub const GLOBAL_USER_REGS: &str = "USER_REGS";
pub const USER_REGS_NR: usize = 0;
pub const USER_REGS_NATIVE_ARGS: usize = 1;
pub const USER_REGS_COMPAT_ARGS: usize = 4;
pub const USER_REGS_SLOTS: usize = 7;
/// `[u64; WEIGHED_SLOTS]`: the numbers of [`WEIGHED_CALLS`] in the native table, then in the
/// compat one (`u64::MAX`: the ABI has no such call).
pub const GLOBAL_WEIGHED_CALLS: &str = "WEIGHED_CALLS";
/// The calls whose checks are weighed: capset's CAP_SETPCAP (`cap_capset` asks
/// `cap_inh_is_capped()` on every call, and uses the answer only when the new inheritable set
/// exceeds the old inheritable | permitted sets; the capabilities it adds to the inheritable
/// set must be in the bounding set, with no check at all), and the chmod family's CAP_FSETID
/// (`setattr_prepare` and `setattr_copy` ask `in_group_or_capable()` of a caller outside the
/// file's group, and use the answer only to clear S_ISGID from the new mode).
pub const WEIGHED_CALLS: [&str; WEIGHED_COUNT] =
    ["capset", "chmod", "fchmod", "fchmodat", "fchmodat2"];
pub const CALL_CAPSET: usize = 0;
pub const CALL_CHMOD: usize = 1;
pub const CALL_FCHMOD: usize = 2;
pub const CALL_FCHMODAT: usize = 3;
pub const CALL_FCHMODAT2: usize = 4;
pub const WEIGHED_COUNT: usize = 5;
pub const WEIGHED_SLOTS: usize = 2 * WEIGHED_COUNT;
pub const CAP_FSETID: u64 = 4;
pub const S_ISGID: u64 = 0o2000;
pub const CAP_SETPCAP: u64 = 8;
/// `_LINUX_CAPABILITY_VERSION_1`: one 32-bit word per set; later versions have two.
pub const CAPABILITY_VERSION_1: u32 = 0x1998_0330;

/// Hash map, mount namespace inode number -> slot, for containers without a cgroup of their
/// own (crun `--cgroups=disabled`, a runtime that leaves them in its own cgroup): a process
/// that installs the container's filter from inside its mount namespace (`podman exec`
/// after its `setns`) joins it, as one in its cgroup would. Nothing the runtime starts for
/// another container is in that namespace.
pub const MAP_MNT_NAMESPACES: &str = "MNT_NAMESPACES";

/// The syscall-entry tracepoint: `sys_enter` as a raw tracepoint, `raw_syscalls:sys_enter` as
/// a trace event (the recorder and the empty programs, one per attach point).
pub const TRACEPOINT_CATEGORY: &str = "raw_syscalls";
pub const TRACEPOINT_NAME: &str = "sys_enter";

/// How many containers one node can trace at once: every traced container on the node holds
/// one slot of the shared maps (see [`MAP_CONTAINERS`]) for as long as its tracer lives.
pub const CONTAINER_SLOTS: u32 = 256;

/// Array map of [`ContainerSlot`], one per slot: what the programs need to know of each traced
/// container. Written by the container's tracer when it registers (nothing of that slot runs
/// yet); afterwards the programs write only [`ContainerSlot::window`].
pub const MAP_CONTAINERS: &str = "CONTAINERS";

/// Array map of [`Seen`], one per slot and ABI (index `slot * ABI_COUNT + ABI_*`): byte `n` is
/// 1 once syscall `n` was made through that ABI by a task of that slot's container.
pub const MAP_SEEN: &str = "SEEN";
/// The ABIs a syscall can come through, each numbered from its own table.
pub const ABI_NATIVE: u32 = 0;
/// i386 on x86_64 (32-bit tasks, and `int 0x80` from 64-bit ones); arm (AArch32) on aarch64.
pub const ABI_COMPAT: u32 = 1;
/// x32 on x86_64: numbers carrying [`X32_SYSCALL_BIT`], recorded without it.
pub const ABI_X32: u32 = 2;
pub const ABI_COUNT: u32 = 3;
pub const X32_SYSCALL_BIT: u64 = 0x4000_0000;
/// Read-only global `[u64; ABI_PROBE_SLOTS]`: how to tell the ABI of a syscall, set by userspace for this
/// architecture and kernel: [`ABI_PROBE_OFFSET`], the byte offset in `task_struct` of a word
/// (x86_64: `thread_info.status`; aarch64: `thread_info.flags`); [`ABI_PROBE_MASK`], the bit
/// of that word that marks a compat syscall (`TS_COMPAT`; `TIF_32BIT`), 0 for none;
/// [`ABI_PROBE_X32`], the x32 bit of the number, 0 where there is no x32;
/// [`ABI_PROBE_PRIVATE`], the first number of the compat ABI's private calls (AArch32's
/// `__ARM_NR_BASE`, 0xf0000: breakpoint, cacheflush, usr26, usr32, set_tls, get_tls), 0 where
/// there are none: those [`COMPAT_PRIVATE_SLOTS`] numbers are recorded from
/// [`COMPAT_PRIVATE_FIRST`] on, slots no compat table uses.
pub const GLOBAL_ABI_PROBE: &str = "ABI_PROBE";
pub const ABI_PROBE_OFFSET: usize = 0;
pub const ABI_PROBE_MASK: usize = 1;
pub const ABI_PROBE_X32: usize = 2;
/// [`ABI_PROBE_MODE`]: how the word is read. [`PROBE_READ`] copies it with
/// `bpf_probe_read_kernel` (any kernel); [`PROBE_BTF_X86_64`] and [`PROBE_BTF_AARCH64`] load
/// it directly through `bpf_get_current_task_btf` (5.11+: cheaper, but the verifier wants a
/// constant offset, so each layout has its own branch; the unused ones are pruned as dead
/// code, which is what lets older kernels load the object).
pub const ABI_PROBE_MODE: usize = 3;
pub const ABI_PROBE_PRIVATE: usize = 4;
pub const ABI_PROBE_SLOTS: usize = 5;
pub const COMPAT_PRIVATE_SLOTS: u64 = 8;
pub const COMPAT_PRIVATE_FIRST: u64 = SYSCALL_SLOTS as u64 - COMPAT_PRIVATE_SLOTS;
/// AArch32's private calls start here (`__ARM_NR_BASE`).
pub const ARM_PRIVATE_BASE: u64 = 0x0f_0000;
pub const PROBE_READ: u64 = 0;
pub const PROBE_BTF_X86_64: u64 = 1;
pub const PROBE_BTF_AARCH64: u64 = 2;
/// Per-CPU array maps of one `u64` per slot: syscalls whose number was `>= SYSCALL_SLOTS`
/// ([`MAP_OUT_OF_RANGE`]), and tasks that could not be followed because [`MAP_TRACED`] was full
/// ([`MAP_LOST`]). Per CPU, so counting needs no atomics; the tracer sums them.
pub const MAP_OUT_OF_RANGE: &str = "OUT_OF_RANGE";
pub const MAP_LOST: &str = "LOST";

/// What "a container" is: the tasks in [`MAP_TRACED`] (keyed by `task_struct` address, valued
/// by slot), and every thread of the processes in [`MAP_TRACED_GROUPS`] (host TGID -> slot). A
/// task joins when it starts running under its container's seccomp filter (see
/// [`ContainerSlot::openers`]), or when a member forks it (threads too); it leaves when it
/// exits. Neighbours in a shared PID namespace, the host (`--pid=host`), runtime hooks and
/// runtime threads that never carry the filter are never members, whatever namespace they
/// share; nested PID namespaces are followed by fork. One for the whole node, not
/// preallocated (memory is taken per member), its size set by the loader from the node's
/// `kernel.threads-max` and `kernel.pid_max` (the object's [`TRACED_SLOTS`] when neither can be
/// read): no more tasks can exist at once, so no container can fill it for another.
pub const MAP_TRACED: &str = "TRACED";
pub const TRACED_SLOTS: u32 = 65536;
/// Set in a [`MAP_TRACED`] value once the task (or the task it was forked from) executed its
/// workload; the rest of the value is the slot. Only capability checks look at it: the
/// runtime's own work between the filter install and the workload's execve (capset,
/// setgroups, setuid, setgid) never counts.
pub const TRACED_STARTED: u32 = 1 << 31;
pub const TRACED_SLOT_MASK: u32 = !TRACED_STARTED;
/// Whole processes: seccomp(2) with `SECCOMP_FILTER_FLAG_TSYNC` (every thread gets the filter),
/// and `record`'s command, which userspace marks before it runs.
pub const MAP_TRACED_GROUPS: &str = "TRACED_GROUPS";
pub const TRACED_GROUP_SLOTS: u32 = 1024;
/// Hash maps from what a task that is not yet a member may be, to the slot of the container
/// that would take it: the container's init (host TGID, `u32 -> u32`), and the container's own
/// cgroup v2 ID (`u64 -> u32`; a later process there is `runc exec`, `podman exec`, an exec
/// probe). Consulted only on the few syscalls that may open a window (see [`GLOBAL_MARKERS`]).
pub const MAP_INITS: &str = "INITS";
pub const MAP_CGROUPS: &str = "CGROUPS";

/// Array map of `u64`s shared by every container on the node.
pub const MAP_NODE: &str = "NODE";
pub const NODE_SLOTS: u32 = 3;
/// The epoch: moved by every task exit on the host (an atomic add), by every task that joins
/// other than by fork (its old answer may sit in any CPU's memo), and by a tracer that changed
/// memberships from userspace (it sets a value never used before, see [`USER_EPOCH_STEP`]). A
/// [`Verdict`] is trusted only while it is unchanged: an exit may hand a kernel stack (or task)
/// to a later task.
pub const NODE_EPOCH: u32 = 0;
/// Non-zero once [`MAP_TRACED_GROUPS`] was ever written: before that, nobody pays its lookup.
pub const NODE_GROUPS: u32 = 1;
/// Non-zero once [`MAP_MNT_NAMESPACES`] was ever written: before that, no join reads a task's
/// namespaces.
pub const NODE_MNT_NAMESPACES: u32 = 2;
/// Userspace moves the epoch to the next multiple of this. It cannot add atomically, but a
/// value in a fresh upper half was never seen by any memo, whatever the kernel added meanwhile.
pub const USER_EPOCH_STEP: u64 = 1 << 32;

/// Per-CPU array map with one [`Verdict`]: the membership of the task that last made a syscall
/// on this CPU.
pub const MAP_VERDICT: &str = "VERDICT";

/// What opens a task's window ([`ContainerSlot::openers`], a set of these bits).
/// The runtime installs the container's seccomp filter (the bundle has `linux.seccomp`).
pub const OPEN_AT_FILTER: u64 = 1;
/// No filter is expected: the init's own execve of the workload opens its window, and later
/// the execve of a process in the container's cgroup (once the init's window is open).
pub const OPEN_AT_EXEC: u64 = 2;

/// Read-only global `[u64; MARKER_COUNT]`: the native numbers of the syscalls that may open a
/// task's window (indices below). Set by userspace, which knows the architecture.
pub const GLOBAL_MARKERS: &str = "MARKERS";
pub const MARKER_COUNT: usize = 4;
pub const MARKER_PRCTL: usize = 0;
pub const MARKER_SECCOMP: usize = 1;
pub const MARKER_EXECVE: usize = 2;
pub const MARKER_EXECVEAT: usize = 3;
/// The filter install: `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog)` (runc 1.1) or
/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)` with a non-NULL prog (libseccomp's feature
/// probes pass NULL, long before pivot_root).
pub const PR_SET_SECCOMP: u64 = 22;
pub const SECCOMP_MODE_FILTER: u64 = 2;
pub const SECCOMP_SET_MODE_FILTER: u64 = 1;
pub const SECCOMP_FILTER_FLAG_TSYNC: u64 = 1;

/// Read-only global `[u64; 3]`: byte offsets of syscall arguments 0..=2 inside `struct pt_regs`
/// (the raw tracepoint's first argument); arch-specific, so set by userspace.
pub const GLOBAL_PT_REGS_ARGS: &str = "PT_REGS_ARGS";

/// One byte per syscall number rather than one bit: setting a byte to 1 is a plain store, so two
/// CPUs marking different syscalls of the same word can never undo each other (BPF has no
/// fetch-or on this target), and a byte that is already 1 is only read, so hot syscalls do not
/// bounce a cache line between CPUs.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Seen {
    pub slots: [u8; SYSCALL_SLOTS],
}

// SAFETY: `repr(C)` bytes with no padding; every byte pattern is a valid value.
#[cfg(feature = "user")]
unsafe impl aya::Pod for Seen {}

/// A memo of the membership check, which costs a helper call and a hash lookup on every
/// syscall of every task on the host. The answer for the task that last ran a syscall on a CPU
/// stays right until [`NODE_EPOCH`] moves (an exit, a join, a registration). Programs on
/// `sys_enter` run with preemption disabled, so no two runs write one CPU's memo at once.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Verdict {
    /// Task identity (the task's `pt_regs` or `task_struct` address); 0 means empty.
    pub task: u64,
    /// The task's container: its slot plus one, or 0 when the task is not a member.
    pub slot: u64,
    /// The [`NODE_EPOCH`] value read before the check was made.
    pub epoch: u64,
    /// That task's `task_struct` address, for the ABI probe without a helper call.
    pub current: u64,
}

/// One traced container, as the programs see it ([`MAP_CONTAINERS`]).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct ContainerSlot {
    /// The init's TGID as the host sees it.
    pub init_tgid: u64,
    /// The container's cgroup v2 ID, 0 when it has none of its own.
    pub cgroup: u64,
    /// `OPEN_AT_*` bits: what opens a task's window.
    pub openers: u64,
    /// [`WINDOW_OPEN`] once the init runs its workload (its filter install, or its execve where
    /// no filter is expected); `record` opens it at registration.
    pub window: u64,
    /// The inode number of the container's user namespace (its init's `/proc/PID/ns/user`):
    /// capability checks against any other namespace do not count.
    pub user_ns: u64,
    /// How many of the container's tasks [`MAP_TRACED`] holds now: added to by the programs
    /// on each join and fork, taken from on each exit (never below 0).
    pub members: u64,
    /// The most tasks of this container followed at once ([`UNLIMITED_TASKS`] by default): a
    /// task beyond it is counted in [`MAP_LOST`] of this container alone.
    pub quota: u64,
}

/// [`ContainerSlot::quota`] when nothing limits a container but the node's capacity.
pub const UNLIMITED_TASKS: u64 = i64::MAX as u64;

// SAFETY: `repr(C)` of seven `u64`s, no padding; every byte pattern is a valid value.
#[cfg(feature = "user")]
unsafe impl aya::Pod for ContainerSlot {}

pub const WINDOW_WAITING: u64 = 0;
pub const WINDOW_OPEN: u64 = 1;

/// Bit 0 of a [`Seen`] byte: the syscall was made. The bits above it, when set, make the
/// syscall one whose arguments are recorded: `(i + 1) << 1` for entry `i` of [`ARG_CALLS`],
/// written by userspace at registration for each ABI's number of that call (never, when the
/// container asked for a name-only profile). A byte of exactly 1 (the common case of a call
/// outside the table) costs the program one compare, as the plain "store once" did.
pub const SEEN_CALLED: u8 = 1;

/// The calls whose arguments are recorded, and which argument (`contract::ARG_*` indices).
/// Values are kept per container, ABI and call in [`MAP_ARG_VALUES`], each the first time it
/// is seen; [`MAP_ARG_COUNTS`] counts them. What each value is:
/// - socket: the family (arg 0), with the protocol (arg 2) in the upper half for AF_NETLINK;
/// - socketpair: the family (arg 0);
/// - clone: the flags without the exit signal (arg 0, low 32 bits: all the kernel reads);
/// - clone3: `clone_args.flags`, read from the caller's memory ([`ARG_UNREADABLE`] when it
///   cannot be);
/// - unshare: the flags (arg 0); setns: the namespace type (arg 1); personality: arg 0.
pub const ARG_CALLS: [&str; ARG_CALL_COUNT] = [
    "socket",
    "socketpair",
    "clone",
    "clone3",
    "unshare",
    "setns",
    "personality",
];
pub const ARG_SOCKET: usize = 0;
pub const ARG_SOCKETPAIR: usize = 1;
pub const ARG_CLONE: usize = 2;
pub const ARG_CLONE3: usize = 3;
pub const ARG_UNSHARE: usize = 4;
pub const ARG_SETNS: usize = 5;
pub const ARG_PERSONALITY: usize = 6;
pub const ARG_CALL_COUNT: usize = 7;
pub const AF_NETLINK: u64 = 16;
/// The exit signal in clone's flags: not a flag.
pub const CSIGNAL: u64 = 0xff;
/// A clone3 whose `clone_args` could not be read: its flags are unknown.
pub const ARG_UNREADABLE: u64 = u64::MAX;
/// Distinct values kept per (container, ABI, call): past it the call is written allowed for
/// any value, and the recording says so ([`Kept::lost`]).
pub const ARG_VALUE_CAP: u64 = 64;

/// Hash map of [`ArgKey`] -> 1, not preallocated: every argument value seen. Sized for
/// [`ARG_VALUE_SLOTS`] values on the node; a value that finds it full is counted in
/// [`Kept::lost`] instead of being dropped in silence.
pub const MAP_ARG_VALUES: &str = "ARG_VALUES";
pub const ARG_VALUE_SLOTS: u32 = 16384;
/// Array map of [`Kept`], index `(slot * ABI_COUNT + abi) * ARG_CALL_COUNT + call`.
pub const MAP_ARG_COUNTS: &str = "ARG_COUNTS";
pub const ARG_COUNT_SLOTS: u32 = CONTAINER_SLOTS * ABI_COUNT * ARG_CALL_COUNT as u32;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArgKey {
    pub slot: u32,
    /// `abi * ARG_CALL_COUNT + call`.
    pub call: u32,
    pub value: u64,
}

// SAFETY: `repr(C)` of two u32s and a u64, no padding; every byte pattern is a valid value.
#[cfg(feature = "user")]
unsafe impl aya::Pod for ArgKey {}

/// How many keys of one bounded set (a container's argument values of one call and ABI in
/// [`MAP_ARG_VALUES`], its executed names in [`MAP_EXECS`]) were kept, and how many were not.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kept {
    /// Keys kept (added atomically; a race may pass the cap by a CPU or two).
    pub kept: u64,
    /// Keys that could not be kept, past the cap or with the map full (added atomically).
    pub lost: u64,
}

// SAFETY: `repr(C)` of two u64s, no padding; every byte pattern is a valid value.
#[cfg(feature = "user")]
unsafe impl aya::Pod for Kept {}
