//! Debian roots the tests use, made once per machine from the mirror apt already uses: the real
//! workloads' root filesystem (nginx), where [`paths::debian_rootfs`] says, and the root of
//! today's runtimes, where [`paths::sid_root`] says. The tests run both through an overlay, so
//! they are never changed.

use std::{path::Path, process::Command};

use anyhow::{Context, Result};

use crate::{apt, paths, util};

/// The suite and the packages the workloads need, beyond the minimal base.
const SUITE: &str = "bookworm";
const PACKAGES: &str = "nginx-light,python3-minimal";

/// Today's runtimes, from Debian unstable as the mirror has it: podman 5, runc 1.3, crun 1.2x,
/// conmon, containerd 2 and Docker 28 (the CLI is its own package); `mount` for entering it.
const SID_PACKAGES: &str =
    "podman,crun,runc,conmon,catatonit,containerd,docker.io,docker-cli,mount";

/// Makes the workloads' root filesystem unless a complete one of the same recipe is there.
pub fn ensure() -> Result<()> {
    let root = paths::debian_rootfs(&util::target_dir());
    let recipe = format!("{SUITE} {PACKAGES}");
    ensure_root(&root, &recipe, |root| {
        util::run(
            Command::new("debootstrap")
                .args(["--variant=minbase", &format!("--include={PACKAGES}"), SUITE])
                .arg(root)
                .arg(apt::mirror()?),
        )
        .context("debootstrap of the tests' Debian root filesystem failed")
    })
}

/// Makes the root of today's runtimes (see [`paths::sid_root`]) unless a complete one of the
/// same recipe is there. mmdebstrap, not debootstrap: it fetches in parallel and installs in
/// one apt run (30 s here against debootstrap's 10 minutes). The mirror may be a snapshot
/// whose unstable Release is past its Valid-Until: its signature is still checked.
pub fn ensure_sid() -> Result<()> {
    let root = paths::sid_root(&util::target_dir());
    // A Debian root as a node has it: nothing excluded (the package test looks for the man
    // page it installs).
    let options = [
        "--variant=apt".to_owned(),
        "--aptopt=Acquire::Check-Valid-Until \"false\"".to_owned(),
        format!("--include={SID_PACKAGES}"),
        "sid".to_owned(),
    ];
    ensure_root(&root, &options.join(" "), |root| {
        util::run(
            Command::new("mmdebstrap")
                .arg("--quiet")
                .args(&options)
                .arg(root)
                .arg(apt::mirror()?),
        )
        .context("mmdebstrap of the root of today's runtimes failed")
    })
}

/// `make`s `root` unless its marker holds `recipe`; a half-made or older root is made again.
fn ensure_root(root: &Path, recipe: &str, make: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let done = paths::complete_marker(root);
    let made = std::fs::read_to_string(&done).unwrap_or_default();
    if made.lines().next() == Some(recipe) && root.is_dir() {
        return Ok(());
    }
    let _ = std::fs::remove_file(&done);
    let _ = std::fs::remove_dir_all(root);
    let parent = root.parent().context("the rootfs has a parent directory")?;
    std::fs::create_dir_all(parent)?;
    make(root)?;
    std::fs::write(&done, format!("{recipe}\n"))?;
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
