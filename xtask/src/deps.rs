//! System packages the chores need, installed with apt-get when missing (as `setup` installs
//! the toolchain), or named in one line where that cannot be done.

use std::{path::Path, process::Command};

use anyhow::{bail, Result};

use crate::util::{self, succeeds};

/// Something that must be present, and the Debian package that provides it.
pub struct Need {
    check: Check,
    package: String,
}

enum Check {
    /// A command on PATH.
    Tool(String),
    /// A file at this path.
    File(String),
}

impl Need {
    pub fn tool(name: impl Into<String>, package: impl Into<String>) -> Self {
        Self {
            check: Check::Tool(name.into()),
            package: package.into(),
        }
    }

    pub fn file(path: impl Into<String>, package: impl Into<String>) -> Self {
        Self {
            check: Check::File(path.into()),
            package: package.into(),
        }
    }

    fn present(&self) -> bool {
        match &self.check {
            Check::Tool(name) => which(name).is_some(),
            Check::File(path) => Path::new(path).exists(),
        }
    }
}

/// What the end-to-end tests drive, on this architecture.
pub fn for_tests() -> Vec<Need> {
    let mut needs = vec![
        Need::tool("podman", "podman"),
        Need::tool("runc", "runc"),
        Need::tool("crun", "crun"),
        Need::tool("busybox", "busybox-static"),
        Need::tool("unshare", "util-linux"),
        Need::tool("flock", "util-linux"),
        Need::tool("capsh", "libcap2-bin"),
        Need::tool("setcap", "libcap2-bin"),
        // The wrapper test that receives a console socket.
        Need::tool("python3", "python3"),
        Need::tool("gcc", "gcc"),
        Need::tool("tar", "tar"),
        // The workload tests' Debian root filesystem (see `debian.rs`).
        Need::tool("debootstrap", "debootstrap"),
        // The root of today's runtimes (see `debian::ensure_sid`), and the tools that run
        // commands inside it.
        Need::tool("mmdebstrap", "mmdebstrap"),
        Need::tool("nsenter", "util-linux"),
        // The runtime wrapper's tests drive containerd with ctr.
        Need::tool("containerd", "containerd"),
        Need::tool("ctr", "containerd"),
    ];
    if cfg!(target_arch = "x86_64") {
        needs.push(Need::file("/usr/lib/x86_64-linux-gnu/libc.a", "libc6-dev"));
        // 32-bit (i386) test programs.
        needs.push(Need::file("/usr/lib32/libc.a", "gcc-multilib"));
    } else {
        needs.push(Need::file("/usr/lib/aarch64-linux-gnu/libc.a", "libc6-dev"));
    }
    needs
}

/// What the tests drive that is installed without its recommendations (docker.io's pull in
/// apparmor, git and more): Docker 20.10, which runs the wrapper as a runtime.
pub fn for_tests_lean() -> Vec<Need> {
    vec![
        Need::tool("dockerd", "docker.io"),
        // The argument-rule tests' Go program (its runtime's own clone flags).
        Need::tool("go", "golang-go"),
    ]
}

/// Installs the packages of every missing `need` with apt-get (as root), or fails with one
/// line naming them; `purpose` says what they are for.
pub fn ensure(needs: &[Need], purpose: &str) -> Result<()> {
    ensure_with(needs, purpose, true)
}

/// [`ensure`] without the packages' recommendations (qemu's recommend a desktop).
pub fn ensure_lean(needs: &[Need], purpose: &str) -> Result<()> {
    ensure_with(needs, purpose, false)
}

fn ensure_with(needs: &[Need], purpose: &str, recommends: bool) -> Result<()> {
    let packages = missing(needs);
    if packages.is_empty() {
        return Ok(());
    }
    let list = packages.join(" ");
    if !succeeds("apt-get", &["--version"]) || !is_root() {
        bail!("{purpose} need packages that are missing: as root on Debian/Ubuntu, `apt-get install {list}`; elsewhere your distribution's packages of the same names; then run this again");
    }
    eprintln!("{purpose} need: {list} (installing with apt-get)");
    util::run(Command::new("apt-get").args(["update", "-qq"]))?;
    util::run(
        Command::new("apt-get")
            .args(["install", "-y", "-qq"])
            .args((!recommends).then_some("--no-install-recommends"))
            .args(&packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    let still = missing(needs);
    if !still.is_empty() {
        bail!("apt-get installed {list}, yet {} still missing: install it by hand, then run this again", still.join(" "));
    }
    Ok(())
}

/// The packages of the `needs` that are not present, each once.
fn missing(needs: &[Need]) -> Vec<&str> {
    let mut packages: Vec<&str> = needs
        .iter()
        .filter(|n| !n.present())
        .map(|n| n.package.as_str())
        .collect();
    packages.sort_unstable();
    packages.dedup();
    packages
}

pub fn is_root() -> bool {
    util::output("id", &["-u"]).is_some_and(|uid| uid == "0")
}

/// `tool`'s path: the first match on PATH.
pub fn which(tool: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|p| p.is_file())
    })
}
