//! `cargo xtask setup`: the first of the README's two commands. Installs what `build-ebpf`
//! and the tests' build need (skipping what is already there), builds, and puts the hook in place for podman and
//! CRI-O (as root; otherwise it says how to run `record` from the build).

use std::process::Command;

use anyhow::Result;

use crate::{
    deps::{self, Need},
    ebpf::{rust_src_installed, TOOLCHAIN},
    install::{self, Install},
    util::{self, succeeds},
};

/// bpf-linker 0.13 links with LLVM 21 to 23; 22 is the one nightly's rustc uses here.
const LLVM_MAJOR: &str = "22";
const BPF_LINKER_VERSION: &str = "0.13.0";

pub fn run() -> Result<()> {
    toolchain()?;
    if !deps::is_root() {
        crate::ebpf::build(true)?;
        util::cargo(&["build", "--release", "-p", "hook"])?;
        eprintln!("built target/release/oci-seccomp-bpf-hook; installing it for podman needs root: run `cargo xtask setup` (or `cargo xtask install`) as root");
        return Ok(());
    }
    install::run(&Install::default())?;
    eprintln!("the hook is in place: podman run --annotation io.containers.trace-syscall=of:/tmp/ls.json IMAGE ls /");
    Ok(())
}

/// Nightly's rust-src, protoc (the tests' CRI client is generated from protobuf), LLVM and
/// bpf-linker.
fn toolchain() -> Result<()> {
    // Only the tests need it, and they run as root; the hook's own build does not.
    if deps::is_root() {
        let protoc = Need::tool("protoc", "protobuf-compiler");
        deps::ensure_lean(&[protoc], "building the tests' CRI client")?;
    }
    if !succeeds("rustup", &["run", TOOLCHAIN, "rustc", "--version"]) {
        util::run(Command::new("rustup").args([
            "toolchain",
            "install",
            TOOLCHAIN,
            "--profile",
            "minimal",
        ]))?;
    }
    if !rust_src_installed() {
        util::run(Command::new("rustup").args([
            "component",
            "add",
            "rust-src",
            "--toolchain",
            TOOLCHAIN,
        ]))?;
    }
    if succeeds("bpf-linker", &["--version"]) {
        eprintln!("bpf-linker is already installed");
        return Ok(());
    }
    let llvm = format!("/usr/lib/llvm-{LLVM_MAJOR}");
    // LLVM with its shared library, which bpf-linker links against.
    let library = Need::file(
        format!("{llvm}/lib/libLLVM.so"),
        format!("llvm-{LLVM_MAJOR}-dev"),
    );
    deps::ensure(&[library], "building bpf-linker")?;
    // LLVM_PREFIX: without it bpf-linker's build cannot find -lLLVM.
    util::run(
        Command::new("cargo")
            .args(["install", "bpf-linker", "--version", BPF_LINKER_VERSION])
            .args([
                "--no-default-features",
                "--features",
                &format!("llvm-{LLVM_MAJOR}"),
            ])
            .env("LLVM_PREFIX", &llvm),
    )
}
