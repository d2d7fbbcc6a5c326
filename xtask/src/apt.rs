//! What apt's own configuration says: the Debian mirror this machine already uses, for the
//! kernel matrix's packages and the tests' Debian root filesystem.

use anyhow::{bail, Result};

/// The first Debian archive in apt's sources (not a security or third-party one).
pub fn mirror() -> Result<String> {
    let mut texts = vec![std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default()];
    for entry in std::fs::read_dir("/etc/apt/sources.list.d")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".list") || name.ends_with(".sources") {
            texts.push(std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    let found = texts
        .iter()
        .flat_map(|t| t.split_whitespace())
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .find(|w| w.trim_end_matches('/').ends_with("/debian"));
    match found {
        Some(mirror) => Ok(mirror.trim_end_matches('/').to_owned()),
        None => bail!("apt's sources name no Debian archive (a URI ending in /debian): add one"),
    }
}
