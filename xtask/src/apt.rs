//! What apt's own configuration says (the Debian mirror this machine already uses), and
//! packages of another Debian suite fetched with lists kept apart from the system's: the
//! kernel matrix's kernels, Debian 13's containerd. Nothing is installed: a package is
//! unpacked under target/.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Result};

use crate::util;

/// apt lists of one suite in a directory of their own.
pub struct Lists {
    dir: PathBuf,
    /// The Debian architecture (`arm64`) when not this machine's own.
    arch: Option<String>,
}

impl Lists {
    /// Fresh lists of `suite` (main) from the mirror, in `dir` (emptied first), for this
    /// machine's architecture.
    pub fn fetch(dir: &Path, suite: &str) -> Result<Self> {
        Self::fetch_for(dir, suite, None)
    }

    /// [`Lists::fetch`] of the packages built for Debian architecture `arch` (`arm64`).
    pub fn fetch_for(dir: &Path, suite: &str, arch: Option<&str>) -> Result<Self> {
        let _ = std::fs::remove_dir_all(dir);
        for sub in ["lists/partial", "cache/archives/partial", "deb"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
        std::fs::write(
            dir.join("sources.list"),
            format!("deb [signed-by={keyring}] {} {suite} main\n", mirror()?),
        )?;
        let lists = Self {
            dir: dir.to_owned(),
            arch: arch.map(str::to_owned),
        };
        util::run(lists.command("apt-get").arg("update"))?;
        Ok(lists)
    }

    /// `tool` (apt-get, apt-cache) reading these lists only.
    pub fn command(&self, tool: &str) -> Command {
        let dir = &self.dir;
        let mut cmd = Command::new(tool);
        cmd.arg("-q")
            .arg(format!(
                "-oDir::Etc::sourcelist={}",
                dir.join("sources.list").display()
            ))
            .arg("-oDir::Etc::sourceparts=/dev/null")
            .arg(format!(
                "-oDir::State::lists={}",
                dir.join("lists").display()
            ))
            .arg(format!("-oDir::Cache={}", dir.join("cache").display()));
        if let Some(arch) = &self.arch {
            cmd.arg(format!("-oAPT::Architecture={arch}"))
                .arg(format!("-oAPT::Architectures={arch}"));
        }
        cmd
    }

    /// `packages` downloaded and unpacked together into DIR/tree; the .debs removed afterwards.
    pub fn unpack(&self, packages: &[&str]) -> Result<PathBuf> {
        let debs = self.dir.join("deb");
        util::run(
            self.command("apt-get")
                .arg("download")
                .args(packages)
                .current_dir(&debs),
        )?;
        // What is there (apt names them with URL escapes: `+` becomes `%2b`).
        let files: Vec<PathBuf> = std::fs::read_dir(&debs)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "deb"))
            .collect();
        if files.len() != packages.len() {
            bail!(
                "apt-get download {} left {} .deb files",
                packages.join(" "),
                files.len()
            );
        }
        let tree = self.dir.join("tree");
        for deb in files {
            util::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tree))?;
            std::fs::remove_file(&deb)?;
        }
        let _ = std::fs::remove_dir_all(self.dir.join("cache"));
        Ok(tree)
    }
}

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
