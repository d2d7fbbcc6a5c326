//! One set of programs serves every traced container on the node: tracers that die leave
//! nothing attached, two builds with different eBPF objects run side by side, and containers
//! coming and going never take each other's syscalls or slots.
//!
//! The tests of this binary run one at a time: the first checks that nothing of ours is left
//! in the kernel, which another test's tracers would spoil.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output},
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use e2e::engine::{Engine, Podman};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn has(names: &[String], syscall: &str) -> bool {
    names.iter().any(|n| n == syscall)
}

/// A podman engine with `/bin/callnr`, and this binary's turn, when the test can run here.
fn podman_alone() -> Option<(MutexGuard<'static, ()>, Podman)> {
    e2e::ready(&["podman", "runc", "busybox", "gcc"], || {
        let alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        (alone, Podman::with_callnr())
    })
}

fn kill(pid: i32) {
    let pid = rustix::process::Pid::from_raw(pid).expect("a PID");
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
}

#[test]
fn sigkilled_tracers_leave_nothing_attached_and_the_next_container_records() {
    let Some((_alone, p)) = podman_alone() else {
        return;
    };
    let hook = e2e::hook_binary();
    std::thread::scope(|scope| {
        let done = e2e::StopFile(p.rootfs().join("tmp/done"));
        let runs: Vec<_> = (0..3)
            .map(|i| {
                let p = &p;
                scope.spawn(move || {
                    let profile = p.scratch_path(&format!("killed{i}.json"));
                    let script =
                        format!("touch /tmp/up{i}; while [ ! -e /tmp/done ]; do sleep 0.05; done");
                    p.trace(&format!("of:{}", profile.display()), &["sh", "-c", &script])
                })
            })
            .collect();
        for i in 0..3 {
            e2e::until_exists(&p.rootfs().join(format!("tmp/up{i}")));
        }
        let registered = e2e::poll_until(Duration::from_secs(10), || {
            (e2e::traced_containers(&hook).len() == 3).then_some(())
        });
        assert!(
            registered.is_some(),
            "three containers were never registered"
        );
        for pid in e2e::hook_processes() {
            kill(pid);
        }
        let killed = Instant::now();
        let left = e2e::kernel_released_within(Duration::from_secs(1));
        assert!(
            left.is_empty(),
            "{:?} after the last tracer was killed: {left:?}",
            killed.elapsed()
        );
        done.create();
        for run in runs {
            // Their tracers are gone: poststop may report that; the containers themselves end.
            let _ = run.join();
        }
    });

    // The next container takes a slot a killed tracer held, and records normally.
    let profile = p.scratch_path("after.json");
    let out = p.trace(
        &format!("of:{}", profile.display()),
        &["/bin/callnr", &e2e::syscall_number("getcpu").to_string()],
    );
    e2e::assert_success("the container after the kill", &out);
    let names = e2e::names(&profile);
    assert!(has(&names, "getcpu"), "getcpu missing: {names:?}");
    assert!(
        !has(&names, "nanosleep") && !has(&names, "clock_nanosleep"),
        "the killed containers' sleeps leaked in: {names:?}"
    );
}

/// `record -o PROFILE -- phase NR1 STOP NR2` with `binary`, started. Killed when dropped
/// unwaited: a failed assertion must not leave it polling for a stop file that is gone.
fn record_phases(
    binary: &Path,
    profile: &Path,
    phase: &Path,
    nr: [&str; 2],
    stop: &Path,
) -> Running {
    let child = Command::new(binary)
        .arg("record")
        .arg("-o")
        .arg(profile)
        .arg("--")
        .arg(phase)
        .arg(nr[0])
        .arg(stop)
        .arg(nr[1])
        .spawn()
        .expect("record starts");
    Running(Some(child))
}

struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait_success(what: &str, mut running: Running) -> Output {
    let child = running.0.take().expect("not waited yet");
    let out = e2e::child::output_within(child, e2e::child::DEADLINE, what);
    e2e::assert_success(what, &out);
    out
}

/// Helpers in `dir/bin`, run on the host by `record`.
fn host_helpers(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("bin")).expect("bin directory");
    e2e::install_phase_helper(dir);
    e2e::install_syscall_helper(dir);
    dir.join("bin")
}

#[test]
fn two_builds_with_different_objects_trace_side_by_side() {
    if !e2e::privileged_with(&["gcc"]) {
        return;
    }
    let Some(skewed) = e2e::skewed_binary() else {
        return;
    };
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("scratch directory");
    let bin = host_helpers(dir.path());
    let stop = e2e::StopFile(dir.path().join("stop"));
    let nr = |name| e2e::syscall_number(name).to_string();
    let (ours, theirs) = (dir.path().join("ours.json"), dir.path().join("theirs.json"));
    let main = e2e::hook_binary();
    let phase = bin.join("phase");
    let a = record_phases(
        &main,
        &ours,
        &phase,
        [&nr("getcpu"), &nr("getsid")],
        &stop.0,
    );
    let b = record_phases(
        &skewed,
        &theirs,
        &phase,
        [&nr("sysinfo"), &nr("times")],
        &stop.0,
    );
    let both = e2e::poll_until(Duration::from_secs(10), || {
        let traced = e2e::traced_containers(&main);
        (traced.len() == 2).then_some(traced)
    })
    .expect("both recordings registered");
    assert_ne!(
        both[0].0, both[1].0,
        "the two builds share an object: {both:?}"
    );
    let status = e2e::status_of(&main);
    for object in status["objects"].as_array().into_iter().flatten() {
        if object["containers"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
        {
            // The shared three, and task_exec with a capability program where the kernel
            // has one.
            let programs = object["programs"].as_array().map(Vec::len);
            assert!(matches!(programs, Some(3 | 5)), "{object}");
        }
    }
    stop.create();
    wait_success("record with the main build", a);
    wait_success("record with the skewed build", b);
    let (ours, theirs) = (e2e::names(&ours), e2e::names(&theirs));
    for (names, own, foreign) in [
        (&ours, ["getcpu", "getsid"], ["sysinfo", "times"]),
        (&theirs, ["sysinfo", "times"], ["getcpu", "getsid"]),
    ] {
        for syscall in own {
            assert!(has(names, syscall), "{syscall} missing: {names:?}");
        }
        for syscall in foreign {
            assert!(!has(names, syscall), "{syscall} leaked in: {names:?}");
        }
    }
    let left = e2e::kernel_released_within(Duration::from_secs(1));
    assert!(left.is_empty(), "left in the kernel: {left:?}");
}

/// How long containers come and go in the churn test.
const CHURN: Duration = Duration::from_secs(60);
/// The churning shells' own syscalls, one each.
const CHURN_SYSCALLS: [&str; 4] = ["getcpu", "sysinfo", "times", "getresuid"];

#[test]
fn containers_coming_and_going_never_change_anyone_elses_profile() {
    let Some((_alone, p)) = podman_alone() else {
        return;
    };
    let dir = tempfile::tempdir().expect("scratch directory");
    let bin = host_helpers(dir.path());
    let hook = e2e::hook_binary();
    let nr = |name| e2e::syscall_number(name).to_string();

    // What each kind of run records when it is alone on the node.
    let reference = |shell: usize| {
        let profile = p.scratch_path(&format!("reference{shell}.json"));
        let nr = nr(CHURN_SYSCALLS[shell]);
        let out = p.trace(&format!("of:{}", profile.display()), &["/bin/callnr", &nr]);
        e2e::assert_success("a reference container", &out);
        e2e::names(&profile)
    };
    let references: Vec<_> = (0..CHURN_SYSCALLS.len()).map(reference).collect();
    let long_lived = |tag: &str, stop: &Path| {
        let profile = dir.path().join(format!("{tag}.json"));
        let phase = bin.join("phase");
        let child = record_phases(
            &hook,
            &profile,
            &phase,
            [&nr("getsid"), &nr("getpgrp")],
            stop,
        );
        (profile, child)
    };
    let alone_stop = dir.path().join("alone-stop");
    std::fs::write(&alone_stop, "").expect("stop file");
    let (alone, child) = long_lived("alone", &alone_stop);
    wait_success("the long-lived recording alone", child);
    let alone = e2e::names(&alone);

    // Two long-lived recordings, while four shells start and stop containers for a minute.
    let stop = e2e::StopFile(dir.path().join("stop"));
    let lived: Vec<_> = ["lived0", "lived1"]
        .map(|tag| long_lived(tag, &stop.0))
        .into();
    let started = Instant::now();
    let runs = std::thread::scope(|scope| {
        let shells: Vec<_> = (0..CHURN_SYSCALLS.len())
            .map(|shell| {
                let (p, references, nr) = (&p, &references, nr(CHURN_SYSCALLS[shell]));
                scope.spawn(move || {
                    let mut runs = 0;
                    while started.elapsed() < CHURN {
                        let profile = p.scratch_path(&format!("churn{shell}-{runs}.json"));
                        let out =
                            p.trace(&format!("of:{}", profile.display()), &["/bin/callnr", &nr]);
                        e2e::assert_success(&format!("shell {shell}, run {runs}"), &out);
                        let got = e2e::names(&profile);
                        assert_eq!(got, references[shell], "shell {shell}, run {runs}");
                        std::fs::remove_file(&profile).expect("profile removed");
                        runs += 1;
                    }
                    runs
                })
            })
            .collect();
        // Meanwhile: no slot is ever listed for two live containers.
        while started.elapsed() < CHURN {
            let traced = e2e::traced_containers(&hook);
            let mut slots: Vec<_> = traced
                .iter()
                .map(|(o, c)| (o.clone(), c["slot"].as_u64()))
                .collect();
            let count = slots.len();
            slots.sort();
            slots.dedup();
            assert_eq!(slots.len(), count, "a slot listed twice: {traced:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        shells
            .into_iter()
            .map(|s| s.join().expect("a shell"))
            .collect::<Vec<_>>()
    });
    stop.create();
    for (i, (profile, child)) in lived.into_iter().enumerate() {
        wait_success(&format!("long-lived recording {i}"), child);
        assert_eq!(e2e::names(&profile), alone, "long-lived recording {i}");
    }
    assert!(
        runs.iter().all(|&n| n >= 5),
        "too few containers came and went to mean anything: {runs:?}"
    );
    eprintln!("churn: {runs:?} containers per shell in {CHURN:?}");
}

/// A tracer killed while its container runs on: the next container to take its slot must
/// not inherit the running container's tasks (their entries in the shared maps).
#[test]
fn a_killed_tracers_slot_is_cleared_before_it_is_reused() {
    let Some((_alone, p)) = podman_alone() else {
        return;
    };
    let hook = e2e::hook_binary();
    let loop_script =
        |tag: &str| format!("touch /tmp/{tag}; while [ ! -e /tmp/done ]; do sleep 0.02; done");
    // Each container writes into a directory of its own, so its tracer can be told apart.
    let profile_in = |tag: &str| {
        let dir = p.scratch_path(tag);
        std::fs::create_dir_all(&dir).expect("output directory");
        dir.join("profile.json")
    };
    let (victim, keeper) = (profile_in("victim"), profile_in("keeper"));
    std::thread::scope(|scope| {
        let done = e2e::StopFile(p.rootfs().join("tmp/done"));
        let runs: Vec<_> = [("victim", &victim), ("keeper", &keeper)]
            .into_iter()
            .map(|(tag, profile)| {
                let (p, script) = (&p, loop_script(tag));
                let annotation = format!("of:{}", profile.display());
                // One after the other: the victim takes the lower slot.
                e2e::start_and_wait_for(&p.rootfs().join(format!("tmp/{tag}")), || {
                    scope.spawn(move || p.trace(&annotation, &["sh", "-c", &script]))
                })
            })
            .collect();
        let victim_dir = victim.parent().expect("a directory");
        let tracer = e2e::tracer_writing_into(victim_dir).expect("the victim's tracer");
        kill(tracer);
        e2e::poll_until(Duration::from_secs(5), || {
            (e2e::traced_containers(&hook).len() == 1).then_some(())
        })
        .expect("the killed tracer's slot was never freed");

        // The next container takes the free slot while the victim's loop still forks sleeps.
        let profile = p.scratch_path("next.json");
        let out = p.trace(
            &format!("of:{}", profile.display()),
            &["/bin/callnr", &e2e::syscall_number("getcpu").to_string()],
        );
        e2e::assert_success("the next container", &out);
        let names = e2e::names(&profile);
        assert!(has(&names, "getcpu"), "getcpu missing: {names:?}");
        for foreign in ["nanosleep", "clock_nanosleep", "wait4"] {
            assert!(
                !has(&names, foreign),
                "{foreign} of the victim leaked in: {names:?}"
            );
        }
        done.create();
        for run in runs {
            let _ = run.join();
        }
    });
    let names = e2e::names(&keeper);
    assert!(
        has(&names, "wait4") || has(&names, "clock_nanosleep"),
        "{names:?}"
    );
}
