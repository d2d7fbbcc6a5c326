//! `cargo xtask setup`: installs what `build-ebpf` needs, skipping what is already there.

use std::{path::Path, process::Command};

use anyhow::{bail, Result};

use crate::{
    ebpf::{rust_src_installed, TOOLCHAIN},
    util::{self, succeeds},
};

/// bpf-linker 0.13 links with LLVM 21 to 23; 22 is the one nightly's rustc uses here.
const LLVM_MAJOR: &str = "22";
const BPF_LINKER_VERSION: &str = "0.13.0";

pub fn run() -> Result<()> {
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
    if !Path::new(&llvm).join("lib/libLLVM.so").exists() {
        install_llvm()?;
    }
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

fn install_llvm() -> Result<()> {
    let package = format!("llvm-{LLVM_MAJOR}-dev");
    if !succeeds("apt-get", &["--version"]) {
        bail!("install {package} (LLVM {LLVM_MAJOR} with its shared library) with your package manager, then run `cargo xtask setup` again");
    }
    if !is_root() {
        bail!("installing {package} with apt-get needs root: run `cargo xtask setup` as root, or `apt-get install {package}` yourself");
    }
    util::run(Command::new("apt-get").args(["update", "-qq"]))?;
    util::run(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", &package])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn is_root() -> bool {
    util::output("id", &["-u"]).is_some_and(|uid| uid == "0")
}
