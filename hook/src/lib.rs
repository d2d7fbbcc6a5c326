//! oci-seccomp-bpf-hook: record the system calls of a PID namespace with eBPF and turn them into
//! a seccomp profile.
//!
//! The data flows through one module per step:
//! [`launch`] (start a command gated in a new PID namespace) → [`pidns`] (identify the
//! namespace) → [`recorder`] (eBPF program attached, syscall set read back) →
//! [`syscall_table`] (numbers to names) → [`profile`] (seccomp JSON) → [`output`] (atomic write).

/// The kernel/userspace contract, compiled from the eBPF crate's own file so both sides agree.
#[path = "../../hook-ebpf/src/contract.rs"]
pub mod contract;

pub mod allowed;
pub mod annotation;
pub mod baseline;
pub mod cli;
pub mod detach;
pub mod errors;
pub mod fork;
pub mod launch;
pub mod loader;
pub mod logging;
pub mod oci_hook;
pub mod outcome;
pub mod output;
pub mod pidns;
pub mod profile;
pub mod recorder;
pub mod syscall_table;
pub mod tracer;
pub mod watch;
