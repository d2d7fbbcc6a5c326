//! The commands that work on recordings already made or under way, never on a container's
//! start: [`diff`] and [`merge`] profiles, [`spo`] converts one into a Kubernetes
//! `SeccompProfile`, [`snapshot`] makes a running container's profile (and capability report)
//! so far, [`status`] lists what the node traces, [`caps`] decodes masks and shows what a
//! process or traced container holds.

pub mod caps;
pub mod diff;
pub mod merge;
pub mod snapshot;
pub mod spo;
pub mod status;
