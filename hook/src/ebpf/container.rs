//! What "the container" is, as the eBPF program needs to know it: the host PID of its init,
//! the cgroup (v2) it runs in, and what starts its workload (the runtime's seccomp filter
//! install, or, where the bundle has no filter, the init's execve). See
//! `contract::MAP_TRACED` for how the program follows it from there.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::contract::{OPEN_AT_EXEC, OPEN_AT_FILTER};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Container {
    /// The init's PID (TGID) as the host sees it.
    pub init: u32,
    /// The cgroup v2 ID of the init's cgroup, when it has one of its own.
    pub cgroup: Option<u64>,
    /// `contract::OPEN_AT_*` bits.
    pub openers: u64,
    /// The inode number of the init's user namespace: capability checks count against it.
    pub user_ns: u64,
    /// The inode number of the init's mount namespace, when the container has no cgroup of its
    /// own: an exec into the container is told by it instead (`contract::MAP_MNT_NAMESPACES`).
    pub mnt_ns: Option<u64>,
    /// Whether the argument values of `contract::ARG_CALLS` are kept (false: a name-only
    /// profile is wanted).
    pub arg_values: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read {path} (has the process exited?)")]
pub struct ContainerError {
    pid: i32,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

impl Container {
    /// A container started by a runtime: init `pid`, bundle at `bundle`. A bundle whose
    /// `config.json` cannot be read says nothing about its filter: both openers apply.
    pub fn of_runtime(pid: i32, bundle: &Path) -> Result<Self, ContainerError> {
        let init = u32::try_from(pid).unwrap_or_default();
        let cgroup = cgroup_id(pid)?;
        let user_ns = namespace(pid, "user")?;
        let mnt_ns = match cgroup {
            Some(_) => None,
            None => Some(namespace(pid, "mnt")?),
        };
        let openers = match has_seccomp_filter(&bundle.join("config.json")) {
            Some(true) => OPEN_AT_FILTER,
            Some(false) => OPEN_AT_EXEC,
            None => OPEN_AT_FILTER | OPEN_AT_EXEC,
        };
        Ok(Self {
            init,
            cgroup,
            openers,
            user_ns,
            mnt_ns,
            arg_values: true,
        })
    }

    /// `record`'s command: its whole process is marked before it runs, nothing else joins.
    /// Its user namespace is this process's (0, matching none, if that cannot be read).
    pub fn command(pid: i32) -> Self {
        Self {
            init: u32::try_from(pid).unwrap_or_default(),
            cgroup: None,
            openers: 0,
            user_ns: namespace(pid, "user").unwrap_or_default(),
            mnt_ns: None,
            arg_values: true,
        }
    }
}

/// The inode number of `pid`'s namespace `kind`, as `/proc/PID/ns/KIND` names it.
fn namespace(pid: i32, kind: &str) -> Result<u64, ContainerError> {
    let path = PathBuf::from(format!("/proc/{pid}/ns/{kind}"));
    std::fs::metadata(&path)
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .map_err(|source| ContainerError { pid, path, source })
}

/// Whether the OCI config asks for a seccomp filter (`linux.seccomp`); `None` if unreadable.
fn has_seccomp_filter(config: &Path) -> Option<bool> {
    let text = std::fs::read(config).ok()?;
    let config: Value = serde_json::from_slice(&text).ok()?;
    Some(!config["linux"]["seccomp"].is_null())
}

/// The cgroup v2 ID (the inode of its directory) of `pid`'s cgroup; `None` when the container
/// has no cgroup of its own (`--cgroups=disabled`): the root, or the cgroup this process (the
/// runtime's child) is in, which the runtime and its other children share. Also `None` when
/// no cgroup2 hierarchy is mounted.
fn cgroup_id(pid: i32) -> Result<Option<u64>, ContainerError> {
    let path = PathBuf::from(format!("/proc/{pid}/cgroup"));
    let text =
        std::fs::read_to_string(&path).map_err(|source| ContainerError { pid, path, source })?;
    let Some(relative) = v2_path(&text) else {
        return Ok(None);
    };
    let ours = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    if relative == "/" || v2_path(&ours) == Some(relative) {
        return Ok(None);
    }
    let Some(mount) = cgroup2_mount() else {
        return Ok(None);
    };
    let dir = mount.join(relative.trim_start_matches('/'));
    Ok(std::fs::metadata(dir)
        .ok()
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m)))
}

/// The cgroup v2 path in a `/proc/PID/cgroup` text (its `0::` line).
fn v2_path(text: &str) -> Option<&str> {
    text.lines().find_map(|l| l.strip_prefix("0::"))
}

/// Where the cgroup2 hierarchy is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on
/// hybrid hosts).
fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().find_map(|line| {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - FSTYPE SOURCE SUPER
        let (fields, tail) = line.split_once(" - ")?;
        let fstype = tail.split_whitespace().next()?;
        let mount_point = fields.split_whitespace().nth(4)?;
        (fstype == "cgroup2").then(|| PathBuf::from(mount_point))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_in_the_runtimes_own_cgroup_has_none_of_its_own() {
        // This process stands for both: the init shares the caller's cgroup, as under
        // `--cgroups=disabled`, so exec'd processes must not be attributed by cgroup.
        let me = std::process::id() as i32;
        let container = Container::of_runtime(me, Path::new("/nonexistent")).unwrap();
        assert_eq!(container.init, me as u32);
        assert_eq!(container.openers, OPEN_AT_FILTER | OPEN_AT_EXEC);
        assert_eq!(container.cgroup, None);
    }

    #[test]
    fn the_v2_line_names_the_cgroup() {
        let text = "4:memory:/a\n0::/libpod_parent/libpod-1\n";
        assert_eq!(v2_path(text), Some("/libpod_parent/libpod-1"));
        assert_eq!(v2_path("4:memory:/a\n"), None);
    }

    #[test]
    fn the_bundle_says_which_opener_to_expect() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(
            &config,
            r#"{"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}}"#,
        )
        .unwrap();
        assert_eq!(has_seccomp_filter(&config), Some(true));
        std::fs::write(&config, r#"{"linux": {}}"#).unwrap();
        assert_eq!(has_seccomp_filter(&config), Some(false));
        assert_eq!(has_seccomp_filter(&dir.path().join("missing")), None);
    }
}
