//! `cargo xtask dist`: for x86_64 and arm64, a static (musl) release binary staged by
//! `install`'s own code into the tree a package installs, shipped as a tarball of that tree
//! and as a Debian package made by cargo-deb, all under `target/dist/`.

mod archive;
mod deb;
mod elf;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};

use crate::{
    cross, ebpf,
    install::{self, Install, BINARY},
    paths, util,
    vm::Arch,
};

/// Where each target's tree is staged, in its release directory: `hook/Cargo.toml`'s
/// cargo-deb assets name it (`target/release/dist-root/usr/**/*`).
const STAGE: &str = "dist-root";

pub fn run() -> Result<()> {
    let started = Instant::now();
    deb::ensure_cargo_deb()?;
    ebpf::build(true)?;
    let docs = install::docs()?;
    let dist = paths::dist_dir(&util::target_dir());
    std::fs::create_dir_all(&dist)
        .with_context(|| format!("cannot create {}: check its permissions", dist.display()))?;
    let mut artifacts = Vec::new();
    let mut times = Vec::new();
    for arch in Arch::ALL {
        let arch_started = Instant::now();
        artifacts.extend(build(arch, &docs)?);
        times.push((arch, arch_started.elapsed()));
    }
    report(&artifacts, &times, started.elapsed())
}

/// The binary for `arch`, checked static, staged, then archived and packaged; returns the
/// tarball and the package.
fn build(arch: Arch, docs: &Path) -> Result<[PathBuf; 2]> {
    let target = arch.musl_target();
    cross::add_target(target)?;
    util::run(cross::cargo(target).args(["build", "--release", "-p", "hook", "--bin", BINARY]))?;
    let release = util::target_dir().join(target).join("release");
    let binary = release.join(BINARY);
    elf::check_static(&binary, arch)?;
    let root = release.join(STAGE);
    stage(&root, &binary, docs)?;
    let tarball = paths::static_tarball(&util::target_dir(), arch.name());
    archive::tarball(&root, &tarball)?;
    let package = paths::deb_package(&util::target_dir(), arch.debian());
    deb::package(arch, &package)?;
    Ok([tarball, package])
}

/// `cargo xtask install --destdir ROOT` with `binary`, into an emptied ROOT (what is in it
/// ships), the man page then compressed as Debian's policy asks.
fn stage(root: &Path, binary: &Path, docs: &Path) -> Result<()> {
    if root.exists() {
        std::fs::remove_dir_all(root)
            .with_context(|| format!("cannot empty {}: remove it by hand", root.display()))?;
    }
    let install = Install {
        destdir: Some(root.to_owned()),
        ..Install::default()
    };
    install::place(&install, binary, docs)?;
    archive::gzip_man_pages(root)
}

/// Where the artifacts are, their sizes, and how long each machine took.
fn report(artifacts: &[PathBuf], times: &[(Arch, Duration)], total: Duration) -> Result<()> {
    println!();
    for path in artifacts {
        let size = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .len();
        println!("{:>8.1} MiB  {}", size as f64 / 1048576.0, path.display());
    }
    for (arch, time) in times {
        println!(
            "{}: built, checked, archived and packaged in {:.0} s",
            arch.name(),
            time.as_secs_f64()
        );
    }
    println!("dist: {:.0} s in all", total.as_secs_f64());
    Ok(())
}
