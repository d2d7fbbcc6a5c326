//! The eBPF side of recording, as userspace drives it: the embedded [`object`] (loaded with
//! the node's globals, without the kernel's [`btf`]), its programs loaded and [`attach`]ed by
//! the first tracer or joined [`by_id`] by every later one ([`programs`]), the [`container`]
//! as the programs know it written into its [`slot`] of the shared maps ([`maps`]), and the set
//! read back ([`seen`], with the
//! argument values [`args`] keeps); a [`recorder`] is all of that for one container. Capability checks
//! are seen by the program [`caps`] attaches, which needs kernel struct [`offsets`].
//! [`lockdown`], [`error`] and [`timings`] serve them.

pub mod args;
pub mod attach;
pub mod btf;
pub mod by_id;
pub mod caps;
pub mod container;
pub mod error;
pub mod lockdown;
pub mod maps;
pub mod object;
pub mod offsets;
pub mod programs;
pub mod recorder;
pub mod seen;
pub mod slot;
pub mod timings;
