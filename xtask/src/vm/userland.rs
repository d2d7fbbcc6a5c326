//! What a foreign machine's VM runs besides our static binaries: Debian's packages of its
//! architecture, unpacked (never installed) once into target/vm and put into its initramfs.
//! busybox gives the shell and the tools the tests call (sh, mount, grep, unshare);
//! runc, with the C library and libseccomp it links, runs containers there, so a profile is
//! enforced by the same libseccomp a real node uses.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::Arch;
use crate::apt;

/// The suite the userland comes from (the kernels come from their own).
const SUITE: &str = "bookworm";

const PACKAGES: [&str; 4] = ["busybox-static", "libc6", "libseccomp2", "runc"];

/// The unpacked tree for `arch` under `cache`, fetched the first time.
pub fn tree(cache: &Path, arch: Arch) -> Result<PathBuf> {
    let dir = cache.join(format!("userland-{}", arch.debian()));
    let tree = dir.join("tree");
    let done = dir.join("complete");
    if done.is_file() {
        return Ok(tree);
    }
    let lists = apt::Lists::fetch_for(&dir, SUITE, Some(arch.debian()))?;
    lists.unpack(&PACKAGES)?;
    std::fs::write(&done, PACKAGES.join(" "))?;
    Ok(tree)
}

/// Whether `relative` (a path in the tree) goes into the initramfs: documentation, locales
/// and character-set converters are most of its size and nothing here reads them.
pub fn wanted(relative: &Path) -> bool {
    !(relative.starts_with("usr/share") || relative.components().any(|c| c.as_os_str() == "gconv"))
}
