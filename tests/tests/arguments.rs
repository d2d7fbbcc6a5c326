//! Argument rules (the README's "Argument rules"): a profile recorded from a program that
//! opens AF_INET and AF_UNIX sockets, forks, starts a thread and queries its personality runs
//! it as recorded under runc, crun (each reading the profile themselves, and through podman)
//! and Docker, and refuses every argument value the program never used: AF_ALG, AF_VSOCK and
//! AF_INET6 sockets, clone and clone3 with CLONE_NEWUSER, `unshare(CLONE_NEWUSER)`,
//! `personality(PER_BSD)`. The same recording written by names only (`--names-only`) refuses
//! none of them: the rules are what refuses.

use std::{collections::BTreeMap, path::Path, process::Output};

use e2e::{
    docker::Docker,
    engine::{Engine, Podman, Runc},
    scenarios,
};

const TOOLS: &[&str] = &["podman", "runc", "busybox", "gcc"];
const SOURCE: &str = include_str!("../programs/argprobe.c");
/// The profile's default errno: what a refused call answers (nothing else here answers it).
const ENOSYS: i32 = 38;
/// What `argprobe refused` tries.
const ALL: [&str; 7] = [
    "socket-alg",
    "socket-vsock",
    "socket-inet6",
    "clone-newuser",
    "clone3-newuser",
    "personality-bsd",
    "unshare-newuser",
];

fn install(engine: &dyn Engine) {
    e2e::install_static_helper_with(engine.rootfs(), "argprobe", SOURCE, &["-pthread"]);
}

/// `argprobe refused`'s answers under `profile`: name -> errno (0: it worked).
fn refusals(engine: &dyn Engine, profile: &Path, probe: &str) -> BTreeMap<String, i32> {
    let out = engine.enforce(profile, &[probe, "refused"]);
    e2e::assert_success(&format!("{}: {probe} refused", engine.name()), &out);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (name, errno) = line.split_once(' ')?;
            Some((name.to_owned(), errno.parse().ok()?))
        })
        .collect()
}

/// `probe work` ran under `profile` exactly as recorded.
fn assert_works(engine: &dyn Engine, profile: &Path, probe: &str) {
    let out: Output = engine.enforce(profile, &[probe, "work"]);
    e2e::assert_success(&format!("{}: {probe} work", engine.name()), &out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "worked");
}

/// Each of `refused` answered ENOSYS under `profile`; every other call did not.
fn assert_refuses(engine: &dyn Engine, profile: &Path, probe: &str, refused: &[&str]) {
    let answers = refusals(engine, profile, probe);
    assert_eq!(answers.len(), ALL.len(), "{answers:?}");
    for (name, errno) in &answers {
        let expected = refused.contains(&name.as_str());
        assert_eq!(
            *errno == ENOSYS,
            expected,
            "{}: {name} answered {errno} under {}",
            engine.name(),
            profile.display()
        );
    }
}

/// The recorded profile: one rule per socket family used, clone's unseen bits refused,
/// clone3 answered ENOSYS, and the query personality.
fn assert_shape(profile: &Path) {
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(profile).unwrap()).unwrap();
    let with = |name: &str| e2e::rules_of(&json, name);
    let families: Vec<u64> = with("socket")
        .iter()
        .filter_map(|r| r["args"][0]["valueTwo"].as_u64())
        .collect();
    assert_eq!(families, [1, 2], "{json}");
    assert_eq!(with("clone3")[0]["errnoRet"], 38, "{json}");
    let clone_mask = with("clone")[0]["args"][0]["value"].as_u64().unwrap();
    assert_ne!(clone_mask & 0x1000_0000, 0, "CLONE_NEWUSER refused: {json}");
    assert_eq!(
        with("personality")[0]["args"][0]["valueTwo"],
        0xffff_ffffu64
    );
}

/// `argprobe work` recorded under `podman`, then run and refused under its profile there and
/// under `direct` (the same runtime reading the profile from config.json itself).
fn recorded_and_enforced(podman: &Podman, direct: &Runc) -> std::path::PathBuf {
    install(podman);
    let profile = scenarios::trace(podman, "args.json", None, &["/bin/argprobe", "work"]);
    assert_shape(&profile);
    install(direct);
    for engine in [podman as &dyn Engine, direct] {
        assert_works(engine, &profile, "/bin/argprobe");
        assert_refuses(engine, &profile, "/bin/argprobe", &ALL);
    }
    profile
}

#[test]
fn podman_runc_refuses_every_value_its_recording_never_used() {
    let Some(p) = e2e::ready(TOOLS, Podman::new) else {
        return;
    };
    recorded_and_enforced(&p, &Runc::new());
    // The protection off: the same program recorded by names only refuses none of it.
    let names_only = Podman::with_hook_args(&["--names-only"]).on_rootfs(p.rootfs().to_owned());
    let plain = scenarios::trace(&names_only, "names.json", None, &["/bin/argprobe", "work"]);
    assert!(!std::fs::read_to_string(&plain)
        .unwrap()
        .contains("\"args\""));
    assert_works(&p, &plain, "/bin/argprobe");
    // unshare was never made: refused by its name alone.
    assert_refuses(&p, &plain, "/bin/argprobe", &["unshare-newuser"]);
}

#[test]
fn podman_crun_refuses_every_value_its_recording_never_used() {
    let tools: Vec<&str> = TOOLS.iter().copied().chain(["crun", "unshare"]).collect();
    if let Some(p) = e2e::ready(&tools, Podman::crun) {
        // crun through the runtime wrapper.
        recorded_and_enforced(&p, &Runc::wrapped_crun());
    }
}

/// Docker parses the profile itself (`--security-opt seccomp=`, runc under it): it runs the
/// program and refuses the rest.
#[test]
fn docker_enforces_the_rules_as_written() {
    let tools: Vec<&str> = TOOLS
        .iter()
        .copied()
        .chain(["dockerd", "/usr/bin/docker", "containerd", "tar"])
        .collect();
    let Some(p) = e2e::ready(&tools, Podman::new) else {
        return;
    };
    install(&p);
    let profile = scenarios::trace(&p, "args.json", None, &["/bin/argprobe", "work"]);
    let docker = Docker::start(Path::new("runc"));
    e2e::assert_success(
        "docker import",
        &docker.import(p.rootfs(), "local/argprobe:1"),
    );
    let seccomp = format!("seccomp={}", profile.display());
    let run = |what: &str| {
        let args = [
            "run",
            "--rm",
            "--network",
            "none",
            "--security-opt",
            &seccomp,
        ];
        let mut args = args.to_vec();
        args.extend(["local/argprobe:1", "/bin/argprobe", what]);
        docker.docker(&args)
    };
    let worked = run("work");
    e2e::assert_success("docker run argprobe work", &worked);
    assert_eq!(String::from_utf8_lossy(&worked.stdout).trim(), "worked");
    let refused = run("refused");
    e2e::assert_success("docker run argprobe refused", &refused);
    let lines: Vec<String> = String::from_utf8_lossy(&refused.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), ALL.len(), "{lines:?}");
    // Docker 20.10 drops `defaultErrnoRet` (its refusals answer EPERM); the explicit clone3
    // rule keeps its ENOSYS, which is what glibc's fallback to clone needs.
    for line in lines {
        let refused = line.ends_with(" 1") || line.ends_with(" 38");
        assert!(refused, "docker: {line}");
        if line.starts_with("clone3") {
            assert!(line.ends_with(" 38"), "docker: {line}");
        }
    }
}

/// An i386 build: its clone, clone3, personality and unshare are refused as on the native
/// ABI (the arguments read in i386's registers). glibc's i386 `socket()` goes through
/// `socketcall`, whose family sits in memory a filter cannot read: socketcall stays allowed,
/// so on that path families are not refused (the README says so).
#[cfg(target_arch = "x86_64")]
#[test]
fn an_i386_build_is_refused_the_same_but_through_socketcall() {
    let tools: Vec<&str> = TOOLS.iter().copied().chain(["/usr/lib32/libc.a"]).collect();
    let Some(p) = e2e::ready(&tools, Podman::new) else {
        return;
    };
    e2e::install_static_helper_with(p.rootfs(), "argprobe32", SOURCE, &["-m32", "-pthread"]);
    let profile = scenarios::trace(&p, "args32.json", None, &["/bin/argprobe32", "work"]);
    let names = e2e::names(&profile);
    assert!(names.iter().any(|n| n == "socketcall"), "{names:?}");
    assert_works(&p, &profile, "/bin/argprobe32");
    let refused = [
        "clone-newuser",
        "clone3-newuser",
        "personality-bsd",
        "unshare-newuser",
    ];
    assert_refuses(&p, &profile, "/bin/argprobe32", &refused);
}

/// A Go program: its runtime's own clone flags (threads; fork/exec with CLONE_VFORK|CLONE_VM)
/// are recorded and allowed, and a child in a new user namespace is refused.
#[test]
fn a_go_program_keeps_its_own_clone_flags_and_nothing_more() {
    let tools: Vec<&str> = TOOLS.iter().copied().chain(["go"]).collect();
    let Some(p) = e2e::ready(&tools, Podman::new) else {
        return;
    };
    let out = e2e::child::Finish::finish(
        std::process::Command::new("go")
            .args(["build", "-o"])
            .arg(p.rootfs().join("bin/goprobe"))
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/programs/argprobe.go"))
            .env("CGO_ENABLED", "0")
            .env("GOCACHE", p.scratch_path("gocache")),
        "go build",
    );
    e2e::assert_success("go build argprobe.go", &out);
    let profile = scenarios::trace(&p, "go.json", None, &["/bin/goprobe", "work"]);
    let names = e2e::names(&profile);
    assert!(
        !names.iter().any(|n| n == "clone3"),
        "Go uses clone: {names:?}"
    );
    assert_works(&p, &profile, "/bin/goprobe");
    let out = p.enforce(&profile, &["/bin/goprobe", "refused"]);
    e2e::assert_success("goprobe refused", &out);
    let answer = String::from_utf8_lossy(&out.stdout);
    assert_eq!(answer.trim(), "clone-newuser 38");
}
