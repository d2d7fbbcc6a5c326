//! What of ours the kernel holds (programs, links, maps), and syscall numbers.

use crate::{contract, wait::poll_until};

/// Names of the loaded BPF programs that are ours (names from the eBPF object).
pub fn our_loaded_programs() -> Vec<String> {
    our_programs().into_iter().map(|(_, name)| name).collect()
}

/// (ID, name) of each loaded BPF program that is ours.
fn our_programs() -> Vec<(u32, String)> {
    aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .filter_map(|p| Some((p.id(), p.name_as_str()?.to_owned())))
        .filter(|(_, name)| contract::ALL_PROGRAMS.contains(&name.as_str()))
        .collect()
}

/// Everything of ours the kernel still holds: programs, links to them, maps with our names.
/// Empty once every tracer is gone.
pub fn ours_in_the_kernel() -> Vec<String> {
    let programs = our_programs();
    let mut left: Vec<String> = programs
        .iter()
        .map(|(_, n)| format!("program {n}"))
        .collect();
    left.extend(
        aya::programs::loaded_links()
            .filter_map(Result::ok)
            .filter(|l| programs.iter().any(|(id, _)| *id == l.program_id()))
            .map(|l| format!("link {}", l.id())),
    );
    let names = [
        contract::MAP_CONTAINERS,
        contract::MAP_SEEN,
        contract::MAP_TRACED,
        contract::MAP_TRACED_GROUPS,
        contract::MAP_INITS,
        contract::MAP_CGROUPS,
        contract::MAP_VERDICT,
    ];
    left.extend(
        aya::maps::loaded_maps()
            .filter_map(Result::ok)
            .filter_map(|m| m.name_as_str().map(str::to_owned))
            .filter(|name| names.contains(&name.as_str()))
            .map(|name| format!("map {name}")),
    );
    left
}

/// Waits up to `timeout` for [`ours_in_the_kernel`] to be empty; what is left otherwise.
pub fn kernel_released_within(timeout: std::time::Duration) -> Vec<String> {
    poll_until(timeout, || ours_in_the_kernel().is_empty().then_some(()));
    ours_in_the_kernel()
}

/// The native number of syscall `name`.
pub fn syscall_number(name: &str) -> u32 {
    name.parse::<syscalls::Sysno>()
        .unwrap_or_else(|_| panic!("{name} is not a syscall here"))
        .id() as u32
}
