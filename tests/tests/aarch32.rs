//! AArch32 programs on arm64: their syscalls are numbered from the 32-bit ARM table, so they
//! are recorded apart, named from that table and listed under SCMP_ARCH_ARM; the profile runs
//! the program under runc, and a native-only one does not. Runs in the arm64 kernel matrix
//! (`cargo xtask vm-test --arch aarch64`), which builds the program
//! (tests/programs/aarch32_mkdir_rmdir.c) and names it in `OSBH_AARCH32_PROGRAM`.

#![cfg(target_arch = "aarch64")]

use std::path::{Path, PathBuf};

use e2e::{
    assert_success,
    child::Finish,
    engine::{Engine, Runc},
    scenarios,
};

const TOOLS: &[&str] = &["runc", "busybox"];

/// Where `vm-test` left the static AArch32 program.
fn program() -> Option<PathBuf> {
    let path = std::env::var_os("OSBH_AARCH32_PROGRAM").map(PathBuf::from);
    let missing = match &path {
        Some(p) if p.is_file() => None,
        Some(p) => Some(format!("{} does not exist", p.display())),
        None => Some(
            "OSBH_AARCH32_PROGRAM is not set (`cargo xtask vm-test --arch aarch64` sets it)".into(),
        ),
    };
    e2e::gate(missing).then_some(path?)
}

/// runc on a busybox rootfs with the program at /bin/aarch32.
fn runc() -> Option<Runc> {
    let program = program()?;
    e2e::ready(TOOLS, || {
        let runc = Runc::new();
        std::fs::copy(&program, runc.rootfs().join("bin/aarch32")).unwrap();
        runc
    })
}

/// The names allowed, after checking that both architectures are listed.
fn assert_arm_listed(profile: &Path) -> Vec<String> {
    let (json, names) = e2e::allowed_names(profile);
    assert_eq!(
        json["architectures"],
        serde_json::json!(["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]),
        "{}",
        profile.display()
    );
    names
}

/// AArch32's 39 and 40 named from arm64's table would read umount2 and mount.
fn assert_own_table(names: &[String]) {
    for name in ["mkdir", "rmdir"] {
        assert!(names.iter().any(|n| n == name), "{name}: {names:?}");
    }
    for wrong in ["umount2", "mount"] {
        assert!(!names.iter().any(|n| n == wrong), "{wrong}: {names:?}");
    }
}

#[test]
fn record_of_an_aarch32_program_lists_arm() {
    let Some(program) = program() else {
        return;
    };
    if !e2e::privileged() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.json");
    let out = std::process::Command::new(e2e::hook_binary())
        .arg("record")
        .arg("-o")
        .arg(&profile)
        .arg("--")
        .arg(&program)
        .arg(dir.path().join("made"))
        .finish("the command");
    assert_success("record -- aarch32", &out);
    assert_own_table(&assert_arm_listed(&profile));
}

#[test]
fn an_aarch32_program_runs_under_its_profile_and_not_under_a_native_one() {
    let Some(runc) = runc() else {
        return;
    };
    let profile = scenarios::trace(&runc, "aarch32.json", None, &["/bin/aarch32"]);
    assert_own_table(&assert_arm_listed(&profile));
    // Its personality query, read from AArch32's registers: one rule, for that value alone.
    let (json, _) = e2e::allowed_names(&profile);
    let personality = e2e::rules_of(&json, "personality");
    assert_eq!(personality.len(), 1, "{json}");
    assert_eq!(
        personality[0]["args"][0]["valueTwo"], 0xffff_ffffu64,
        "{json}"
    );
    assert_success(
        "aarch32 under its profile",
        &runc.enforce(&profile, &["/bin/aarch32"]),
    );
    let (mut json, _) = e2e::allowed_names(&profile);
    json["architectures"] = serde_json::json!(["SCMP_ARCH_AARCH64"]);
    let native = runc.scratch().join("aarch32-native.json");
    std::fs::write(&native, json.to_string()).unwrap();
    let refused = runc.enforce(&native, &["/bin/aarch32"]);
    assert!(
        !refused.status.success(),
        "the AArch32 program ran under a native-only profile"
    );
}
