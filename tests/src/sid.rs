//! Today's runtimes (podman 5, runc 1.3, crun 1.2x, containerd 2, Docker 28) from the Debian
//! root `cargo xtask test` makes (`paths::sid_root`). They need that root's libc, so they run
//! inside it: a private mount namespace holds an overlay of the root (the cached root is never
//! written) with the host's /dev, /run and /tmp bound in, a sysfs of its own whose cgroup
//! mount is cgroup2 alone (crun refuses this host's hybrid layout; containerd's CRI takes the
//! host's instead), and the hook binary at the path it has on the host. One process keeps the namespace; commands enter it with
//! nsenter. /run and /tmp are the host's, so the node's run directory, scratch paths and
//! /dev/log are the same inside and out: one node, seen from two roots.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
};

use tempfile::TempDir;

use crate::{child::Finish, gate, hook_binary, paths};

/// Run by the host's `sh` in the new mount namespace: `$1` the root, `$2` a scratch directory
/// for the overlay, `$3` the cgroup view (`cgroup2` alone, or the `host`'s), then directories
/// to bind at their own paths. Says `ready` and becomes the namespace's keeper.
const ENTER: &str = r#"set -e
lower=$1; work=$2; cgroups=$3; shift 3
m=$work/merged
mkdir -p "$work/upper" "$work/work" "$m"
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$work/upper,workdir=$work/work" "$m"
mount -t proc proc "$m/proc"
mount --rbind /dev "$m/dev"
mount -t sysfs sysfs "$m/sys"
if [ "$cgroups" = host ]; then mount --rbind /sys/fs/cgroup "$m/sys/fs/cgroup"
else mount -t cgroup2 none "$m/sys/fs/cgroup"; fi
if [ -d /sys/kernel/tracing/events ]; then mount -t tracefs none "$m/sys/kernel/tracing"; fi
for d in /run /tmp "$@"; do mkdir -p "$m$d"; mount --rbind "$d" "$m$d"; done
cd "$m"; mkdir .old; pivot_root . .old; umount -l /.old; rmdir /.old
echo ready
exec sleep infinity
"#;

/// A mount namespace on an overlay of the sid root, kept until dropped.
pub struct SidRoot {
    keeper: Child,
    _overlay: TempDir,
}

impl SidRoot {
    /// The root `cargo xtask test` made; `None` (after [`gate`]'s rule) when it is not there
    /// or this process cannot enter it (root, unshare and nsenter).
    pub fn enter() -> Option<Self> {
        Self::enter_with("cgroup2")
    }

    /// [`SidRoot::enter`] with the host's own (hybrid) cgroup mounts: containerd's CRI gives
    /// every pod sandbox CPU shares, which runc 1.3 cannot write where the cgroup2 mount has
    /// no controllers. crun refuses this view.
    pub fn enter_with_host_cgroups() -> Option<Self> {
        Self::enter_with("host")
    }

    fn enter_with(cgroups: &str) -> Option<Self> {
        if !crate::privileged_with(&["unshare", "nsenter"]) {
            return None;
        }
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let root = paths::sid_root(&paths::target_dir(&workspace));
        let missing = (!paths::complete_marker(&root).is_file())
            .then(|| format!("{} was not made (run `cargo xtask test`)", root.display()));
        gate(missing).then(|| Self::enter_at(&root, cgroups))
    }

    fn enter_at(root: &Path, cgroups: &str) -> Self {
        let overlay = tempfile::tempdir().unwrap();
        let hook_dir = hook_binary().parent().unwrap().canonicalize().unwrap();
        let mut keeper = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", ENTER, "sh"])
            .arg(root)
            .arg(overlay.path())
            .arg(cgroups)
            .arg(&hook_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare starts");
        let mut said = String::new();
        let stdout = keeper.stdout.take().expect("piped");
        let _ = BufReader::new(stdout).read_line(&mut said);
        if said.trim() != "ready" {
            let out = keeper.wait_with_output().expect("the keeper ends");
            panic!(
                "entering {} failed: {}",
                root.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Self {
            keeper,
            _overlay: overlay,
        }
    }

    /// `program` run inside the root (found on its PATH), with this process's environment.
    pub fn command(&self, program: impl AsRef<Path>) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg("-t")
            .arg(self.keeper.id().to_string())
            .args(["-m", "--"])
            .arg(program.as_ref());
        command
    }

    /// The version line `program --version` prints inside the root.
    pub fn version_of(&self, program: &str) -> String {
        let out = self.command(program).arg("--version").finish(program);
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().next().unwrap_or_default().to_owned()
    }
}

impl Drop for SidRoot {
    fn drop(&mut self) {
        let _ = self.keeper.kill();
        let _ = self.keeper.wait();
    }
}
