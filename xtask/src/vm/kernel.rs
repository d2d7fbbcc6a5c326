//! Debian's kernel packages for the matrix, from the mirror apt already uses, with lists kept
//! apart from the system's (nothing is installed: the package is unpacked under target/).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context, Result};

use super::Arch;
use crate::util;

/// One kernel of the matrix: the Debian suite whose `linux-image-ARCH` it is.
#[derive(Clone, Copy)]
pub struct Kernel {
    /// What `--kernel` takes and lines show: "5.10".
    pub name: &'static str,
    pub suite: &'static str,
}

/// What users run: Debian 11, 12 and 13 (also Ubuntu 22.04's 5.15 and RHEL 9's 5.14 sit
/// between the first two).
pub const MATRIX: [Kernel; 3] = [
    Kernel {
        name: "5.10",
        suite: "bullseye",
    },
    Kernel {
        name: "6.1",
        suite: "bookworm",
    },
    Kernel {
        name: "6.12",
        suite: "trixie",
    },
];

/// The modules that mount the host's root over virtio-9p (each kernel builds some of them,
/// and of what they depend on, in; the rest come with their dependencies, in load order).
const WANTED: [&str; 3] = ["virtio_pci", "9pnet_virtio", "9p"];

/// A kernel image and its 9p modules, uncompressed, ready for an initramfs.
pub struct Unpacked {
    pub vmlinuz: PathBuf,
    pub modules: Vec<PathBuf>,
}

impl Kernel {
    /// The kernel `--kernel` names among those booted for `arch`.
    pub fn by_name(name: &str, arch: Arch) -> Option<Self> {
        arch.kernels().iter().copied().find(|k| k.name == name)
    }

    /// The unpacked kernel for `arch`, downloaded into `cache` the first time.
    pub fn unpacked(&self, cache: &Path, arch: Arch) -> Result<Unpacked> {
        let dir = cache.join(format!("{}-{}", self.suite, arch.debian()));
        let tree = dir.join("tree");
        if !tree.join("boot").is_dir() {
            self.download(&dir, arch)?;
        }
        let vmlinuz = only_file(&tree.join("boot"), "vmlinuz-")?;
        let index = module_index(&tree);
        let mut modules = Vec::new();
        for name in WANTED {
            add_with_dependencies(&index, name, &mut modules)?;
        }
        Ok(Unpacked { vmlinuz, modules })
    }

    fn download(&self, dir: &Path, arch: Arch) -> Result<()> {
        let lists = crate::apt::Lists::fetch_for(dir, self.suite, Some(arch.debian()))?;
        let meta = format!("linux-image-{}", arch.debian());
        let depends = util::output_of(lists.command("apt-cache").args(["depends", &meta]))
            .with_context(|| format!("apt-cache depends {meta} ({})", self.suite))?;
        let package = depends
            .lines()
            .find_map(|l| l.trim().strip_prefix("Depends: linux-image-"))
            .map(|rest| format!("linux-image-{rest}"))
            .with_context(|| format!("{meta} of {} depends on no kernel image", self.suite))?;
        // The image is 50-100 MiB: only its unpacked tree is kept.
        lists.unpack(&[&package])?;
        Ok(())
    }
}

/// The one file in `dir` whose name starts with `prefix`.
fn only_file(dir: &Path, prefix: &str) -> Result<PathBuf> {
    let mut found = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        });
    match (found.next(), found.next()) {
        (Some(path), None) => Ok(path),
        _ => bail!("expected one {prefix}* in {}", dir.display()),
    }
}

/// Every module of the unpacked tree by name (`-` as `_`, as the kernel names them).
fn module_index(tree: &Path) -> HashMap<String, PathBuf> {
    let mut index = HashMap::new();
    let mut dirs = vec![tree.join("lib/modules"), tree.join("usr/lib/modules")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let file = entry.file_name().to_string_lossy().replace('-', "_");
            if path.is_dir() {
                dirs.push(path);
            } else if let Some(name) = file.strip_suffix(".ko").or(file.strip_suffix(".ko.xz")) {
                index.insert(name.to_owned(), path);
            }
        }
    }
    index
}

/// Appends module `name` to `order` after what it depends on; built-in ones (not in `index`)
/// need nothing.
fn add_with_dependencies(
    index: &HashMap<String, PathBuf>,
    name: &str,
    order: &mut Vec<PathBuf>,
) -> Result<()> {
    let Some(path) = index.get(name) else {
        return Ok(());
    };
    let plain = uncompressed(path)?;
    if order.contains(&plain) {
        return Ok(());
    }
    let bytes = std::fs::read(&plain)?;
    for dependency in depends(&bytes) {
        add_with_dependencies(index, &dependency, order)?;
    }
    order.push(plain);
    Ok(())
}

/// The `depends=a,b` entry of a module's `.modinfo` section.
fn depends(module: &[u8]) -> Vec<String> {
    let key = b"\0depends=";
    let Some(start) = module.windows(key.len()).position(|w| w == key) else {
        return Vec::new();
    };
    let value = &module[start + key.len()..];
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    String::from_utf8_lossy(&value[..end])
        .split(',')
        .filter(|d| !d.is_empty())
        .map(|d| d.replace('-', "_"))
        .collect()
}

/// `path`, or its `.xz` uncompressed beside it (busybox's insmod reads plain modules only).
fn uncompressed(path: &Path) -> Result<PathBuf> {
    if path.extension().is_none_or(|e| e != "xz") {
        return Ok(path.to_owned());
    }
    let plain = path.with_extension("");
    if !plain.exists() {
        util::run(Command::new("xz").arg("-dk").arg(path))?;
    }
    Ok(plain)
}
