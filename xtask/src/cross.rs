//! Static builds for another (or this) Linux machine: musl's C library comes with Rust's
//! target, and Rust's own `rust-lld` links, so no cross C toolchain is needed. Used by the VM
//! tests (arm64) and `dist` (both machines).

use std::process::Command;

use anyhow::{Context, Result};

use crate::util;

/// `cargo` building for `target`, linked by the linker Rust ships.
pub fn cargo(target: &str) -> Command {
    let mut cmd = util::cargo_command();
    let var = format!(
        "CARGO_TARGET_{}_LINKER",
        target.to_uppercase().replace('-', "_")
    );
    cmd.env(var, "rust-lld")
        .env("CARGO_BUILD_TARGET", target)
        .current_dir(util::workspace_root());
    cmd
}

/// Adds Rust's standard library for `target` with rustup, unless it is there.
pub fn add_target(target: &str) -> Result<()> {
    let installed = util::output("rustup", &["target", "list", "--installed"]).context(
        "rustup is needed to cross-build static binaries: install it (see `cargo xtask setup`)",
    )?;
    if installed.lines().any(|l| l.trim() == target) {
        return Ok(());
    }
    util::run(Command::new("rustup").args(["target", "add", target]))
}
