//! oci-seccomp-bpf-hook: record the system calls of a container (or any command) with eBPF and
//! turn them into a seccomp profile.
//!
//! One folder per part of the data path, each importing only the folders below it:
//!
//! | folder | holds | lives in |
//! |---|---|---|
//! | [`oci`] | OCI state in → annotation parsed → baseline and output checked → tracer forked; poststop reads the outcome | the short-lived hook (`-s`), before the container starts |
//! | [`tracer`] | attach → wait for the init's exit → profile written → outcome told | the long-lived tracer the hook forks |
//! | [`record`] | a command started held before `execve`, recorded like a container | `record` |
//! | [`wrapper`] | `create`/`run` of a bundle that asks for tracing: the hook added to its config.json, then the real runtime exec'd | `oci-seccomp-bpf-runtime`, the OCI runtime containerd and Docker are given |
//! | [`nri`] | each container whose pod asks: the hook added to its spec through the runtime's NRI socket (ttrpc over NRI's multiplexer) | `oci-seccomp-bpf-hook nri`, one long-lived plugin per node |
//! | [`tools`] | diff, merge, convert (SeccompProfile resources), snapshot, status | the commands that work on finished (or running) recordings |
//! | [`ebpf`] | the embedded object loaded or joined by ID, a container's slot in the shared maps, the set read back | every life that records |
//! | [`node`] | the node's files in `/run`: the registry of shared programs, slot labels, outcome files, the NRI plugin's presence | every life |
//! | [`profile`] | syscall names per architecture, the recipe, the profile merged with its baseline, validated, read and written | every life |
//! | [`caps`] | capability names and sets, executed files' capabilities, the capability report | every life that records, and `caps` |
//! | [`sys`] | fork, detach, pidfd watch, logging, one-line errors | every life |
//!
//! [`contract`] is the kernel/userspace contract, the same crate the eBPF program compiles;
//! [`cli`] is the command line (here so the man page is generated from it).

/// The kernel/userspace contract: names, sizes and map value types, shared with the eBPF
/// crate (written once, in `hook-ebpf/common`).
pub use hook_common as contract;

pub mod caps;
pub mod cli;
pub mod ebpf;
pub mod node;
pub mod nri;
pub mod oci;
pub mod profile;
pub mod record;
pub mod sys;
pub mod tools;
pub mod tracer;
pub mod wrapper;
