//! Marks every system call made by the tasks of every traced container on the node, each in its
//! container's slot (`contract::MAP_TRACED`).
//!
//! One set of programs serves every traced container: each tracer registers its container in
//! the shared maps and releases it (see the userspace `ebpf::slot` module). One program runs on each
//! `sys_enter`, for every task on the host, so the per-syscall path is kept to a memoised
//! membership check, a bounds check and (the first time only) one byte store; non-members also
//! compare the number with four markers. Nothing is sent to userspace per syscall: each tracer
//! reads its slot of the `SEEN` map whenever it wants the set.
#![no_std]
// For `atomic_xadd`; this crate is built with nightly (`-Z build-std`) anyway.
#![feature(core_intrinsics)]
#![allow(internal_features)]
#![no_main]

mod args;
mod caps;
mod capset;
mod chmod;
mod kept;
mod kernel;
mod syscall;

use aya_ebpf::{
    helpers::{
        bpf_get_current_cgroup_id, bpf_get_current_pid_tgid, bpf_get_current_task,
        bpf_get_current_task_btf,
    },
    macros::{map, raw_tracepoint, tracepoint},
    maps::{Array, HashMap, PerCpuArray},
    programs::{RawTracePointContext, TracePointContext},
    EbpfContext,
};
use core::intrinsics::{atomic_xadd, AtomicOrdering};

use hook_common::{
    ContainerSlot, Seen, Verdict, ABI_COMPAT, ABI_COUNT, ABI_NATIVE, ABI_PROBE_MASK,
    ABI_PROBE_MODE, ABI_PROBE_OFFSET, ABI_PROBE_PRIVATE, ABI_PROBE_SLOTS, ABI_PROBE_X32, ABI_X32,
    BPF_F_NO_PREALLOC, COMPAT_PRIVATE_FIRST, COMPAT_PRIVATE_SLOTS, CONTAINER_SLOTS, MARKER_COUNT,
    MARKER_EXECVE, MARKER_EXECVEAT, MARKER_PRCTL, MARKER_SECCOMP, NODE_EPOCH, NODE_GROUPS,
    NODE_MNT_NAMESPACES, NODE_SLOTS, OFFSET_FOUND, OFFSET_MNT_NS_INUM, OFFSET_NSPROXY_MNT_NS,
    OFFSET_TASK_NSPROXY, OPEN_AT_EXEC, OPEN_AT_FILTER, PROBE_BTF_AARCH64, PROBE_BTF_X86_64,
    PR_SET_SECCOMP, SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_MODE_FILTER, SECCOMP_SET_MODE_FILTER,
    SEEN_CALLED, SYSCALL_SLOTS, TRACED_GROUP_SLOTS, TRACED_SLOTS, TRACED_SLOT_MASK, WINDOW_OPEN,
};
use kernel::{global, offset, read_u32, read_u64};

/// Syscall numbers that may open a task's window (`contract::MARKER_*`); `u64::MAX` never
/// matches. Node-wide facts of the architecture and kernel, written by the loader. The arrays
/// stay plain statics read one element at a time (volatile, so the loader's values are seen):
/// `Global::load` would copy the whole array for one number.
#[unsafe(no_mangle)]
static MARKERS: [u64; MARKER_COUNT] = [u64::MAX; MARKER_COUNT];
/// Offsets of syscall arguments 0..=2 in `struct pt_regs`, for the raw tracepoint.
#[unsafe(no_mangle)]
static PT_REGS_ARGS: [u64; 3] = [0; 3];
/// How to tell a compat or x32 syscall (`contract::GLOBAL_ABI_PROBE`).
#[unsafe(no_mangle)]
static ABI_PROBE: [u64; ABI_PROBE_SLOTS] = [0; ABI_PROBE_SLOTS];

#[map]
static CONTAINERS: Array<ContainerSlot> = Array::with_max_entries(CONTAINER_SLOTS, 0);

#[map]
static SEEN: Array<Seen> = Array::with_max_entries(CONTAINER_SLOTS * ABI_COUNT, 0);

#[map]
static NODE: Array<u64> = Array::with_max_entries(NODE_SLOTS, 0);

#[map]
static VERDICT: PerCpuArray<Verdict> = PerCpuArray::with_max_entries(1, 0);

#[map]
static TRACED: HashMap<u64, u32> = HashMap::with_max_entries(TRACED_SLOTS, BPF_F_NO_PREALLOC);

#[map]
static TRACED_GROUPS: HashMap<u32, u32> = HashMap::with_max_entries(TRACED_GROUP_SLOTS, 0);

#[map]
static INITS: HashMap<u32, u32> = HashMap::with_max_entries(CONTAINER_SLOTS, 0);

#[map]
static CGROUPS: HashMap<u64, u32> = HashMap::with_max_entries(CONTAINER_SLOTS, 0);

#[map]
static MNT_NAMESPACES: HashMap<u64, u32> = HashMap::with_max_entries(CONTAINER_SLOTS, 0);

#[map]
static LOST: PerCpuArray<u64> = PerCpuArray::with_max_entries(CONTAINER_SLOTS, 0);

#[map]
static OUT_OF_RANGE: PerCpuArray<u64> = PerCpuArray::with_max_entries(CONTAINER_SLOTS, 0);

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn sys_enter_raw(ctx: RawTracePointContext) -> i32 {
    // TP_PROTO(struct pt_regs *regs, long id): the syscall number is the second argument.
    let nr: i64 = ctx.arg(1);
    let regs: *const u8 = ctx.arg(0);
    // Only read when a marker syscall asks (a few times per container), or a member's call
    // whose arguments are recorded.
    let arg = |i: usize, compat: bool| {
        let offset = match compat {
            true => syscall::arg_offset(i, true),
            false => global(&PT_REGS_ARGS, i),
        };
        read_u64((regs as u64).wrapping_add(offset))
    };
    // The task's saved user registers sit at the top of its kernel stack: a free identity.
    on_syscall(regs as u64, nr, arg)
}

#[tracepoint(category = "raw_syscalls", name = "sys_enter")]
pub fn sys_enter_tp(ctx: TracePointContext) -> i32 {
    // struct trace_event_raw_sys_enter { struct trace_entry ent; long id; ... }: `ent` is 8
    // bytes, followed by `id` and `unsigned long args[6]`. Direct context loads are cheaper
    // than the probe-read helper behind `read_at`.
    let record_base = ctx.as_ptr() as *const u64;
    // SAFETY: `id` is the record's second u64; the verifier bounds every context load.
    let nr = unsafe { *(record_base as *const i64).add(1) };
    // No registers pointer here; the task_struct address costs a helper, still cheaper.
    let task = current_task();
    // SAFETY: `args[i]`, i <= 2, lies inside the record (six arguments follow `id`), already
    // in the convention of the task's ABI.
    on_syscall(task, nr, |i, _| unsafe { *record_base.add(2 + i) })
}

/// Records `nr` for members; for anyone else, checks whether this syscall makes it one.
#[inline(always)]
fn on_syscall(identity: u64, nr: i64, arg: impl Fn(usize, bool) -> u64) -> i32 {
    let (slot, task) = membership(identity);
    let slot = match slot {
        Some(slot) => slot,
        // The joining syscall itself runs under the filter (or starts the workload).
        None if is_marker(nr as u64) => match joins(nr as u64, task, &arg) {
            Some(slot) => slot,
            None => return 0,
        },
        None => return 0,
    };
    record(nr, task, slot, &arg);
    0
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

/// Children and threads of members are members of the same container, whatever namespace
/// they are created in. Runs in the parent: TP_PROTO(parent, child).
#[raw_tracepoint(tracepoint = "sched_process_fork")]
pub fn task_fork(ctx: RawTracePointContext) -> i32 {
    // The whole value: a child of a started task has started too.
    if let Some(value) = uncached_value(current_task()) {
        let child: u64 = ctx.arg(1);
        add_member(child, value, value & TRACED_SLOT_MASK);
    }
    0
}

/// Adds `task` to container `slot` (`value` is its [`TRACED`] value) within the container's
/// quota; a task that cannot be added is counted as lost, for that container alone.
#[inline(never)]
fn add_member(task: u64, value: u32, slot: u32) -> bool {
    let Some(container) = CONTAINERS.get_ptr_mut(slot) else {
        return false;
    };
    // SAFETY: a live map value (the lookup succeeded); aligned u64 loads cannot tear.
    let (members, quota) = unsafe { ((*container).members, (*container).quota) };
    // Signed: a count that raced below zero still lets tasks in.
    if members as i64 >= quota as i64 || TRACED.insert(task, value, 0).is_err() {
        count_lost(slot);
        return false;
    }
    // SAFETY: as above; an atomic add, for forks on two CPUs at once.
    unsafe {
        atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(&raw mut (*container).members, 1)
    };
    true
}

/// Takes one member from container `slot`'s count, never below zero.
#[inline(never)]
fn remove_member(slot: u32) {
    let Some(container) = CONTAINERS.get_ptr_mut(slot) else {
        return;
    };
    // SAFETY: a live map value (the lookup succeeded); aligned u64 loads cannot tear.
    if unsafe { (*container).members } > 0 {
        // SAFETY: as above; adding u64::MAX subtracts one, atomically.
        unsafe {
            atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(
                &raw mut (*container).members,
                u64::MAX,
            )
        };
    }
}

/// Forgets the exiting task (and an exiting init, whose TGID may be reused), and moves the
/// epoch: an exit is what lets another task reuse an identity (see `contract::Verdict`).
#[raw_tracepoint(tracepoint = "sched_process_exit")]
pub fn task_exit(_ctx: RawTracePointContext) -> i32 {
    let task = current_task();
    // SAFETY: the value is copied at once, before the delete below frees it.
    if let Some(value) = unsafe { TRACED.get(task) }.copied() {
        if TRACED.remove(task).is_ok() {
            remove_member(value & TRACED_SLOT_MASK);
        }
    }
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if pid_tgid as u32 == tgid {
        let _ = TRACED_GROUPS.remove(tgid);
        let _ = INITS.remove(tgid);
    }
    bump_epoch();
    0
}

/// The current task's `task_struct` address, as a number: an identity, never dereferenced
/// but through a helper that checks it.
#[inline(always)]
fn current_task() -> u64 {
    // SAFETY: the helper takes no argument and cannot fail.
    unsafe { bpf_get_current_task() }
}

#[inline(always)]
fn bump_epoch() {
    if let Some(epoch) = NODE.get_ptr_mut(NODE_EPOCH) {
        // An atomic add: two exits on two CPUs must both move the count.
        // `AtomicU64::fetch_add` is not offered on this target; the intrinsic with its result
        // unused compiles to BPF's plain atomic add.
        // SAFETY: `epoch` points at a live, aligned u64 map value (the lookup succeeded).
        unsafe { atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(epoch, 1) };
    }
}

/// Marks syscall `nr` of member `task`, in its container's table of the ABI it came through.
#[inline(always)]
fn record(nr: i64, task: u64, slot: u32, arg: &impl Fn(usize, bool) -> u64) {
    // A negative number (e.g. syscall(-1)) becomes huge here and is counted, not dropped.
    let (abi, nr) = abi_of(nr as u64, task);
    if nr < SYSCALL_SLOTS as u64 {
        let entry = mark(slot * ABI_COUNT + abi, nr as usize);
        if entry != 0 {
            args::record(slot, abi, entry, arg);
        }
    } else {
        count_out_of_range(slot);
    }
}

/// The ABI of the current syscall, and its number in that ABI's table. The compat probe is one
/// kernel read per member syscall (the task address comes from the memo); non-members never pay.
#[inline(always)]
fn abi_of(nr: u64, task: u64) -> (u32, u64) {
    let x32 = abi_probe(ABI_PROBE_X32);
    if nr & x32 != 0 {
        return (ABI_X32, nr & !x32);
    }
    if is_compat(task) {
        let private = abi_probe(ABI_PROBE_PRIVATE);
        if private != 0 && nr.wrapping_sub(private) < COMPAT_PRIVATE_SLOTS {
            return (ABI_COMPAT, COMPAT_PRIVATE_FIRST + (nr - private));
        }
        return (ABI_COMPAT, nr);
    }
    (ABI_NATIVE, nr)
}

/// Whether the current syscall came through the compat ABI (`contract::GLOBAL_ABI_PROBE`).
#[inline(always)]
fn is_compat(task: u64) -> bool {
    let mask = abi_probe(ABI_PROBE_MASK);
    if mask == 0 {
        return false;
    }
    let mode = abi_probe(ABI_PROBE_MODE);
    let word = if mode == PROBE_BTF_X86_64 {
        // thread_info.status (u32) at offset 16 of task_struct.
        // SAFETY: a trusted BTF pointer to the current task, never null.
        let current = unsafe { bpf_get_current_task_btf() } as *const u8;
        // SAFETY: the verifier checks the constant offset against task_struct's BTF.
        u64::from(unsafe { core::ptr::read_volatile(current.wrapping_add(16) as *const u32) })
    } else if mode == PROBE_BTF_AARCH64 {
        // The low half of thread_info.flags at offset 0 (TIF_32BIT is bit 22).
        // SAFETY: as above.
        let current = unsafe { bpf_get_current_task_btf() } as *const u8;
        // SAFETY: offset 0 of the task, checked against its BTF by the verifier.
        u64::from(unsafe { core::ptr::read_volatile(current as *const u32) })
    } else {
        read_u64(task.wrapping_add(abi_probe(ABI_PROBE_OFFSET)))
    };
    word & mask != 0
}

/// `MARKERS[i]`, as the loader wrote it.
#[inline(always)]
fn marker(i: usize) -> u64 {
    global(&MARKERS, i)
}

/// `ABI_PROBE[i]`, as the loader wrote it.
#[inline(always)]
fn abi_probe(i: usize) -> u64 {
    global(&ABI_PROBE, i)
}

/// One of the syscalls that may make a task a member: a few compares, paid by every
/// non-member syscall on the host.
#[inline(always)]
fn is_marker(nr: u64) -> bool {
    nr == marker(MARKER_PRCTL)
        || nr == marker(MARKER_SECCOMP)
        || nr == marker(MARKER_EXECVE)
        || nr == marker(MARKER_EXECVEAT)
}

/// The container this marker syscall makes the current task a member of, if any: a
/// container's init, or a process of a container's cgroup, starting to run under the
/// container's filter (or, where none is expected, starting the workload). Marks whole
/// processes for TSYNC installs.
#[inline(never)]
fn joins(nr: u64, task: u64, arg: &impl Fn(usize, bool) -> u64) -> Option<u32> {
    // What the call is, told once: past here only `opener` and `tsync` stay alive, so the
    // verifier walks the rest once or twice rather than once per kind of marker call.
    let (opener, tsync) = if nr == marker(MARKER_EXECVE) || nr == marker(MARKER_EXECVEAT) {
        (OPEN_AT_EXEC, false)
    } else if nr == marker(MARKER_PRCTL)
        && arg(0, false) == PR_SET_SECCOMP
        && arg(1, false) == SECCOMP_MODE_FILTER
    {
        (OPEN_AT_FILTER, false)
    } else if nr == marker(MARKER_SECCOMP)
        && arg(0, false) == SECCOMP_SET_MODE_FILTER
        && arg(2, false) != 0
    {
        (
            OPEN_AT_FILTER,
            arg(1, false) & SECCOMP_FILTER_FLAG_TSYNC != 0,
        )
    } else {
        // Most marker calls on the host (other prctl options) stop here, before any lookup.
        return None;
    };
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    let (slot, by_init) = candidate(tgid, task)?;
    let container = CONTAINERS.get_ptr_mut(slot)?;
    // SAFETY: `container` points at a live map value (the lookup succeeded); a racing
    // registration at worst gives a stale word, never an invalid read.
    let openers = unsafe { (*container).openers };
    // Runtimes are native programs; a compat call with a marker's number is something else.
    if openers & opener == 0 || is_compat(task) {
        return None;
    }
    // SAFETY: a live map value, as above.
    let open = unsafe { (*container).window } == WINDOW_OPEN;
    if by_init {
        // SAFETY: a live map value, as above; an aligned u64 store cannot tear.
        unsafe { (*container).window = WINDOW_OPEN };
    } else if !open {
        // A process started in the container's cgroup before the container runs is a
        // runtime hook, not the container.
        return None;
    }
    if tsync {
        join_group(tgid, slot);
    }
    if !add_member(task, slot, slot) {
        return None;
    }
    // Every CPU's memo may hold "not a member" for this task (it ran there before): moving the
    // epoch retires them all. Remembering the answer on this CPU alone lost the runtime's
    // calls whenever the task then ran on another CPU.
    bump_epoch();
    Some(slot)
}

/// The slot of the container the current task may join: the one whose init it is (true), or
/// the one whose cgroup, or else mount namespace, it runs in (false).
#[inline(always)]
fn candidate(tgid: u32, task: u64) -> Option<(u32, bool)> {
    // SAFETY: the value is copied at once, before a concurrent delete could free it.
    if let Some(slot) = unsafe { INITS.get(tgid) } {
        return Some((*slot, true));
    }
    // SAFETY: the helper takes no argument and cannot fail.
    let cgroup = unsafe { bpf_get_current_cgroup_id() };
    // SAFETY: as for INITS, the value is copied at once.
    if let Some(slot) = unsafe { CGROUPS.get(cgroup) } {
        return Some((*slot, false));
    }
    mount_namespace_slot(task).map(|slot| (slot, false))
}

/// The slot registered for `task`'s mount namespace (`contract::MAP_MNT_NAMESPACES`): three
/// kernel reads, made only on a marker syscall of a non-member once such a slot exists.
#[inline(never)]
fn mount_namespace_slot(task: u64) -> Option<u32> {
    if NODE.get(NODE_MNT_NAMESPACES).copied().unwrap_or(0) == 0 || offset(OFFSET_FOUND) == 0 {
        return None;
    }
    let nsproxy = read_u64(task.wrapping_add(offset(OFFSET_TASK_NSPROXY)));
    let mnt_ns = read_u64(nsproxy.wrapping_add(offset(OFFSET_NSPROXY_MNT_NS)));
    let inum = u64::from(read_u32(mnt_ns.wrapping_add(offset(OFFSET_MNT_NS_INUM))));
    // SAFETY: the value is copied at once, before a concurrent delete could free it.
    unsafe { MNT_NAMESPACES.get(inum) }.copied()
}

/// Every thread of process `tgid` is a member of `slot` (TSYNC gave them all the filter).
#[inline(never)]
fn join_group(tgid: u32, slot: u32) {
    if TRACED_GROUPS.insert(tgid, slot, 0).is_err() {
        count_lost(slot);
    }
    if let Some(groups) = NODE.get_ptr_mut(NODE_GROUPS) {
        // SAFETY: a live, aligned u64 map value; a plain store of 1 cannot tear.
        unsafe { *groups = 1 };
    }
    // Other threads' memos said "not a member".
    bump_epoch();
}

/// The current task's container slot, if it is a member, and its `task_struct` address: the
/// per-CPU memo answers most calls without a helper (see `contract::Verdict`).
#[inline(always)]
fn membership(identity: u64) -> (Option<u32>, u64) {
    let Some(epoch) = NODE.get_ptr(NODE_EPOCH) else {
        let task = current_task();
        return (uncached_membership(task), task);
    };
    // Read before checking: a change during the check makes the memo stale at once.
    // SAFETY: a live, aligned u64 map value (the lookup succeeded).
    let epoch = unsafe { core::ptr::read_volatile(epoch) };
    let Some(memo) = VERDICT.get_ptr_mut(0) else {
        let task = current_task();
        return (uncached_membership(task), task);
    };
    // SAFETY: this CPU's own value; programs on sys_enter run with preemption disabled, so
    // nothing else holds a reference to it while this one lives.
    let memo = unsafe { &mut *memo };
    if memo.task == identity && memo.epoch == epoch {
        return (memo.slot.checked_sub(1).map(|s| s as u32), memo.current);
    }
    let task = current_task();
    let slot = uncached_membership(task);
    memo.task = identity;
    memo.slot = slot.map_or(0, |s| u64::from(s) + 1);
    memo.epoch = epoch;
    memo.current = task;
    (slot, task)
}

/// The answer the memo keeps: the slot of `task`'s container, or of its whole process.
#[inline(always)]
fn uncached_membership(task: u64) -> Option<u32> {
    uncached_value(task).map(|value| value & TRACED_SLOT_MASK)
}

/// `task`'s [`TRACED`] value (slot and `contract::TRACED_STARTED`), else its whole process's
/// slot.
#[inline(always)]
fn uncached_value(task: u64) -> Option<u32> {
    // SAFETY: the value is copied at once, before a concurrent delete could free it.
    if let Some(value) = unsafe { TRACED.get(task) } {
        return Some(*value);
    }
    // Only once some process was marked whole (TSYNC, `record`): one more helper.
    let groups = NODE.get(NODE_GROUPS).copied().unwrap_or(0);
    if groups == 0 {
        return None;
    }
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    // SAFETY: the value is copied at once, before a concurrent delete could free it.
    unsafe { TRACED_GROUPS.get(tgid) }.copied()
}

/// Marks syscall `slot` of table `index` made; returns the argument-table entry plus one the
/// byte names (`contract::SEEN_CALLED`), 0 for a call whose arguments are not recorded.
#[inline(always)]
fn mark(index: u32, slot: usize) -> u8 {
    let Some(seen) = SEEN.get_ptr_mut(index) else {
        return 0;
    };
    // SAFETY: a live map value (the lookup succeeded), and the index is bounds-checked; the
    // reference lives for one byte's compare and store, which another CPU can only repeat.
    let byte = unsafe { &mut (*seen).slots[slot] };
    let was = *byte;
    // The common case, one compare as before: a call already seen, outside the table.
    if was == SEEN_CALLED {
        return 0;
    }
    // Store only once: afterwards every CPU just reads the byte and the line stays shared.
    if was & SEEN_CALLED == 0 {
        *byte = was | SEEN_CALLED;
    }
    was >> 1
}

/// A number outside `SEEN` is counted, per container and CPU; its tracer reports the count with
/// the profile (no log record here: one made the verifier walk this program twice over).
#[inline(never)]
fn count_out_of_range(slot: u32) {
    if let Some(count) = OUT_OF_RANGE.get_ptr_mut(slot) {
        // SAFETY: this CPU's own value of a per-CPU map, and preemption is disabled.
        unsafe { *count += 1 };
    }
}

/// A member that could not be added is counted; its tracer reports the count with the
/// profile (no log record here: one costs the verifier more than the rest of this program).
#[inline(always)]
fn count_lost(slot: u32) {
    if let Some(count) = LOST.get_ptr_mut(slot) {
        // SAFETY: this CPU's own value of a per-CPU map, and preemption is disabled.
        unsafe { *count += 1 };
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
