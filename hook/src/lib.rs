//! oci-seccomp-bpf-hook: record the system calls of a container (or any command) with eBPF and
//! turn them into a seccomp profile.
//!
//! The data flows through one module per step. The short-lived hook ([`oci_hook`], `-s`):
//! OCI state in → [`annotation`] parsed → [`baseline`] and [`output`] checked (limits from
//! [`allowed`]) → [`detach`] forks the tracer. The long-lived [`tracer`]: [`container`] says what the
//! container is → [`recorder`] registers it with the node's shared programs ([`registry`]
//! finds them, [`programs`] joins them by ID through [`bpf_objects`] or has [`loader`] load
//! them, [`slot`] writes the container into their maps) and reads the set → [`watch`] waits for the exit → [`syscall_table`] names the numbers → [`profile`] merges
//! with the baseline → [`output`] writes the file → [`outcome`] tells poststop. `record` runs a
//! command through [`launch`] instead of a runtime; [`status`] lists the node's traced
//! containers. Shared: [`fork`], [`errors`], [`logging`].

/// The kernel/userspace contract, compiled from the eBPF crate's own file: written once.
#[path = "../../hook-ebpf/src/contract.rs"]
pub mod contract;

pub mod allowed;
pub mod annotation;
pub mod baseline;
pub mod bpf_objects;
pub mod cli;
pub mod compare;
pub mod container;
pub mod detach;
pub mod errors;
pub mod fork;
pub mod launch;
pub mod loader;
pub mod lockdown;
pub mod logging;
pub mod merge;
pub mod oci_hook;
pub mod outcome;
pub mod output;
pub mod profile;
pub mod programs;
pub mod recorder;
pub mod registry;
pub mod slot;
pub mod snapshot;
pub mod spo;
pub mod status;
pub mod syscall_table;
pub mod tracer;
pub mod watch;
