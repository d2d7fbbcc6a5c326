//! `oci-seccomp-bpf-hook snapshot`: the profile recorded so far for a running traced container,
//! made as its final profile will be (same baseline, errno and runtime floor, kept by its
//! tracer in its slot's file), while the recording goes on. For servers, which never exit on
//! their own.

use crate::{
    ebpf::{
        error::ProgramsError,
        object,
        programs::Programs,
        seen::{read_slot, window_open},
    },
    node::registry::RegistryError,
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
}

/// The profile so far of the container whose ID is `container`, or begins with it (unique),
/// and that ID.
pub fn take(container: &str) -> Result<(String, Profile), SnapshotError> {
    let not_traced = || SnapshotError::NotTraced(container.to_owned());
    // Held locked: the slot is not released (or reused) while we read it.
    let registry = object::registry()?;
    let programs = Programs::join(&registry.links()).ok_or_else(not_traced)?;
    let live = registry.live_slots();
    let exact = live.iter().find(|live| live.label.id == container);
    let found = match exact {
        Some(found) => found,
        None => {
            let matching: Vec<_> = live
                .iter()
                .filter(|live| !container.is_empty() && live.label.id.starts_with(container))
                .collect();
            match matching.as_slice() {
                [one] => *one,
                [] => return Err(not_traced()),
                many => {
                    return Err(SnapshotError::Ambiguous {
                        prefix: container.to_owned(),
                        count: many.len(),
                    })
                }
            }
        }
    };
    let (slot, label) = (found.slot, &found.label);
    if !window_open(&programs, slot)? {
        return Err(SnapshotError::NotStarted(label.id.clone()));
    }
    let recorded = read_slot(&programs, slot)?.names(Arch::NATIVE);
    Ok((label.id.clone(), label.recipe.build(&recorded)))
}
