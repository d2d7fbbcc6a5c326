//! The kernel/userspace contract of oci-seccomp-bpf-hook.
//!
//! The eBPF program (`src/main.rs`) and the userspace crate `hook` both compile `contract.rs`,
//! so a map name, a program name or the bitmap size cannot drift between the two sides.
#![no_std]

pub mod contract;
