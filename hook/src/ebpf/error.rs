//! What can go wrong with our programs and maps, in words a user can act on.

use aya::{maps::MapError, programs::ProgramError, EbpfError};

use crate::node::registry::RegistryError;

#[derive(Debug, thiserror::Error)]
pub enum ProgramsError {
    #[error("cannot load the eBPF object")]
    Load(#[source] EbpfError),
    #[error("the eBPF object has no {0}; rebuild it with `cargo xtask build`")]
    Contract(&'static str),
    #[error("cannot load or attach eBPF program {name}")]
    Program {
        name: &'static str,
        #[source]
        source: ProgramError,
    },
    #[error(
        "the kernel is locked down in {mode} mode, which forbids eBPF programs to read kernel \
         memory, so {name} cannot load: boot without `lockdown={mode}` (integrity mode allows \
         tracing) to record system calls"
    )]
    Lockdown { name: &'static str, mode: String },
    #[error("cannot read back the link of eBPF program {name}")]
    Link {
        name: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "tracefs is not mounted, and the tracepoint needs it: mount it with \
         `mount -t tracefs nodev /sys/kernel/tracing`, or use --attach raw-tracepoint"
    )]
    NoTracefs,
    #[error("cannot read the kernel's BTF: {0}")]
    Btf(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("cannot use eBPF map {name}")]
    Map {
        name: &'static str,
        #[source]
        source: MapError,
    },
}

/// A map error of `name`, for `map_err`.
pub fn map_err(name: &'static str) -> impl Fn(MapError) -> ProgramsError {
    move |source| ProgramsError::Map { name, source }
}
