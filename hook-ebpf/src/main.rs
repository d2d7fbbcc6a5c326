//! Marks every system call made by tasks of one PID namespace.
//!
//! One program runs on each `sys_enter`, for every task on the host, so the per-syscall path is
//! kept to a namespace check, a bounds check and (the first time only) one byte store. Nothing
//! is sent to userspace per syscall: userspace reads the `SEEN` map whenever it wants the set.
#![no_std]
// For `atomic_xadd`; this crate is built with nightly (`-Z build-std`) anyway.
#![feature(core_intrinsics)]
#![allow(internal_features)]
#![no_main]

use aya_ebpf::{
    bindings::bpf_pidns_info,
    helpers::{
        bpf_get_current_task, bpf_get_ns_current_pid_tgid, bpf_probe_read_kernel,
        bpf_probe_read_user,
    },
    macros::{map, raw_tracepoint, tracepoint},
    maps::{Array, HashMap, PerCpuArray},
    programs::{RawTracePointContext, TracePointContext},
    EbpfContext, Global,
};
use core::intrinsics::{atomic_xadd, AtomicOrdering};

use aya_log_ebpf::warn;
use hook_ebpf::contract::{
    Seen, Verdict, CLONE_NEWPID, DESCENDANT_SLOTS, MARKER_CLONE, MARKER_CLONE3, MARKER_COUNT,
    MARKER_EXECVE, MARKER_EXECVEAT, MARKER_PRCTL, MARKER_SECCOMP, MARKER_SETNS, MARKER_UNSHARE,
    NESTING_SLOTS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, SECCOMP_SET_MODE_FILTER, STATE_RECORDING,
    SYSCALL_SLOTS, VERDICT_INSIDE,
};

/// The target PID namespace, written by the loader (`contract::GLOBAL_PIDNS_*`).
#[unsafe(no_mangle)]
static PIDNS_DEV: Global<u64> = Global::new(0);
#[unsafe(no_mangle)]
static PIDNS_INO: Global<u64> = Global::new(0);

/// Syscall numbers that open the record window (`contract::MARKER_*`); `u64::MAX` never matches.
/// The arrays stay plain statics read one element at a time (volatile, so the loader's values
/// are seen): `Global::load` would copy the whole array for one number.
#[unsafe(no_mangle)]
static MARKERS: [u64; MARKER_COUNT] = [u64::MAX; MARKER_COUNT];
/// Offsets of syscall arguments 0..=2 in `struct pt_regs`, for the raw tracepoint.
#[unsafe(no_mangle)]
static PT_REGS_ARGS: [u64; 3] = [0; 3];

#[map]
static STATE: Array<u32> = Array::with_max_entries(1, 0);

#[map]
static SEEN: Array<Seen> = Array::with_max_entries(1, 0);

#[map]
static EXITS: Array<u64> = Array::with_max_entries(1, 0);

#[map]
static VERDICT: PerCpuArray<Verdict> = PerCpuArray::with_max_entries(1, 0);

#[map]
static NESTING: HashMap<u64, u8> = HashMap::with_max_entries(NESTING_SLOTS, 0);

#[map]
static DESCENDANTS: HashMap<u64, u8> = HashMap::with_max_entries(DESCENDANT_SLOTS, 0);

#[map]
static OUT_OF_RANGE: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn sys_enter_raw(ctx: RawTracePointContext) -> i32 {
    // TP_PROTO(struct pt_regs *regs, long id): the syscall number is the second argument.
    let nr: i64 = ctx.arg(1);
    let regs: *const u8 = ctx.arg(0);
    // The task's saved user registers sit at the top of its kernel stack: a free identity.
    if !in_target_namespace(regs as u64) {
        return 0;
    }
    record(&ctx, nr, |i| {
        // Only read while waiting for the window to open, i.e. a few times per container.
        let offset = unsafe { core::ptr::read_volatile(&PT_REGS_ARGS[i]) } as usize;
        unsafe { bpf_probe_read_kernel(regs.wrapping_add(offset) as *const u64) }.unwrap_or(0)
    })
}

#[tracepoint(category = "raw_syscalls", name = "sys_enter")]
pub fn sys_enter_tp(ctx: TracePointContext) -> i32 {
    // struct trace_event_raw_sys_enter { struct trace_entry ent; long id; ... }: `ent` is 8
    // bytes. A direct context load is cheaper than the probe-read helper behind `read_at`.
    // ... followed by `unsigned long args[6]`.
    let record_base = ctx.as_ptr() as *const u64;
    let nr = unsafe { *(record_base as *const i64).add(1) };
    // No registers pointer here; the task_struct address costs a helper, still cheaper.
    if !in_target_namespace(unsafe { bpf_get_current_task() }) {
        return 0;
    }
    record(&ctx, nr, |i| unsafe { *record_base.add(2 + i) })
}

/// Do-nothing programs on the same attach points: the floor the benchmarks subtract.
#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn empty_raw(_ctx: RawTracePointContext) -> i32 {
    0
}

#[tracepoint(category = "raw_syscalls", name = "sys_enter")]
pub fn empty_tp(_ctx: TracePointContext) -> i32 {
    0
}

/// Children of nesting tasks and of their descendants belong to the container even in another
/// PID namespace (`contract::MAP_NESTING`). Runs in the parent: TP_PROTO(parent, child).
#[raw_tracepoint(tracepoint = "sched_process_fork")]
pub fn task_fork(ctx: RawTracePointContext) -> i32 {
    let parent = unsafe { bpf_get_current_task() };
    let nesting = unsafe { NESTING.get(parent).is_some() || DESCENDANTS.get(parent).is_some() };
    if nesting {
        let child: u64 = ctx.arg(1);
        if DESCENDANTS.insert(child, 1, 0).is_err() {
            warn!(
                &ctx,
                "too many tasks in nested PID namespaces; a child is not recorded"
            );
        }
    }
    0
}

/// Counts task exits for [`Verdict`]: an exit is what lets another task reuse an identity.
/// Also forgets the task in the nesting maps, for the same reason.
#[raw_tracepoint(tracepoint = "sched_process_exit")]
pub fn task_exit(_ctx: RawTracePointContext) -> i32 {
    let task = unsafe { bpf_get_current_task() };
    let _ = DESCENDANTS.remove(task);
    let _ = NESTING.remove(task);
    if let Some(exits) = EXITS.get_ptr_mut(0) {
        // An atomic add: two exits on two CPUs must both move the count.
        // `AtomicU64::fetch_add` is not offered on this target; the intrinsic with its result
        // unused compiles to BPF's plain atomic add.
        unsafe { atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(exits, 1) };
    }
    0
}

/// Records syscall `nr` of a task already known to be in the target namespace.
#[inline(always)]
fn record<C: EbpfContext>(ctx: &C, nr: i64, arg: impl Fn(usize) -> u64) -> i32 {
    // Single-entry arrays always have entry 0 (userspace checks the sizes against the contract),
    // so the `None` arms below never run; they carry no log call because each one would add
    // hundreds of instructions for the verifier to walk at every container start.
    let Some(state) = STATE.get_ptr_mut(0) else {
        return 0;
    };
    note_nesting(nr as u64, &arg);
    if unsafe { *state } != STATE_RECORDING {
        if !opens_window(nr as u64, arg) {
            return 0;
        }
        unsafe { *state = STATE_RECORDING };
    }
    // A negative number (e.g. syscall(-1)) becomes huge here and is counted, not dropped.
    let nr = nr as u64;
    if nr < SYSCALL_SLOTS as u64 {
        mark(nr as usize);
    } else {
        count_out_of_range(ctx, nr);
    }
    0
}

/// Puts the current task in `NESTING` when `nr` may give it children in another PID namespace.
#[inline(never)]
fn note_nesting(nr: u64, arg: &impl Fn(usize) -> u64) {
    let marker = |i: usize| unsafe { core::ptr::read_volatile(&MARKERS[i]) };
    let flags = if nr == marker(MARKER_UNSHARE) || nr == marker(MARKER_CLONE) {
        arg(0)
    } else if nr == marker(MARKER_CLONE3) {
        // clone3(struct clone_args *args, size): `flags` is the struct's first field.
        unsafe { bpf_probe_read_user(arg(0) as *const u64) }.unwrap_or(CLONE_NEWPID)
    } else if nr == marker(MARKER_SETNS) {
        // Any setns may be into a PID namespace (nstype 0 means "whatever the fd is").
        CLONE_NEWPID
    } else {
        return;
    };
    if flags & CLONE_NEWPID != 0 {
        let task = unsafe { bpf_get_current_task() };
        let _ = NESTING.insert(task, 1, 0);
    }
}

/// True for the syscall that ends the runtime's set-up: the seccomp filter install, or the
/// workload's execve when the runtime installs no filter.
#[inline(never)]
fn opens_window(nr: u64, arg: impl Fn(usize) -> u64) -> bool {
    let marker = |i: usize| unsafe { core::ptr::read_volatile(&MARKERS[i]) };
    if nr == marker(MARKER_EXECVE) || nr == marker(MARKER_EXECVEAT) {
        return true;
    }
    if nr == marker(MARKER_PRCTL) {
        return arg(0) == PR_SET_SECCOMP && arg(1) == SECCOMP_MODE_FILTER;
    }
    if nr == marker(MARKER_SECCOMP) {
        return arg(0) == SECCOMP_SET_MODE_FILTER && arg(2) != 0;
    }
    false
}

/// True when the current task, identified by `task`, is in the target PID namespace: the
/// per-CPU memo answers most calls without the helper (see `contract::Verdict`).
#[inline(always)]
fn in_target_namespace(task: u64) -> bool {
    let Some(exits) = EXITS.get_ptr(0) else {
        return uncached_check();
    };
    // Read before checking: an exit during the check makes the memo stale at once.
    let exits = unsafe { core::ptr::read_volatile(exits) };
    let Some(memo) = VERDICT.get_ptr_mut(0) else {
        return uncached_check();
    };
    let memo = unsafe { &mut *memo };
    if memo.task & !VERDICT_INSIDE == task && memo.exits == exits {
        return memo.task & VERDICT_INSIDE != 0;
    }
    let inside = uncached_check();
    memo.task = task | if inside { VERDICT_INSIDE } else { 0 };
    memo.exits = exits;
    inside
}

/// The answer the memo keeps: in the target namespace, or below it through a nesting task.
#[inline(always)]
fn uncached_check() -> bool {
    namespace_check() || descends_from_target()
}

/// Only asked when the namespace check fails, i.e. once per task per CPU memo.
#[inline(always)]
fn descends_from_target() -> bool {
    let task = unsafe { bpf_get_current_task() };
    unsafe { DESCENDANTS.get(task).is_some() }
}

#[inline(always)]
fn namespace_check() -> bool {
    let (dev, ino) = (PIDNS_DEV.load(), PIDNS_INO.load());
    let mut info = bpf_pidns_info { pid: 0, tgid: 0 };
    let size = core::mem::size_of::<bpf_pidns_info>() as u32;
    // Returns 0 only when the current task's active PID namespace is the target one.
    unsafe { bpf_get_ns_current_pid_tgid(dev, ino, &mut info, size) == 0 }
}

#[inline(always)]
fn mark(slot: usize) {
    let Some(seen) = SEEN.get_ptr_mut(0) else {
        return;
    };
    let byte = unsafe { &mut (*seen).slots[slot] };
    // Store only once: afterwards every CPU just reads the byte and the line stays shared.
    if *byte == 0 {
        *byte = 1;
    }
}

#[inline(never)]
fn count_out_of_range<C: EbpfContext>(ctx: &C, nr: u64) {
    let Some(count) = OUT_OF_RANGE.get_ptr_mut(0) else {
        return;
    };
    unsafe {
        *count += 1;
        // The first one on each CPU is logged with its number; the rest are only counted.
        if *count == 1 {
            warn!(ctx, "syscall number {} is outside the recorded range", nr);
        }
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
