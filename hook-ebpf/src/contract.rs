//! Names and sizes shared by the eBPF program and its userspace loader.
//!
//! This file is compiled twice: as `hook_ebpf::contract` for the kernel object, and by the `hook`
//! crate through `#[path]`. Keep it dependency-free and `no_std`-clean.

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
pub const ALL_PROGRAMS: [&str; 6] = [
    PROG_RAW_TRACEPOINT,
    PROG_TRACEPOINT,
    PROG_EMPTY_RAW_TRACEPOINT,
    PROG_EMPTY_TRACEPOINT,
    PROG_TASK_EXIT,
    PROG_TASK_FORK,
];

/// Raw tracepoint program on `sched_process_exit`: bumps [`MAP_EXITS`] (see [`Verdict`]).
pub const PROG_TASK_EXIT: &str = "task_exit";
pub const EXIT_TRACEPOINT_NAME: &str = "sched_process_exit";
/// Raw tracepoint program on `sched_process_fork`: children of nesting tasks join
/// [`MAP_DESCENDANTS`].
pub const PROG_TASK_FORK: &str = "task_fork";
pub const FORK_TRACEPOINT_NAME: &str = "sched_process_fork";

/// The syscall-entry tracepoint: `sys_enter` as a raw tracepoint, `raw_syscalls:sys_enter` as
/// a trace event (the recorder and the empty programs, one per attach point).
pub const TRACEPOINT_CATEGORY: &str = "raw_syscalls";
pub const TRACEPOINT_NAME: &str = "sys_enter";

/// Single-entry array map whose value is [`Seen`]: byte `n` is 1 once syscall `n` was made.
pub const MAP_SEEN: &str = "SEEN";
/// Per-CPU array map with one `u64`: how many syscalls had a number `>= SYSCALL_SLOTS`.
pub const MAP_OUT_OF_RANGE: &str = "OUT_OF_RANGE";

/// Single-entry array map holding one `u32`: 0 while the runtime is still setting the container
/// up, 1 once the workload's window has begun. Only syscalls made at state 1 are recorded.
pub const MAP_STATE: &str = "STATE";
pub const STATE_WAITING: u32 = 0;
pub const STATE_RECORDING: u32 = 1;

/// Single-entry array map with one `u64`: how many tasks have exited on the host since loading.
/// Any exit may free a kernel stack (or task) that a later task reuses, so a [`Verdict`] is
/// trusted only while this count is unchanged.
pub const MAP_EXITS: &str = "EXITS";
/// Per-CPU array map with one [`Verdict`]: the namespace check's result for the task that last
/// made a syscall on this CPU.
pub const MAP_VERDICT: &str = "VERDICT";
/// Bit 0 of [`Verdict::task`]: set when that task is in the target namespace. Task identities
/// (the task's `pt_regs` or `task_struct` address) are 8-byte aligned, so bit 0 is free.
pub const VERDICT_INSIDE: u64 = 1;

/// Nested PID namespaces (`unshare -pf` inside the container): their tasks fail the namespace
/// check, yet descend from the container and belong in its profile. A task of the container
/// that calls `unshare`/`clone`/`clone3` with `CLONE_NEWPID`, or `setns`, is put in
/// [`MAP_NESTING`]; every child of a task in either map is put in [`MAP_DESCENDANTS`]
/// (by `task_struct` address), and both forget a task when it exits. Hash maps of `u64 -> u8`.
pub const MAP_NESTING: &str = "NESTING";
pub const MAP_DESCENDANTS: &str = "DESCENDANTS";
/// Sizes: tasks that created PID namespaces, and live tasks below them. Preallocated kernel
/// memory, about 64 bytes an entry, per traced container.
pub const NESTING_SLOTS: u32 = 256;
pub const DESCENDANT_SLOTS: u32 = 4096;
pub const CLONE_NEWPID: u64 = 0x2000_0000;

/// Read-only global `[u64; MARKER_COUNT]`: the native numbers of the syscalls that open the
/// record window or may nest a PID namespace (indices below). Set by userspace, which knows
/// the architecture.
pub const GLOBAL_MARKERS: &str = "MARKERS";
pub const MARKER_COUNT: usize = 8;
pub const MARKER_PRCTL: usize = 0;
pub const MARKER_SECCOMP: usize = 1;
pub const MARKER_EXECVE: usize = 2;
pub const MARKER_EXECVEAT: usize = 3;
pub const MARKER_UNSHARE: usize = 4;
pub const MARKER_CLONE: usize = 5;
pub const MARKER_CLONE3: usize = 6;
pub const MARKER_SETNS: usize = 7;
/// The window opens at the seccomp filter install, `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
/// prog)` (runc 1.1) or `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)` with a non-NULL prog
/// (libseccomp's feature probes pass NULL, long before pivot_root), or else at the first execve.
pub const PR_SET_SECCOMP: u64 = 22;
pub const SECCOMP_MODE_FILTER: u64 = 2;
pub const SECCOMP_SET_MODE_FILTER: u64 = 1;

/// Read-only global `[u64; 3]`: byte offsets of syscall arguments 0..=2 inside `struct pt_regs`
/// (the raw tracepoint's first argument); arch-specific, so set by userspace.
pub const GLOBAL_PT_REGS_ARGS: &str = "PT_REGS_ARGS";

/// Read-only globals set at load time: the target PID namespace as `st_dev` (in the kernel's
/// `dev_t` encoding) and `st_ino` of `/proc/PID/ns/pid`.
pub const GLOBAL_PIDNS_DEV: &str = "PIDNS_DEV";
pub const GLOBAL_PIDNS_INO: &str = "PIDNS_INO";

/// One byte per syscall number rather than one bit: setting a byte to 1 is a plain store, so two
/// CPUs marking different syscalls of the same word can never undo each other (BPF has no
/// fetch-or on this target), and a byte that is already 1 is only read, so hot syscalls do not
/// bounce a cache line between CPUs.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Seen {
    pub slots: [u8; SYSCALL_SLOTS],
}

/// A memo of the namespace check, which costs a helper call (~50 ns here) on every syscall of
/// every task on the host. A task's PID namespace never changes, so the answer for the task
/// that last ran a syscall on a CPU stays right while that task lives; `exits` detects that it
/// may have died and another task taken over its address. The identity and the answer share
/// one word, so a preempted writer can never pair one task with another's answer.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Verdict {
    /// Task identity with [`VERDICT_INSIDE`] in bit 0; 0 means empty.
    pub task: u64,
    /// The [`MAP_EXITS`] count read before the check was made.
    pub exits: u64,
}
