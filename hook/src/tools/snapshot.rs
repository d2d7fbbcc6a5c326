//! `oci-seccomp-bpf-hook snapshot`: the profile recorded so far for a running traced container,
//! made as its final profile will be (same baseline, errno and runtime floor, kept by its
//! tracer in its slot's file), while the recording goes on. For servers, which never exit on
//! their own. With `--caps`, its capability report so far too.

use std::path::PathBuf;

use crate::{
    caps::report::Report,
    ebpf::{
        caps,
        error::ProgramsError,
        object,
        programs::Programs,
        seen::{read_caps, read_slot, window_open},
    },
    node::{
        label::LiveSlot,
        registry::{Registry, RegistryError},
    },
    profile::{arch::Arch, Profile},
};

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Programs(#[from] ProgramsError),
    #[error("no container {0:?} is traced on this node (see `oci-seccomp-bpf-hook status`)")]
    NotTraced(String),
    #[error("{count} traced containers start with {prefix:?}; give more of the ID")]
    Ambiguous { prefix: String, count: usize },
    #[error("container {0} has not started its workload yet; nothing to snapshot")]
    NotStarted(String),
    #[error("cannot read the capability sets of the container's process {pid}")]
    Process {
        pid: u32,
        #[source]
        source: std::io::Error,
    },
}

/// What a snapshot gives: the container's ID, its profile so far, and its capability report
/// so far (when asked for).
pub struct Taken {
    pub id: String,
    pub profile: Profile,
    pub caps: Option<Report>,
    /// What the recording lacks so far (`Snapshot::losses`).
    pub losses: Option<String>,
    /// Calls allowed for any argument value so far (`Args::notes`).
    pub notes: Option<String>,
}

/// The profile (and, with `caps`, the capability report) so far of the container whose ID is
/// `container`, or begins with it (unique).
pub fn take(container: &str, caps: bool) -> Result<Taken, SnapshotError> {
    // Held locked: the slot is not released (or reused) while we read it.
    let registry = object::registry()?;
    let (programs, found) = find(&registry, container)?;
    let (slot, label) = (found.slot, &found.label);
    if !window_open(&programs, slot)? {
        return Err(SnapshotError::NotStarted(label.id.clone()));
    }
    let seen = read_slot(&programs, slot)?;
    let caps = caps.then(|| report_so_far(&programs, &found)).transpose()?;
    Ok(Taken {
        id: label.id.clone(),
        profile: label.recipe.build(&seen.names(Arch::NATIVE)),
        caps,
        losses: seen.losses(Arch::NATIVE),
        notes: seen.args.notes(),
    })
}

/// The node's programs and the live slot of `container` (its ID or a unique beginning).
pub fn find(registry: &Registry, container: &str) -> Result<(Programs, LiveSlot), SnapshotError> {
    let not_traced = || SnapshotError::NotTraced(container.to_owned());
    let programs =
        Programs::join(&registry.links(), registry.note(caps::NOTE)).ok_or_else(not_traced)?;
    let live = registry.live_slots();
    if let Some(exact) = live.iter().find(|live| live.label.id == container) {
        return Ok((programs, exact.clone()));
    }
    let matching: Vec<_> = live
        .into_iter()
        .filter(|live| !container.is_empty() && live.label.id.starts_with(container))
        .collect();
    match <[LiveSlot; 1]>::try_from(matching) {
        Ok([one]) => Ok((programs, one)),
        Err(many) if many.is_empty() => Err(not_traced()),
        Err(many) => Err(SnapshotError::Ambiguous {
            prefix: container.to_owned(),
            count: many.len(),
        }),
    }
}

/// The capability report of a running container so far: its files are looked up through its
/// init's root, and it runs as root when its init does.
pub fn report_so_far(programs: &Programs, live: &LiveSlot) -> Result<Report, SnapshotError> {
    let observed_by = programs.caps().observed_by();
    let checks = read_caps(programs, live.slot)?;
    let root = PathBuf::from(format!("/proc/{}/root", live.pid));
    let status = std::fs::read_to_string(format!("/proc/{}/status", live.pid)).unwrap_or_default();
    let root_user = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_none_or(|effective| effective == "0");
    Ok(Report::build(
        observed_by,
        checks.as_ref(),
        &root,
        root_user,
    ))
}
