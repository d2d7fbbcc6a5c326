//! Many containers traced at once, by the node's one set of programs (alone in this test
//! binary, so the leak check sees only its own tracers).

use e2e::engine::{Engine, Podman};

/// Syscalls that neither runc's own calls after its filter install (`profile::runtime`) nor a
/// static binary's start-up make, that podman's default filter allows, and that are harmless
/// with all-zero arguments.
const OWN_SYSCALLS: [&str; 20] = [
    "msync",
    "mincore",
    "getitimer",
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

/// How many containers run at once.
const CONTAINERS: usize = 50;

/// Container `i`'s signature: a pair of [`OWN_SYSCALLS`] no other container has. A syscall
/// leaking in from any other container brings a name outside the pair.
fn signature(i: usize) -> [&'static str; 2] {
    let n = OWN_SYSCALLS.len();
    let mut pairs =
        (0..n).flat_map(|a| (a + 1..n).map(move |b| [OWN_SYSCALLS[a], OWN_SYSCALLS[b]]));
    pairs.nth(i * 3).expect("enough pairs")
}

#[test]
fn fifty_containers_at_once_each_get_only_their_own_syscalls_and_leave_nothing() {
    let Some(p) = e2e::ready(&["podman", "runc", "busybox", "gcc"], Podman::with_callnr) else {
        return;
    };
    let profiles: Vec<_> = (0..CONTAINERS)
        .map(|i| p.scratch_path(&format!("c{i}.json")))
        .collect();
    std::thread::scope(|scope| {
        for (i, profile) in profiles.iter().enumerate() {
            let p = &p;
            scope.spawn(move || {
                let annotation = format!("of:{}", profile.display());
                let numbers = signature(i).map(|s| e2e::syscall_number(s).to_string());
                let out = p.trace(&annotation, &["/bin/callnr", &numbers[0], &numbers[1]]);
                e2e::assert_success(&format!("container {i}"), &out);
            });
        }
    });
    for (i, profile) in profiles.iter().enumerate() {
        let (_, names) = e2e::allowed_names(profile);
        let mut own: Vec<&str> = OWN_SYSCALLS
            .iter()
            .copied()
            .filter(|s| names.iter().any(|n| n == s))
            .collect();
        own.sort_unstable();
        let mut expected = signature(i).to_vec();
        expected.sort_unstable();
        assert_eq!(
            own, expected,
            "container {i}: its own pair, and nobody else's"
        );
    }
    // podman returns after poststop, which waits for each tracer's profile; the tracers then
    // exit at once. Nothing of ours may stay behind, in userspace or in the kernel.
    e2e::poll_until(std::time::Duration::from_secs(5), || {
        e2e::hook_processes().is_empty().then_some(())
    });
    assert_eq!(
        e2e::hook_processes(),
        Vec::<i32>::new(),
        "tracers left running"
    );
    let left = e2e::kernel_released_within(std::time::Duration::from_secs(1));
    assert!(left.is_empty(), "left in the kernel: {left:?}");
}

#[test]
fn signatures_are_distinct() {
    let all: Vec<_> = (0..CONTAINERS).map(signature).collect();
    for (i, a) in all.iter().enumerate() {
        assert!(all[i + 1..].iter().all(|b| b != a), "pair {i} repeats");
    }
}
