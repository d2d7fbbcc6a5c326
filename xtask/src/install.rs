//! `cargo xtask install`: the release binary, the runtime wrapper's link to it, the hooks.d JSON
//! pointing at it, the man page and the shell completions. `dist` stages its packages with the
//! same [`place`], so what is installed and what is packaged cannot drift apart.

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

pub const BINARY: &str = "oci-seccomp-bpf-hook";
/// The runtime wrapper's name (see `hook::wrapper::WRAPPER_NAME`).
const WRAPPER: &str = "oci-seccomp-bpf-runtime";
/// Where packages put it.
pub const PREFIX: &str = "/usr";
/// The directory podman and CRI-O read hook JSON from by default.
pub const HOOKS_DIR: &str = "/usr/share/containers/oci/hooks.d";

/// What the `docs` example writes (a name in its directory) and where each goes under PREFIX:
/// the man page, then bash's, zsh's and fish's completions where Debian's shells load them.
const DOCS: [(&str, &str); 4] = [
    (
        "oci-seccomp-bpf-hook.1",
        "share/man/man1/oci-seccomp-bpf-hook.1",
    ),
    (
        "oci-seccomp-bpf-hook.bash",
        "share/bash-completion/completions/oci-seccomp-bpf-hook",
    ),
    (
        "_oci-seccomp-bpf-hook",
        "share/zsh/vendor-completions/_oci-seccomp-bpf-hook",
    ),
    (
        "oci-seccomp-bpf-hook.fish",
        "share/fish/vendor_completions.d/oci-seccomp-bpf-hook.fish",
    ),
];

/// The NRI plugin's systemd unit: where it is in the repository, its name, and the binary's
/// path its `ExecStart` names there (the default prefix's).
const NRI_UNIT_SOURCE: &str = "hook/deploy/nri/oci-seccomp-bpf-hook-nri.service";
const NRI_UNIT: &str = "oci-seccomp-bpf-hook-nri.service";
const SHIPPED_BINARY: &str = "/usr/libexec/oci/hooks.d/oci-seccomp-bpf-hook";

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
    let docs = docs()?;
    place(
        install,
        &util::target_dir().join("release").join(BINARY),
        &docs,
    )
}

/// Generates the man page and the completions from the CLI definition into a directory of
/// the target dir (see [`DOCS`]), and returns it. The same on every machine.
pub fn docs() -> Result<PathBuf> {
    let dir = util::target_dir().join("docs");
    let dir_arg = dir.to_str().context("target directory path is not UTF-8")?;
    util::cargo(&[
        "run",
        "--release",
        "-q",
        "-p",
        "hook",
        "--example",
        "docs",
        "--",
        dir_arg,
    ])?;
    Ok(dir)
}

/// Installs `binary` (built for any machine), the wrapper's link to it, the hooks JSON
/// pointing at it and the [`docs`] as `install` says.
pub fn place(install: &Install, binary: &Path, docs: &Path) -> Result<()> {
    let installed = install.prefix.join("libexec/oci/hooks.d").join(BINARY);
    let template = std::fs::read_to_string(
        util::workspace_root()
            .join("oci-hooks.d")
            .join(format!("{BINARY}.json")),
    )?;
    let json = hooks_json(&template, &installed)?;

    let staged = |path: &Path| match &install.destdir {
        Some(root) => root.join(path.strip_prefix("/").unwrap_or(path)),
        None => path.to_owned(),
    };
    copy(binary, &staged(&installed), 0o755)?;
    // The runtime wrapper for containerd and Docker: the same binary under another name.
    link(BINARY, &staged(&installed.with_file_name(WRAPPER)))?;
    write(
        &staged(&install.hooks_dir.join(format!("{BINARY}.json"))),
        json.as_bytes(),
    )?;
    for (name, dest) in DOCS {
        copy(&docs.join(name), &staged(&install.prefix.join(dest)), 0o644)?;
    }
    // The NRI plugin's systemd unit (installed, not enabled), naming the installed binary.
    let unit = std::fs::read_to_string(util::workspace_root().join(NRI_UNIT_SOURCE))
        .with_context(|| format!("cannot read {NRI_UNIT_SOURCE}"))?;
    let unit = unit.replace(SHIPPED_BINARY, &installed.to_string_lossy());
    let unit_path = install.prefix.join("lib/systemd/system").join(NRI_UNIT);
    write(&staged(&unit_path), unit.as_bytes())
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
