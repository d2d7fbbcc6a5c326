//! Where the time of getting the programs went, so the next optimisation is visible (the
//! bench prints these; the tracer logs them at debug level).

use std::time::{Duration, Instant};

/// Where the time of getting the programs went, so the next optimisation is visible.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttachTimings {
    /// Looking for running programs and opening them by ID (all of it, when they run).
    pub join: Duration,
    /// Creating aya's loader (see [`btf`](super::btf): kernel BTF hidden).
    pub loader: Duration,
    /// Reading the kernel's struct offsets from its BTF (see [`offsets`](super::offsets)).
    pub offsets: Duration,
    /// Parsing the object, creating its maps, setting the globals.
    pub object: Duration,
    /// `BPF_PROG_LOAD` of each attached program: mostly the verifier.
    pub verify: Duration,
    /// Opening the links.
    pub attach: Duration,
    /// Taking a container slot and writing the container into the maps.
    pub register: Duration,
}

/// The time since `clock`, which moves to now.
pub fn lap(clock: &mut Instant) -> Duration {
    let now = Instant::now();
    let elapsed = now - *clock;
    *clock = now;
    elapsed
}
