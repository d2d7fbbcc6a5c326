//! One container's recorder: the node's shared [`programs`](super::programs) plus the
//! container's [`slot`](super::slot) in their maps. Reads back the set of syscall numbers the
//! container has made ([`seen`](super::seen)). Dropping the [`Recorder`] releases the slot; the
//! programs stay attached while any other tracer holds them.

use std::{path::Path, time::Instant};

use super::{
    caps::CapWatch,
    container::Container,
    error::ProgramsError,
    object,
    programs::{AttachPoint, Programs},
    seen::{read_caps, read_slot, window_open, Snapshot},
    slot::{Slot, SlotError, Window},
    timings::{lap, AttachTimings},
};
use crate::{
    caps::report::{Checks, Report},
    node::{label::Label, registry::RegistryError},
};

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error(transparent)]
    Programs(#[from] ProgramsError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Slot(#[from] SlotError),
}

/// A container registered with attached programs.
pub struct Recorder {
    programs: Programs,
    slot: Option<Slot>,
    timings: AttachTimings,
}

impl Recorder {
    /// Registers `container` with the node's programs at `point`: the shared ones on the raw
    /// tracepoint (joined, or loaded and published when none run), private ones on the trace
    /// event.
    pub fn attach(
        container: &Container,
        window: Window,
        point: AttachPoint,
        label: &Label,
    ) -> Result<Self, RecorderError> {
        let mut timings = AttachTimings::default();
        let (programs, slot) = match point {
            AttachPoint::RawTracepoint => {
                let registry = object::registry()?;
                let mut programs = Programs::shared(&registry, &mut timings)?;
                let mut clock = Instant::now();
                let slot = Slot::take(&registry, &mut programs, container, window, label)?;
                timings.register += lap(&mut clock);
                (programs, slot)
            }
            AttachPoint::Tracepoint => {
                let mut programs = Programs::load(point, &mut timings)?;
                let slot = Slot::private(&mut programs, container, window)?;
                (programs, slot)
            }
        };
        Ok(Self {
            programs,
            slot: Some(slot),
            timings,
        })
    }

    /// How long each phase of [`Recorder::attach`] took.
    pub fn timings(&self) -> AttachTimings {
        self.timings
    }

    /// Whether this recorder loaded the programs (the first on the node) or joined them.
    pub fn loaded_programs(&self) -> bool {
        self.programs.loaded_here()
    }

    /// Kernel memory of the programs' maps, by name, in bytes (see
    /// [`Programs::kernel_memory`]).
    pub fn kernel_memory(&self) -> Vec<(String, u64)> {
        self.programs.kernel_memory()
    }

    fn index(&self) -> u32 {
        self.slot.as_ref().map_or(0, Slot::index)
    }

    /// The syscalls recorded up to now (recording goes on).
    pub fn snapshot(&self) -> Result<Snapshot, RecorderError> {
        Ok(read_slot(&self.programs, self.index())?)
    }

    /// How capability checks are seen on this node.
    pub fn caps(&self) -> &CapWatch {
        self.programs.caps()
    }

    /// The capability checks recorded up to now; `None` where they cannot be seen.
    pub fn capability_checks(&self) -> Result<Option<Checks>, RecorderError> {
        Ok(read_caps(&self.programs, self.index())?)
    }

    /// The capability report so far: executed files' capabilities read inside `root`.
    pub fn capability_report(&self, root: &Path, root_user: bool) -> Result<Report, RecorderError> {
        let observed_by = self.caps().observed_by();
        let checks = self.capability_checks()?;
        Ok(Report::build(observed_by, checks.as_ref(), root, root_user))
    }

    /// True once the record window has opened (always, for [`Window::Everything`]).
    pub fn window_opened(&self) -> Result<bool, RecorderError> {
        Ok(window_open(&self.programs, self.index())?)
    }

    /// Frees the container's slot now, reporting what went wrong (dropping does it silently).
    pub fn release(mut self) -> Result<(), RecorderError> {
        match self.slot.take() {
            Some(slot) => Ok(slot.release(&mut self.programs)?),
            None => Ok(()),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            if let Err(e) = slot.release(&mut self.programs) {
                log::warn!("the container's slot was not cleared ({e}); the next tracer will");
            }
        }
        // Dropping `programs` afterwards closes our descriptors: the last one detaches.
    }
}
