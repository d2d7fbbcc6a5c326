//! How this node's programs see capability checks, decided by trying: the `cap_capable` raw
//! tracepoint (Linux 6.14+), else fexit on `security_capable` (BPF trampolines), else a kprobe
//! on `cap_capable` (arm64 before 6.4), else not at all, said in one line. Attached after the shared programs, with `task_exec`, which marks a
//! task's workload as started (see `contract::CapsSeen` for which checks count).

use std::time::Instant;

use aya::{
    maps::Array,
    programs::{links::FdLink, FExit, KProbe},
    Btf, Ebpf,
};

use super::{
    attach::attach_raw,
    error::ProgramsError,
    timings::{lap, AttachTimings},
};
use crate::{
    contract::{self, CapCalibration},
    node::registry::LinkRecord,
    sys::errors::one_line,
};

/// The maps only the capability programs use: present exactly when one of them is attached.
pub const CAP_MAPS: [&str; 3] = [
    contract::MAP_CAPS,
    contract::MAP_EXECS,
    contract::MAP_EXEC_COUNTS,
];

/// The map only the tracepoint program uses (it alone weighs capset): present exactly when it
/// is the one attached, so that a tracer joining by ID finds it among that program's maps.
pub const TRACEPOINT_MAPS: [&str; 1] = [contract::MAP_CAPS_RAISED];

/// The registry note where the loading tracer says why no capability program is attached.
pub const NOTE: &str = "capabilities";

/// How capability checks are observed on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapWatch {
    /// The `capability:cap_capable` tracepoint: every check, without its audit option.
    Tracepoint,
    /// fexit on `security_capable`: every check through the LSM layer, with its options.
    Fexit,
    /// A kprobe on `cap_capable`: every check, with its options; the verdict is the
    /// capability's bit in the effective set (other LSMs' refusals are not seen).
    Kprobe,
    /// Neither: the reason, in one line.
    Unavailable(String),
}

impl CapWatch {
    /// What the report says of it.
    pub fn describe(&self) -> String {
        match self {
            CapWatch::Tracepoint => "tracepoint capability:cap_capable".into(),
            CapWatch::Fexit => format!("fexit {}", contract::CAP_FEXIT_FUNCTION),
            CapWatch::Kprobe => format!("kprobe {}", contract::CAP_KPROBE_FUNCTION),
            CapWatch::Unavailable(reason) => reason.clone(),
        }
    }

    /// What a report says of it: how checks were seen, or why they could not be.
    pub fn observed_by(&self) -> Result<String, String> {
        match self {
            CapWatch::Unavailable(reason) => Err(reason.clone()),
            watch => Ok(watch.describe()),
        }
    }

    /// Which one the published `records` attached; `note` says why when none did.
    pub fn of_records(records: &[LinkRecord], note: Option<String>) -> Self {
        let has = |name: &str| records.iter().any(|r| r.name == name);
        if has(contract::PROG_CAP_TRACEPOINT) {
            CapWatch::Tracepoint
        } else if has(contract::PROG_CAP_FEXIT) {
            CapWatch::Fexit
        } else if has(contract::PROG_CAP_KPROBE) {
            CapWatch::Kprobe
        } else {
            CapWatch::Unavailable(note.unwrap_or_else(|| {
                "the node's programs were loaded without a capability program".into()
            }))
        }
    }
}

/// `task_exec` and the first capability program this kernel accepts, with their names; none
/// when `offsets_missing` says the kernel's struct offsets could not be read.
pub fn attach(
    ebpf: &mut Ebpf,
    offsets_missing: Option<&str>,
    timings: &mut AttachTimings,
) -> (CapWatch, Vec<(FdLink, &'static str)>) {
    if let Some(reason) = offsets_missing {
        return (unavailable(reason), Vec::new());
    }
    let exec = contract::PROG_TASK_EXEC;
    let exec_link = match attach_raw(ebpf, exec, contract::EXEC_TRACEPOINT_NAME, timings) {
        Ok(link) => link,
        Err(e) => return (unavailable(&one_line(&e)), Vec::new()),
    };
    let cap = contract::PROG_CAP_TRACEPOINT;
    let tracepoint = attach_raw(ebpf, cap, contract::CAP_TRACEPOINT_NAME, timings);
    let (watch, name, link) = match tracepoint {
        Ok(link) => {
            if let Err(reason) = calibrate(ebpf) {
                log::warn!("{reason}");
            }
            (CapWatch::Tracepoint, cap, link)
        }
        Err(tp_error) => match attach_fexit(ebpf, timings) {
            Ok(link) => (CapWatch::Fexit, contract::PROG_CAP_FEXIT, link),
            Err(fexit_error) => match attach_kprobe(ebpf, timings) {
                Ok(link) => (CapWatch::Kprobe, contract::PROG_CAP_KPROBE, link),
                Err(kprobe_error) => {
                    let errors = [&tp_error, &fexit_error, &kprobe_error];
                    return (none_of(errors), Vec::new());
                }
            },
        },
    };
    log::debug!("capability checks observed by {}", watch.describe());
    (watch, vec![(exec_link, exec), (link, name)])
}

/// Teaches the tracepoint program the quiet overcommit check's stack (see
/// `contract::CapCalibration`) with one check of each kind from this thread: `setuid` to its
/// own uid (CAP_SETUID through `security_capable`) and one writable private mapping (the
/// accounted memory's quiet CAP_SYS_ADMIN check).
fn calibrate(ebpf: &mut Ebpf) -> Result<(), String> {
    let name = contract::MAP_CAP_CALIBRATION;
    let map = ebpf
        .map_mut(name)
        .ok_or(format!("the eBPF object has no {name}"))?;
    let mut cal: Array<_, CapCalibration> = Array::try_from(map).map_err(|e| e.to_string())?;
    let zero = [0u64; contract::CAP_STACK_DEPTH];
    let mut value = CapCalibration {
        tid: rustix::thread::gettid().as_raw_nonzero().get() as u64,
        normal: zero,
        quiet: zero,
        depth: 0,
        quiet_ip: 0,
    };
    cal.set(0, value, 0).map_err(|e| e.to_string())?;
    make_both_checks();
    let seen = cal.get(&0, 0).map_err(|e| e.to_string())?;
    let split = (0..contract::CAP_STACK_DEPTH)
        .find(|&i| seen.normal[i] != seen.quiet[i] && seen.normal[i] != 0 && seen.quiet[i] != 0);
    value.tid = 0;
    if let Some(depth) = split {
        value.depth = depth as u64;
        value.quiet_ip = seen.quiet[depth];
    }
    cal.set(0, value, 0).map_err(|e| e.to_string())?;
    match split {
        Some(_) => Ok(()),
        None => Err(
            "the kernel's quiet CAP_SYS_ADMIN check could not be told apart: it \
                     counts like any other"
                .into(),
        ),
    }
}

fn make_both_checks() {
    // SAFETY: setuid to the uid this thread already has changes nothing (raw, so only this
    // thread asks); the mapping is this function's own and unmapped at once.
    unsafe {
        libc::syscall(libc::SYS_setuid, libc::getuid());
        let page = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if page != libc::MAP_FAILED {
            libc::munmap(page, 4096);
        }
    }
}

/// fexit needs the kernel's BTF to find the function: parsed only on this fallback path.
fn attach_fexit(ebpf: &mut Ebpf, timings: &mut AttachTimings) -> Result<FdLink, ProgramsError> {
    let name = contract::PROG_CAP_FEXIT;
    let err = |source| ProgramsError::Program { name, source };
    let mut clock = Instant::now();
    let btf = Btf::from_sys_fs().map_err(|e| ProgramsError::Btf(e.to_string()))?;
    let program = ebpf
        .program_mut(name)
        .ok_or(ProgramsError::Contract(name))?;
    let fexit: &mut FExit = program.try_into().map_err(err)?;
    fexit
        .load(contract::CAP_FEXIT_FUNCTION, &btf)
        .map_err(err)?;
    timings.verify += lap(&mut clock);
    let id = fexit.attach().map_err(err)?;
    let link = fexit.take_link(id).map_err(err)?;
    timings.attach += lap(&mut clock);
    Ok(FdLink::from(link))
}

/// The last resort: a kprobe (kernels without kprobes refuse it).
fn attach_kprobe(ebpf: &mut Ebpf, timings: &mut AttachTimings) -> Result<FdLink, ProgramsError> {
    let name = contract::PROG_CAP_KPROBE;
    let err = |source| ProgramsError::Program { name, source };
    let mut clock = Instant::now();
    let program = ebpf
        .program_mut(name)
        .ok_or(ProgramsError::Contract(name))?;
    let kprobe: &mut KProbe = program.try_into().map_err(err)?;
    kprobe.load().map_err(err)?;
    timings.verify += lap(&mut clock);
    let id = kprobe
        .attach(contract::CAP_KPROBE_FUNCTION, 0)
        .map_err(err)?;
    let link = kprobe.take_link(id).map_err(err)?;
    timings.attach += lap(&mut clock);
    // A kprobe is a link the registry can share only as a BPF link (perf links, 5.15+).
    FdLink::try_from(link).map_err(|e| ProgramsError::Link {
        name,
        source: std::io::Error::other(e),
    })
}

fn unavailable(reason: &str) -> CapWatch {
    CapWatch::Unavailable(format!(
        "capability checks are not recorded on this kernel: {reason}"
    ))
}

fn none_of([tracepoint, fexit, kprobe]: [&ProgramsError; 3]) -> CapWatch {
    CapWatch::Unavailable(format!(
        "this kernel offers no way to observe capability checks: no capability:cap_capable \
         tracepoint (Linux 6.14+: {}), fexit on {} is refused ({}), and so is a kprobe on {} \
         ({})",
        one_line(tracepoint),
        contract::CAP_FEXIT_FUNCTION,
        one_line(fexit),
        contract::CAP_KPROBE_FUNCTION,
        one_line(kprobe)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_log_is_told_by_its_reason() {
        let log = "0: (bf) r8 = r1\n1: (79) r1 = *(u64 *)(r8 +24)\nmath between map_value pointer \
                   and register with unbounded min value is not allowed\nverification time 1788 \
                   usec\nstack depth 48+0\nprocessed 95 insns (limit 1000000)\n";
        let source = aya::programs::ProgramError::LoadError {
            io_error: std::io::Error::from_raw_os_error(22),
            verifier_log: aya_obj::VerifierLog::new(log.to_owned()),
        };
        let e = ProgramsError::Program {
            name: "cap_fexit",
            source,
        };
        let told = one_line(&e);
        assert_eq!(told.lines().count(), 1, "{told}");
        assert!(
            told.ends_with("with unbounded min value is not allowed"),
            "{told}"
        );
        assert!(
            told.starts_with("cannot load or attach eBPF program cap_fexit"),
            "{told}"
        );
    }
}
