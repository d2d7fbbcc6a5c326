//! `cargo xtask install`: the release binary, the runtime wrapper's link to it, the hooks.d JSON
//! pointing at it, the man page.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

use crate::{ebpf, util};

pub struct Install {
    /// Installation prefix: the binary goes to PREFIX/libexec/oci/hooks.d.
    pub prefix: PathBuf,
    /// Where podman and CRI-O look for hook JSON files.
    pub hooks_dir: PathBuf,
    /// Staging root prepended to every destination (for packaging).
    pub destdir: Option<PathBuf>,
}

const BINARY: &str = "oci-seccomp-bpf-hook";
/// The runtime wrapper's name (see `hook::wrapper::WRAPPER_NAME`).
const WRAPPER: &str = "oci-seccomp-bpf-runtime";
/// Where packages put it.
pub const PREFIX: &str = "/usr";
/// The directory podman and CRI-O read hook JSON from by default.
pub const HOOKS_DIR: &str = "/usr/share/containers/oci/hooks.d";

impl Default for Install {
    fn default() -> Self {
        Self {
            prefix: PREFIX.into(),
            hooks_dir: HOOKS_DIR.into(),
            destdir: None,
        }
    }
}

pub fn run(install: &Install) -> Result<()> {
    ebpf::build(true)?;
    util::cargo(&["build", "--release", "-p", "hook", "--bin", BINARY])?;
    let man = util::target_dir().join("man").join(format!("{BINARY}.1"));
    std::fs::create_dir_all(man.parent().expect("man dir has a parent"))?;
    let man_arg = man.to_str().context("target directory path is not UTF-8")?;
    util::cargo(&[
        "run",
        "--release",
        "-q",
        "-p",
        "hook",
        "--example",
        "manpage",
        "--",
        man_arg,
    ])?;

    let binary = install.prefix.join("libexec/oci/hooks.d").join(BINARY);
    let template = std::fs::read_to_string(
        util::workspace_root()
            .join("oci-hooks.d")
            .join(format!("{BINARY}.json")),
    )?;
    let json = hooks_json(&template, &binary)?;

    let staged = |path: &Path| match &install.destdir {
        Some(root) => root.join(path.strip_prefix("/").unwrap_or(path)),
        None => path.to_owned(),
    };
    let built = util::target_dir().join("release").join(BINARY);
    copy(&built, &staged(&binary), 0o755)?;
    // The runtime wrapper for containerd and Docker: the same binary under another name.
    link(BINARY, &staged(&binary.with_file_name(WRAPPER)))?;
    write(
        &staged(&install.hooks_dir.join(format!("{BINARY}.json"))),
        json.as_bytes(),
    )?;
    copy(
        &man,
        &staged(
            &install
                .prefix
                .join("share/man/man1")
                .join(format!("{BINARY}.1")),
        ),
        0o644,
    )?;
    Ok(())
}

/// The shipped hooks.d JSON with `hook.path` set to where the binary is installed.
pub fn hooks_json(template: &str, binary: &Path) -> Result<String> {
    let mut doc: serde_json::Value =
        serde_json::from_str(template).context("hooks JSON template")?;
    doc["hook"]["path"] = serde_json::json!(binary);
    Ok(serde_json::to_string_pretty(&doc)? + "\n")
}

fn copy(from: &Path, to: &Path, mode: u32) -> Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    write(to, &bytes)?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// `to` as a symbolic link to `target` (a name in the same directory), replacing it.
fn link(target: &str, to: &Path) -> Result<()> {
    let _ = std::fs::remove_file(to);
    std::os::unix::fs::symlink(target, to)
        .with_context(|| format!("cannot link {} to {target}", to.display()))?;
    eprintln!("installed {} -> {target}", to.display());
    Ok(())
}

fn write(to: &Path, bytes: &[u8]) -> Result<()> {
    let dir = to.parent().context("destination has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(to, bytes).with_context(|| format!("cannot write {}", to.display()))?;
    eprintln!("installed {}", to.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_json_points_at_the_installed_binary_and_keeps_the_rest() {
        let template = include_str!("../../oci-hooks.d/oci-seccomp-bpf-hook.json");
        let out = hooks_json(
            template,
            Path::new("/opt/x/libexec/oci/hooks.d/oci-seccomp-bpf-hook"),
        )
        .unwrap();
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            doc["hook"]["path"],
            "/opt/x/libexec/oci/hooks.d/oci-seccomp-bpf-hook"
        );
        assert_eq!(
            doc["hook"]["args"],
            serde_json::json!(["oci-seccomp-bpf-hook", "-s"])
        );
        assert_eq!(doc["version"], "1.0.0");
        assert_eq!(doc["stages"], serde_json::json!(["prestart", "poststop"]));
        assert_eq!(
            doc["when"]["annotations"]["^io\\.containers\\.trace-syscall$"],
            ".*"
        );
    }
}
