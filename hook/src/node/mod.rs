//! What the node keeps in `/run/oci-seccomp-bpf-hook` (tmpfs, cleared at boot): the
//! [`registry`] where tracers find the shared programs and take container slots, each live
//! slot's [`label`], and the [`outcome`] files a tracer leaves for poststop; [`files`] has
//! the locked, root-only file helpers they all use.

use std::path::{Path, PathBuf};

pub mod files;
pub mod label;
pub mod outcome;
pub mod plugin;
pub mod registry;

/// The node's directory: outcome files by container ID, the registry under [`shared_dir`].
pub const RUN_DIR: &str = "/run/oci-seccomp-bpf-hook";

/// The registries of every eBPF object, under a name no container ID's outcome file can have.
pub fn shared_dir() -> PathBuf {
    Path::new(RUN_DIR).join("@shared")
}
