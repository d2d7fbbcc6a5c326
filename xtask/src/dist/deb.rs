//! The Debian package of a staged tree, made by cargo-deb from `hook/Cargo.toml`'s
//! `[package.metadata.deb]`.

use std::path::Path;

use anyhow::{Context, Result};

use crate::{util, vm::Arch};

/// The cargo-deb `dist` is written for (what `cargo install cargo-deb --locked` gave); another
/// version may read the metadata otherwise, so it is pinned.
const CARGO_DEB_VERSION: &str = "3.8.0";

/// Installs cargo-deb with cargo (about a minute, once) unless that version is there.
pub fn ensure_cargo_deb() -> Result<()> {
    let found = util::output_of(util::cargo_command().args(["deb", "--version"]));
    if found
        .as_deref()
        .is_some_and(|v| v.split_whitespace().any(|word| word == CARGO_DEB_VERSION))
    {
        return Ok(());
    }
    match found {
        Some(other) => eprintln!("{other} found; dist needs cargo-deb {CARGO_DEB_VERSION}"),
        None => eprintln!("cargo-deb is not installed; dist needs {CARGO_DEB_VERSION}"),
    }
    util::cargo(&[
        "install",
        "cargo-deb",
        "--version",
        CARGO_DEB_VERSION,
        "--locked",
    ])
    .with_context(|| format!("cannot install cargo-deb {CARGO_DEB_VERSION}: see cargo's message above, fix it, then run dist again"))
}

/// Packages the tree staged for `arch` (cargo-deb finds it through `--target`) into `out`.
/// The binary is packaged as built, not stripped: the same bytes as the tarball's.
pub fn package(arch: Arch, out: &Path) -> Result<()> {
    let out_arg = out.to_str().context("target directory path is not UTF-8")?;
    util::cargo(&[
        "deb",
        "--no-build",
        "--no-strip",
        "-p",
        "hook",
        "--target",
        arch.musl_target(),
        "--output",
        out_arg,
    ])
    .with_context(|| format!("cargo-deb could not package for {}: see its message above (hook/Cargo.toml holds its settings)", arch.debian()))
}
