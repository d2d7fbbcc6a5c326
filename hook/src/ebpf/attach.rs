//! Loading one program through the verifier and attaching it: to a raw tracepoint (a link of
//! our own, shareable by ID) or to a trace event (needs tracefs; the link stays in the
//! object). A refusal under lockdown is told as such ([`lockdown`]). The raw tracepoint
//! programs a first tracer attaches are verified side by side first ([`verify_together`]).

use std::time::{Duration, Instant};

use aya::{
    programs::{links::FdLink, Program, ProgramError, RawTracePoint, TracePoint},
    Ebpf,
};

use super::{
    error::ProgramsError,
    lockdown,
    timings::{lap, AttachTimings},
};
use crate::{contract, sys::fork};

/// Loads `name` and attaches it to the raw tracepoint `tracepoint`; the link is the caller's.
pub fn attach_raw(
    ebpf: &mut Ebpf,
    name: &'static str,
    tracepoint: &str,
    timings: &mut AttachTimings,
) -> Result<FdLink, ProgramsError> {
    let err = |source| ProgramsError::Program { name, source };
    let program = ebpf
        .program_mut(name)
        .ok_or(ProgramsError::Contract(name))?;
    let p: &mut RawTracePoint = program.try_into().map_err(err)?;
    let mut clock = Instant::now();
    // Verified already by `verify_together`, unless it failed there: then its error is told.
    if p.fd().is_err() {
        p.load().map_err(|e| load_failed(name, e))?;
    }
    let verified = lap(&mut clock);
    log::debug!("program {name} verified in {} us", verified.as_micros());
    timings.verify += verified;
    let id = p.attach(tracepoint).map_err(err)?;
    let link = p.take_link(id).map_err(err)?;
    timings.attach += lap(&mut clock);
    Ok(FdLink::from(link))
}

/// Loads the raw tracepoint programs `names` of `ebpf` at once, one thread each: the verifier
/// is most of a first start, and it checks each program on the CPU of the thread that loads
/// it (privileged loads take no lock of the verifier's). A program that fails here is loaded
/// again, alone, by [`attach_raw`], which tells why.
pub fn verify_together(ebpf: &mut Ebpf, names: &[&str], timings: &mut AttachTimings) {
    let mut clock = Instant::now();
    let threads = fork::thread_count().unwrap_or(1);
    std::thread::scope(|scope| {
        let loads: Vec<_> = ebpf
            .programs_mut()
            .filter(|(name, _)| names.contains(name))
            .filter_map(|(_, program)| match program {
                Program::RawTracePoint(p) => Some(scope.spawn(move || p.load())),
                _ => None,
            })
            .collect();
        for load in loads {
            let _ = load.join();
        }
    });
    // A fork right after (`record`'s forks come before, the benchmark's after) needs them gone.
    fork::settle_threads(threads, Duration::from_millis(100));
    let verified = lap(&mut clock);
    log::debug!("programs {names:?} verified in {} us", verified.as_micros());
    timings.verify += verified;
}

/// Why `name` did not load: the lockdown mode when it forbids tracing (the verifier's own log
/// only names a helper), else the kernel's answer.
fn load_failed(name: &'static str, source: ProgramError) -> ProgramsError {
    match lockdown::current_mode() {
        Some(mode) if lockdown::forbids_tracing(&mode) => ProgramsError::Lockdown { name, mode },
        _ => ProgramsError::Program { name, source },
    }
}

/// Loads `name` and attaches it to the `raw_syscalls:sys_enter` trace event; the link stays in `ebpf`.
pub fn attach_trace_event(
    ebpf: &mut Ebpf,
    name: &'static str,
    timings: &mut AttachTimings,
) -> Result<(), ProgramsError> {
    let err = |source| ProgramsError::Program { name, source };
    let program = ebpf
        .program_mut(name)
        .ok_or(ProgramsError::Contract(name))?;
    if !tracefs_mounted() {
        return Err(ProgramsError::NoTracefs);
    }
    let p: &mut TracePoint = program.try_into().map_err(err)?;
    let mut clock = Instant::now();
    p.load().map_err(|e| load_failed(name, e))?;
    timings.verify += lap(&mut clock);
    p.attach(contract::TRACEPOINT_CATEGORY, contract::TRACEPOINT_NAME)
        .map_err(err)?;
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
