//! Syscalls made through another ABI than the native one (i386 on x86_64: 32-bit programs,
//! and `int 0x80` from 64-bit ones) are recorded apart, named from their own table, and their
//! architecture is listed: the profile runs the program, and a native-only one does not.

#![cfg(target_arch = "x86_64")]

use e2e::child::Finish;
use std::path::Path;

use e2e::{
    assert_success,
    engine::{Engine, Podman},
    scenarios,
};

const TOOLS: &[&str] = &["podman", "runc", "busybox", "gcc", "/usr/lib32/libc.a"];

/// A 32-bit program: mkdir, rmdir, printf.
const M32: &str = "#include <stdio.h>\n#include <sys/stat.h>\n#include <unistd.h>\n\
    int main(void) {\n\
      if (mkdir(\"/tmp/m32-dir\", 0755) != 0) { perror(\"mkdir\"); return 1; }\n\
      if (rmdir(\"/tmp/m32-dir\") != 0) { perror(\"rmdir\"); return 1; }\n\
      printf(\"ok\\n\");\n\
      return 0;\n}\n";

/// A 64-bit program that makes one i386 syscall through `int 0x80`: number 20, getpid (the
/// native 20 is writev).
const INT80: &str = "#include <stdio.h>\n\
    int main(void) {\n\
      long r;\n\
      __asm__ volatile (\"int $0x80\" : \"=a\"(r) : \"a\"(20L) : \"memory\");\n\
      printf(\"%ld\\n\", r);\n\
      return r > 0 ? 0 : 1;\n}\n";

fn podman() -> Option<Podman> {
    e2e::ready(TOOLS, || {
        let p = Podman::new();
        e2e::install_static_helper_with(p.rootfs(), "m32", M32, &["-m32"]);
        e2e::install_static_helper(p.rootfs(), "int80", INT80);
        p
    })
}

/// The same profile with only the native architecture listed.
fn native_only(profile: &Path, p: &Podman, name: &str) -> std::path::PathBuf {
    let (mut json, _) = e2e::allowed_names(profile);
    json["architectures"] = serde_json::json!(["SCMP_ARCH_X86_64"]);
    let path = p.scratch_path(name);
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

fn assert_i386_listed(profile: &Path) -> Vec<String> {
    let (json, names) = e2e::allowed_names(profile);
    assert_eq!(
        json["architectures"],
        serde_json::json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]),
        "{}",
        profile.display()
    );
    names
}

#[test]
fn a_32_bit_program_gets_i386_names_and_runs_under_its_profile() {
    let Some(p) = podman() else {
        return;
    };
    let profile = scenarios::trace(&p, "m32.json", None, &["/bin/m32"]);
    let names = assert_i386_listed(&profile);
    for name in ["mkdir", "rmdir"] {
        assert!(names.iter().any(|n| n == name), "{name}: {names:?}");
    }
    // i386 numbers named from the x86_64 table gave these (`capget` is runc's own, natively).
    for wrong in ["creat", "process_vm_writev", "recvfrom", "sendfile"] {
        assert!(!names.iter().any(|n| n == wrong), "{wrong}: {names:?}");
    }
    assert_success("m32 under its profile", &p.enforce(&profile, &["/bin/m32"]));
    let native = native_only(&profile, &p, "m32-native.json");
    let refused = p.enforce(&native, &["/bin/m32"]);
    assert!(
        !refused.status.success(),
        "m32 ran under a native-only profile"
    );
}

#[test]
fn int_0x80_from_a_64_bit_program_is_recorded_as_i386() {
    let Some(p) = podman() else {
        return;
    };
    let profile = scenarios::trace(&p, "int80.json", None, &["/bin/int80"]);
    let names = assert_i386_listed(&profile);
    assert!(names.iter().any(|n| n == "getpid"), "{names:?}");
    assert!(
        !names.iter().any(|n| n == "writev"),
        "i386 20 named natively: {names:?}"
    );
    assert_success(
        "int80 under its profile",
        &p.enforce(&profile, &["/bin/int80"]),
    );
    let native = native_only(&profile, &p, "int80-native.json");
    let refused = p.enforce(&native, &["/bin/int80"]);
    assert!(
        !refused.status.success(),
        "int 0x80 passed a native-only profile"
    );
}

/// `record`, no container: the same i386 names for the 32-bit program.
#[test]
fn record_of_a_32_bit_program_lists_i386() {
    let Some(p) = podman() else {
        return;
    };
    let profile = p.scratch_path("record-m32.json");
    let out = std::process::Command::new(e2e::hook_binary())
        .arg("record")
        .arg("-o")
        .arg(&profile)
        .arg("--")
        .arg(p.rootfs().join("bin/m32"))
        .finish("the command");
    assert_success("record -- m32", &out);
    let names = assert_i386_listed(&profile);
    for name in ["mkdir", "rmdir"] {
        assert!(names.iter().any(|n| n == name), "{name}: {names:?}");
    }
    for wrong in [
        "capget",
        "creat",
        "process_vm_writev",
        "recvfrom",
        "sendfile",
    ] {
        assert!(!names.iter().any(|n| n == wrong), "{wrong}: {names:?}");
    }
}
