//! The profile's side of the path: syscall numbers named per architecture ([`arch`]), a
//! recording turned into a profile by its [`recipe`] (merged with the `if:` baseline in
//! [`document`]), checked to be a profile ([`validate`](mod@validate)), read from a file ([`read`]) and
//! written where the user asked ([`write`](mod@write), within the administrator's [`allowed`]
//! directories). [`rules`] reads what a profile's rules and architectures say; [`runtime`]
//! names what each OCI runtime does under the container's filter before the workload runs;
//! [`args`](mod@args) turns recorded argument values into rules.

pub mod allowed;
pub mod arch;
pub mod args;
pub mod document;
pub mod read;
pub mod recipe;
pub mod rules;
pub mod runtime;
pub mod validate;
pub mod write;

pub use document::Profile;
pub use recipe::{Recipe, Recorded, DEFAULT_ERRNO, RUNTIME_FLOOR};
pub use validate::validate;
