//! File capabilities: the `security.capability` attribute of an executed file (`setcap
//! cap_net_raw+ep`, as Debian ships `ping`). execve fails with EPERM, without any capability
//! check, when a file's permitted capabilities are not all in the bounding set, so a
//! container that runs such a file needs them whether or not it ever uses them.

use std::path::Path;

use rustix::{
    fs::{openat2, Mode, OFlags, ResolveFlags},
    io::Errno,
};

use super::set::CapSet;

const XATTR: &str = "security.capability";
const REVISION_MASK: u32 = 0xff00_0000;
const REVISION_1: u32 = 0x0100_0000;
const REVISION_2: u32 = 0x0200_0000;
const REVISION_3: u32 = 0x0300_0000;

/// What an executed file's attribute says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCaps {
    /// The file, as the container named it.
    pub path: String,
    pub permitted: CapSet,
}

/// The permitted file capabilities of `path` inside the root directory `root` (symlinks and
/// `..` resolved within it, as the container saw them): `Ok(None)` for a file without any.
pub fn read_in_root(root: &Path, path: &str) -> Result<Option<CapSet>, Errno> {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::DIRECTORY;
    let root = rustix::fs::open(root, flags, Mode::empty())?;
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    // O_NONBLOCK: a FIFO swapped in under the name must not hang the tracer.
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let file = openat2(&root, path, flags, Mode::empty(), resolve)?;
    let mut value = [0u8; 24];
    match rustix::fs::fgetxattr(&file, XATTR, &mut value) {
        Ok(len) => Ok(parse(&value[..len])),
        Err(Errno::NODATA) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `struct vfs_cap_data` (or `vfs_ns_cap_data`): the revision, then (permitted,
/// inheritable) pairs of 32-bit little-endian words.
fn parse(value: &[u8]) -> Option<CapSet> {
    let word = |i: usize| {
        Some(u32::from_le_bytes(
            value.get(i * 4..i * 4 + 4)?.try_into().ok()?,
        ))
    };
    let low = u64::from(word(1)?);
    let high = match word(0)? & REVISION_MASK {
        REVISION_1 => 0,
        REVISION_2 | REVISION_3 => u64::from(word(3)?),
        _ => return None,
    };
    Some(CapSet(low | high << 32)).filter(|set| !set.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_one_to_three_are_read() {
        // setcap cap_net_raw+ep: revision 2, effective flag, NET_RAW (13) permitted.
        let mut v2 = vec![];
        for w in [REVISION_2 | 1, 1 << 13, 0, 0, 0] {
            v2.extend(u32::to_le_bytes(w));
        }
        assert_eq!(parse(&v2), Some(CapSet::of([13])));
        let mut v3 = v2.clone();
        v3[..4].copy_from_slice(&(REVISION_3 | 1).to_le_bytes());
        v3[12..16].copy_from_slice(&(1u32 << (39 - 32)).to_le_bytes());
        assert_eq!(parse(&v3), Some(CapSet::of([13, 39])));
        let v1: Vec<u8> = [REVISION_1, 1 << 13, 0]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert_eq!(parse(&v1), Some(CapSet::of([13])));
        assert_eq!(parse(&[1, 2]), None);
    }

    /// A file given capabilities with setcap, found through a symlink inside a root that is
    /// not `/`: the link resolves within the root.
    #[test]
    fn a_setcap_file_is_read_inside_its_root() {
        if !e2e::privileged_with(&["setcap"]) {
            return;
        }
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("usr/bin")).unwrap();
        let file = root.path().join("usr/bin/tool");
        std::fs::write(&file, b"#!/bin/true\n").unwrap();
        let status = std::process::Command::new("setcap")
            .args(["cap_net_raw+ep"])
            .arg(&file)
            .status()
            .unwrap();
        assert!(status.success(), "setcap");
        std::os::unix::fs::symlink("/usr/bin/tool", root.path().join("usr/bin/link")).unwrap();
        let read = |path| read_in_root(root.path(), path).unwrap();
        assert_eq!(read("/usr/bin/link"), Some(CapSet::of([13])));
        std::fs::write(root.path().join("plain"), b"").unwrap();
        assert_eq!(read("/plain"), None);
    }
}
