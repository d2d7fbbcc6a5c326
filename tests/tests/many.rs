//! Many containers traced at once (alone in this test binary, so the leak check sees only its
//! own tracers).

use e2e::engine::{Engine, Podman};

/// Syscalls that neither runc's last steps nor a static binary's start-up make, that podman's
/// default filter allows, and that are harmless with all-zero arguments.
const OWN_SYSCALLS: [&str; 20] = [
    "msync",
    "mincore",
    "madvise",
    "shmget",
    "semget",
    "msgget",
    "flock",
    "getrusage",
    "sysinfo",
    "times",
    "getresgid",
    "getresuid",
    "getsid",
    "getpriority",
    "sched_getparam",
    "sched_getscheduler",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_rr_get_interval",
    "getcpu",
];

#[test]
fn twenty_containers_at_once_each_get_only_their_own_syscall_and_leave_nothing() {
    if !e2e::privileged_with(
        "twenty_containers_at_once_each_get_only_their_own_syscall_and_leave_nothing",
        &["podman", "runc", "busybox", "gcc"],
    ) {
        return;
    }
    let p = Podman::new();
    e2e::install_syscall_helper(p.rootfs());
    let profiles: Vec<_> = (0..OWN_SYSCALLS.len())
        .map(|i| p.scratch_path(&format!("c{i}.json")))
        .collect();
    std::thread::scope(|scope| {
        for (name, profile) in OWN_SYSCALLS.iter().zip(&profiles) {
            let p = &p;
            scope.spawn(move || {
                let annotation = format!("of:{}", profile.display());
                let nr = e2e::syscall_number(name).to_string();
                let out = p.trace(&annotation, &["/bin/callnr", &nr]);
                assert!(
                    out.status.success(),
                    "{name}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            });
        }
    });
    for (own, profile) in OWN_SYSCALLS.iter().zip(&profiles) {
        let (_, names) = e2e::allowed_names(profile);
        assert!(
            names.iter().any(|n| n == own),
            "{own} missing from its profile: {names:?}"
        );
        let foreign: Vec<_> = OWN_SYSCALLS
            .iter()
            .filter(|other| *other != own && names.iter().any(|n| n == *other))
            .collect();
        assert!(foreign.is_empty(), "{own}'s profile has {foreign:?}");
    }
    // podman returns after poststop, which waits for each tracer's profile; the tracers then
    // exit at once. Nothing of ours may stay behind.
    e2e::poll_until(std::time::Duration::from_secs(5), || {
        e2e::hook_processes().is_empty().then_some(())
    });
    assert_eq!(
        e2e::hook_processes(),
        Vec::<i32>::new(),
        "tracers left running"
    );
    assert_eq!(
        e2e::our_loaded_programs(),
        Vec::<String>::new(),
        "programs left loaded"
    );
}
