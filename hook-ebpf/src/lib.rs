//! The kernel/userspace contract of oci-seccomp-bpf-hook.
//!
//! The eBPF program (`src/main.rs`) and the userspace crate `hook` both compile `contract.rs`,
//! so names and sizes are written once; `hook`'s `object_matches_the_contract` test checks the
//! built object against them (a stale object is refused by `hook`'s build script).
#![no_std]

pub mod contract;
