//! A Debian root filesystem for the tests' real workloads (nginx), made once per machine with
//! debootstrap from the mirror apt already uses, where [`paths::debian_rootfs`] says; the tests
//! run it through an overlay, so it is never changed.

use std::process::Command;

use anyhow::{Context, Result};

use crate::{apt, paths, util};

/// The suite and the packages the workloads need, beyond the minimal base.
const SUITE: &str = "bookworm";
const PACKAGES: &str = "nginx-light,python3-minimal";

/// Makes the root filesystem unless a complete one is there.
pub fn ensure() -> Result<()> {
    let root = paths::debian_rootfs(&util::target_dir());
    let done = root.with_extension("complete");
    if done.is_file() && root.is_dir() {
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(&root);
    let parent = root.parent().context("the rootfs has a parent directory")?;
    std::fs::create_dir_all(parent)?;
    util::run(
        Command::new("debootstrap")
            .args(["--variant=minbase", &format!("--include={PACKAGES}"), SUITE])
            .arg(&root)
            .arg(apt::mirror()?),
    )
    .context("debootstrap of the tests' Debian root filesystem failed")?;
    std::fs::write(&done, format!("{SUITE} {PACKAGES}\n"))?;
    Ok(())
}

/// Debian 13's containerd (1.7), unpacked (never installed) where
/// [`paths::containerd_trixie`] says, for the wrapper's tests on a second containerd.
pub fn ensure_containerd_trixie() -> Result<()> {
    let dir = paths::containerd_trixie(&util::target_dir());
    if dir.join("tree/usr/bin/containerd").is_file() {
        return Ok(());
    }
    let lists = apt::Lists::fetch(&dir, "trixie")?;
    lists.unpack(&["containerd"])?;
    Ok(())
}
