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

/// The kernel tracepoint both programs attach to.
pub const TRACEPOINT_CATEGORY: &str = "raw_syscalls";
pub const TRACEPOINT_NAME: &str = "sys_enter";

/// Single-entry array map whose value is [`Seen`]: byte `n` is 1 once syscall `n` was made.
pub const MAP_SEEN: &str = "SEEN";
/// Per-CPU array map with one `u64`: how many syscalls had a number `>= SYSCALL_SLOTS`.
pub const MAP_OUT_OF_RANGE: &str = "OUT_OF_RANGE";

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
