//! Capability checks of started members, and the executions that start them. Capability checks
//! are rare next to syscalls, but the kernel makes one on every writable private mapping (the
//! overcommit check), so a non-member is turned away by the per-CPU memo before any lookup.

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_get_stack, bpf_probe_read_kernel_str_bytes},
    macros::{fexit, kprobe, map, raw_tracepoint},
    maps::{Array, HashMap, PerCpuArray},
    programs::{FExitContext, ProbeContext, RawTracePointContext},
    EbpfContext,
};
use core::mem::MaybeUninit;
use hook_common::{
    CapCalibration, CapsSeen, ExecKey, Kept, BPF_F_NO_PREALLOC, CAP_FSETID, CAP_OPT_NOAUDIT,
    CAP_SETPCAP, CAP_SETUID, CAP_SLOTS, CAP_STACK_DEPTH, CAP_SYS_ADMIN, CONTAINER_SLOTS,
    EXEC_QUOTA, EXEC_SLOTS, KPROBE_ARG_SLOTS, NODE_EPOCH, OFFSET_BPRM_FILENAME,
    OFFSET_CRED_CAP_EFFECTIVE, OFFSET_CRED_USER_NS, OFFSET_FOUND, OFFSET_NS_INUM, OFFSET_REAL_CRED,
    TRACED_SLOT_MASK, TRACED_STARTED,
};

use crate::{
    add_member, capset, chmod, count_lost, current_task, kept,
    kernel::{global, offset, read_u32, read_u64},
    syscall, uncached_value, CONTAINERS, NODE, TRACED, VERDICT,
};

/// Where a kernel function's arguments are in `pt_regs` (`contract::GLOBAL_KPROBE_ARGS`).
#[unsafe(no_mangle)]
static KPROBE_ARGS: [u64; KPROBE_ARG_SLOTS] = [0; KPROBE_ARG_SLOTS];

#[map]
static CAPS: Array<CapsSeen> = Array::with_max_entries(CONTAINER_SLOTS, 0);

#[map]
static CAPS_RAISED: PerCpuArray<u64> = PerCpuArray::with_max_entries(CONTAINER_SLOTS, 0);

#[map]
static CAP_CAL: Array<CapCalibration> = Array::with_max_entries(1, 0);

#[map]
static EXECS: HashMap<ExecKey, u8> = HashMap::with_max_entries(EXEC_SLOTS, BPF_F_NO_PREALLOC);

#[map]
static EXEC_COUNTS: Array<Kept> = Array::with_max_entries(CONTAINER_SLOTS, 0);

/// `TP_PROTO(cred, target_ns, capable_ns, cap, ret)`; `capable_ns` is `cred->user_ns`.
#[raw_tracepoint(tracepoint = "cap_capable")]
pub fn cap_capable(ctx: RawTracePointContext) -> i32 {
    let (cred, target, cred_ns): (u64, u64, u64) = (ctx.arg(0), ctx.arg(1), ctx.arg(2));
    // `int` arguments: only the low 32 bits of their slots are defined.
    let (cap, ret) = (
        u64::from(ctx.arg::<u64>(3) as u32),
        ctx.arg::<u64>(4) as i32,
    );
    let task = current_task();
    let Some(slot) = started_slot(task) else {
        calibrate(&ctx, cap);
        return 0;
    };
    let Some(seen) = counted_in(task, slot, (cred, target, cred_ns)) else {
        return 0;
    };
    let granted = ret == 0;
    // The tracepoint has no options: the overcommit check is told by its stack.
    let kind = if cap == CAP_SYS_ADMIN && is_overcommit_check(&ctx) {
        Kind::Quiet
    } else if (cap == CAP_SETPCAP || cap == CAP_FSETID)
        && without_effect(task, slot, cred, cap, granted)
    {
        Kind::Unused
    } else {
        Kind::of_verdict(granted)
    };
    set_once(kind.bytes(seen), cap);
    0
}

/// Whether a check whose verdict counts only under a condition of its call
/// (`contract::WEIGHED_CALLS`) was made where the condition did not hold. Where it is capset's
/// and the call goes on, what it adds to the inheritable set is needed too, kept here. `false`
/// (counted by its verdict) where the call is another one or cannot be read.
#[inline(never)]
fn without_effect(task: u64, slot: u32, cred: u64, cap: u64, granted: bool) -> bool {
    let Some(call) = syscall::current(task) else {
        return false;
    };
    if cap == CAP_FSETID {
        return chmod::fsetid_unused(&call);
    }
    let Some(capset) = capset::weigh(&call, cred) else {
        return false;
    };
    if granted || !capset.setpcap_used {
        if let Some(word) = CAPS_RAISED.get_ptr_mut(slot) {
            // SAFETY: this CPU's own value of a per-CPU map, and the program runs with
            // migration disabled.
            unsafe { *word |= capset.raised };
        }
    }
    !capset.setpcap_used
}

/// Which of a container's [`CapsSeen`] sets a check that counts goes to.
#[derive(Clone, Copy)]
enum Kind {
    Granted,
    Denied,
    Quiet,
    Unused,
}

impl Kind {
    #[inline(always)]
    fn of_verdict(granted: bool) -> Self {
        match granted {
            true => Kind::Granted,
            false => Kind::Denied,
        }
    }

    /// A check with the options `CAP_OPT_NOAUDIT` marks quiet, else by its verdict.
    #[inline(always)]
    fn of_options(opts: u64, granted: bool) -> Self {
        match opts & CAP_OPT_NOAUDIT != 0 {
            true => Kind::Quiet,
            false => Kind::of_verdict(granted),
        }
    }

    /// The first of this set's `CAP_SLOTS` bytes in `seen`, a live map value.
    #[inline(always)]
    fn bytes(self, seen: *mut CapsSeen) -> *mut u8 {
        // SAFETY: `seen` is a live map value (its lookup succeeded); only a field address is
        // taken.
        unsafe {
            match self {
                Kind::Granted => (*seen).granted.as_mut_ptr(),
                Kind::Denied => (*seen).denied.as_mut_ptr(),
                Kind::Quiet => (*seen).quiet.as_mut_ptr(),
                Kind::Unused => (*seen).unused.as_mut_ptr(),
            }
        }
    }
}

/// `security_capable(cred, ns, cap, opts)`, then its return value.
#[fexit(function = "security_capable")]
pub fn cap_fexit(ctx: FExitContext) -> i32 {
    let (cred, target): (u64, u64) = (ctx.arg(0), ctx.arg(1));
    // `int` and `unsigned int`: only the low 32 bits of their slots are defined (5.10's
    // trampoline leaves the rest as the caller's registers had them).
    let cap = u64::from(ctx.arg::<u64>(2) as u32);
    let opts = u64::from(ctx.arg::<u64>(3) as u32);
    let ret = ctx.arg::<u64>(4) as i32;
    let task = current_task();
    let Some(slot) = started_slot(task) else {
        return 0;
    };
    let cred_ns = read_u64(cred.wrapping_add(offset(OFFSET_CRED_USER_NS)));
    let kind = Kind::of_options(opts, ret == 0);
    record_check(task, slot, (cred, target, cred_ns), cap, kind);
    0
}

/// `cap_capable(cred, target_ns, cap, opts)` at its entry, where the kernel has neither the
/// tracepoint nor fexit. The verdict is the capability's bit in `cred->cap_effective`: what
/// cap_capable answers when the target namespace is the cred's own, the only checks that count.
#[kprobe(function = "cap_capable")]
pub fn cap_kprobe(ctx: ProbeContext) -> u32 {
    let task = current_task();
    let Some(slot) = started_slot(task) else {
        return 0;
    };
    let regs = ctx.as_ptr() as u64;
    let (cred, target) = (kprobe_arg(regs, 0), kprobe_arg(regs, 1));
    // `int` and `unsigned int`: only the low 32 bits of their registers are defined.
    let cap = u64::from(kprobe_arg(regs, 2) as u32);
    let opts = u64::from(kprobe_arg(regs, 3) as u32);
    let cred_ns = read_u64(cred.wrapping_add(offset(OFFSET_CRED_USER_NS)));
    let effective = read_u64(cred.wrapping_add(offset(OFFSET_CRED_CAP_EFFECTIVE)));
    let granted = cap < 64 && (effective >> cap) & 1 == 1;
    let kind = Kind::of_options(opts, granted);
    record_check(task, slot, (cred, target, cred_ns), cap, kind);
    0
}

/// Argument `i` of the probed function, from the registers at `regs`.
#[inline(always)]
fn kprobe_arg(regs: u64, i: usize) -> u64 {
    read_u64(regs.wrapping_add(global(&KPROBE_ARGS, i)))
}

/// A member's successful execve: its workload has started, and the file's name is kept.
/// `TP_PROTO(p, old_pid, bprm)`, run in the task itself.
#[raw_tracepoint(tracepoint = "sched_process_exec")]
pub fn task_exec(ctx: RawTracePointContext) -> i32 {
    let task = current_task();
    // SAFETY: only whether there is a value is used, not the value.
    let listed = unsafe { TRACED.get(task) }.is_some();
    let Some(value) = uncached_value(task) else {
        return 0;
    };
    let slot = value & TRACED_SLOT_MASK;
    // A member through its whole process only (TSYNC, `record`) joins the map, and is
    // counted, so that the container's count says whether any of its tasks are in the map.
    let kept = match listed {
        true => TRACED.insert(task, slot | TRACED_STARTED, 0).is_ok(),
        false => add_member(task, slot | TRACED_STARTED, slot),
    };
    if !kept {
        if listed {
            count_lost(slot);
        }
        return 0;
    }
    let bprm: u64 = ctx.arg(2);
    remember_exec(slot, bprm);
    0
}

/// Records one check of started member `task` for its container `slot`, if it counts.
#[inline(always)]
fn record_check(task: u64, slot: u32, who: (u64, u64, u64), cap: u64, kind: Kind) {
    if let Some(seen) = counted_in(task, slot, who) {
        set_once(kind.bytes(seen), cap);
    }
}

/// The sets of container `slot` a check of its started member `task` counts in, if it counts
/// (`contract::CapsSeen`): `who` is (cred, target namespace, the cred's namespace).
#[inline(always)]
fn counted_in(task: u64, slot: u32, who: (u64, u64, u64)) -> Option<*mut CapsSeen> {
    let (cred, target, cred_ns) = who;
    // Borrowed credentials (overlayfs copy-up, override_creds) are not the workload's.
    if offset(OFFSET_FOUND) == 0 || read_u64(task.wrapping_add(offset(OFFSET_REAL_CRED))) != cred {
        return None;
    }
    if target != cred_ns {
        return None;
    }
    let container = CONTAINERS.get(slot)?;
    let inum = read_u32(cred_ns.wrapping_add(offset(OFFSET_NS_INUM)));
    if u64::from(inum) != container.user_ns {
        return None;
    }
    CAPS.get_ptr_mut(slot)
}

/// Sets byte `index` of the `CAP_SLOTS` bytes at `bytes`, once. A function of its own: the
/// bounds check and the store stay in registers, where the verifier sees the bound (5.10's
/// loses it when the index is spilled to the stack and reloaded).
#[inline(never)]
fn set_once(bytes: *mut u8, index: u64) {
    if index >= CAP_SLOTS as u64 {
        return;
    }
    // SAFETY: `bytes` starts `CAP_SLOTS` bytes of a live map value and `index` is below that;
    // another CPU storing the same 1 at once is harmless.
    unsafe {
        let byte = bytes.add(index as usize);
        if *byte == 0 {
            *byte = 1;
        }
    }
}

/// The slot of `task`'s container once its workload started. The memo answers "not a member"
/// for the task that last made a syscall on this CPU without a lookup.
#[inline(always)]
fn started_slot(task: u64) -> Option<u32> {
    if let (Some(memo), Some(epoch)) = (VERDICT.get(0), NODE.get(NODE_EPOCH)) {
        if memo.current == task && memo.epoch == *epoch && memo.slot == 0 {
            return None;
        }
    }
    // SAFETY: the value is copied at once, before a concurrent delete could free it.
    let value = unsafe { TRACED.get(task) }.copied()?;
    (value & TRACED_STARTED != 0).then_some(value & TRACED_SLOT_MASK)
}

/// Whether the current check returns into the quiet overcommit check's caller where a
/// `security_capable` check would not (see `contract::CapCalibration`).
#[inline(never)]
fn is_overcommit_check<C: EbpfContext>(ctx: &C) -> bool {
    let Some(cal) = CAP_CAL.get(0) else {
        return false;
    };
    let depth = cal.depth as usize;
    if cal.quiet_ip == 0 || depth >= CAP_STACK_DEPTH {
        return false;
    }
    // Left uninitialised (the helper takes uninitialised memory): zeroing it first cost a
    // byte-by-byte loop the verifier walked on every load.
    let mut stack = MaybeUninit::<[u64; CAP_STACK_DEPTH]>::uninit();
    let size = core::mem::size_of_val(&stack) as u32;
    // SAFETY: `stack` is a live buffer of `size` bytes; the helper writes at most that.
    let got = unsafe { bpf_get_stack(ctx.as_ptr(), stack.as_mut_ptr().cast(), size, 0) };
    if got < ((depth + 1) * 8) as i64 {
        return false;
    }
    // SAFETY: the helper wrote `got` bytes from the start, which cover word `depth`.
    unsafe { stack.as_ptr().cast::<u64>().add(depth).read() == cal.quiet_ip }
}

/// During calibration, the calibrating thread's checks leave their stacks instead of counting.
#[inline(never)]
fn calibrate<C: EbpfContext>(ctx: &C, cap: u64) {
    let Some(cal) = CAP_CAL.get_ptr_mut(0) else {
        return;
    };
    let tid = bpf_get_current_pid_tgid() & 0xffff_ffff;
    // SAFETY: a live map value (the lookup succeeded); only the calibrating thread, one check
    // at a time, writes it.
    let cal = unsafe { &mut *cal };
    if cal.tid == 0 || cal.tid != tid {
        return;
    }
    let stack = match cap {
        CAP_SETUID => &mut cal.normal,
        CAP_SYS_ADMIN => &mut cal.quiet,
        _ => return,
    };
    let size = core::mem::size_of_val(stack) as u32;
    // SAFETY: `stack` is a live buffer of `size` bytes; the helper writes at most that.
    unsafe { bpf_get_stack(ctx.as_ptr(), stack.as_mut_ptr().cast(), size, 0) };
}

/// Keeps `bprm->filename` for `slot` within its quota; a name not kept is counted (the check
/// itself still counts).
#[inline(never)]
fn remember_exec(slot: u32, bprm: u64) {
    if offset(OFFSET_FOUND) == 0 {
        return;
    }
    let name = read_u64(bprm.wrapping_add(offset(OFFSET_BPRM_FILENAME)));
    let mut key = MaybeUninit::<ExecKey>::uninit();
    // SAFETY: `key` is a live local; every word of it is written before it is read.
    let key = unsafe {
        zero_words(key.as_mut_ptr());
        (*key.as_mut_ptr()).slot = slot;
        key.assume_init_mut()
    };
    // SAFETY: the helper checks the address itself and fails rather than faults.
    if unsafe { bpf_probe_read_kernel_str_bytes(name as *const u8, &mut key.path) }.is_err() {
        kept::lose(&EXEC_COUNTS, slot);
        return;
    }
    // By reference: a copy of the 256-byte key would fill half the 512-byte BPF stack.
    #[allow(clippy::needless_borrows_for_generic_args)]
    if EXECS.get_ptr(&*key).is_none() {
        kept::keep(&EXECS, key, &EXEC_COUNTS, slot, EXEC_QUOTA);
    }
}

/// Zeroes the `T` at `at` one aligned u32 at a time: the whole key is hashed, so the bytes after
/// the name must be zeros, and a plain zeroed value became a byte-by-byte `memset` loop that
/// the verifier walked 252 times on every load (1,263 of `task_exec`'s 1,531 instructions).
///
/// # Safety
/// `at` must point to a live, 4-aligned `T` whose size is a multiple of 4.
#[inline(always)]
unsafe fn zero_words<T>(at: *mut T) {
    const { assert!(core::mem::size_of::<T>().is_multiple_of(4) && core::mem::align_of::<T>() >= 4) };
    let words = at.cast::<u32>();
    for i in 0..core::mem::size_of::<T>() / 4 {
        // SAFETY: in bounds of `*at` (size a multiple of 4), aligned; volatile so the stores
        // stay stores rather than becoming the loop again.
        unsafe { words.add(i).write_volatile(0) };
    }
}
