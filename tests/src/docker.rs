//! A dockerd of the test's own (data and exec roots, pid file and socket in a temporary
//! directory, on the test's own containerd; no iptables, no bridge, the vfs storage driver),
//! with the runtime wrapper added as a runtime, stopped on every path out of the test.

use std::{
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::Duration,
};

use tempfile::TempDir;

use crate::{
    child::{output_within, Finish},
    containerd::Containerd,
    poll_until,
};

/// Debian's Docker CLI, of the same version as its daemon: another `docker` (this machine's
/// 28.2) may come first on PATH.
const DOCKER: &str = "/usr/bin/docker";

pub struct Docker {
    dir: TempDir,
    daemon: Child,
    // Dropped after the daemon: it runs on this containerd (and in its root, if any).
    containerd: Containerd,
}

impl Docker {
    /// dockerd with `runtime` (the wrapper's link) added as the runtime `traced`.
    pub fn start(runtime: &Path) -> Self {
        // Docker 20.10 sets the OOM score unless told not to (no CAP_SYS_RESOURCE here).
        Self::start_on(Containerd::start(), runtime, &["--oom-score-adjust=0"])
    }

    /// Docker 28 on containerd 2, in the root of today's runtimes; `None` (after
    /// [`gate`](crate::gate)'s rule) when that root was not made.
    pub fn start_today(runtime: &Path) -> Option<Self> {
        // Docker 25 dropped --oom-score-adjust (and leaves the score alone).
        Some(Self::start_on(Containerd::start_today()?, runtime, &[]))
    }

    fn start_on(containerd: Containerd, runtime: &Path, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = |name: &str| dir.path().join(name);
        let log = std::fs::File::create(d("dockerd.log")).unwrap();
        let daemon = containerd
            .command("dockerd")
            .arg("--containerd")
            .arg(containerd.socket())
            .args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
            .args(["--storage-driver", "vfs"])
            .args(extra)
            .arg("--data-root")
            .arg(d("data"))
            .arg("--exec-root")
            .arg(d("exec"))
            .arg("--pidfile")
            .arg(d("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", d("docker.sock").display()))
            .arg(format!("--add-runtime=traced={}", runtime.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dockerd starts");
        let docker = Self {
            dir,
            daemon,
            containerd,
        };
        poll_until(Duration::from_secs(30), || {
            docker.docker(&["version"]).status.success().then_some(())
        })
        .expect("dockerd answers within 30 s");
        docker
    }

    /// `docker -H SOCKET ARGS...` with the daemon's own CLI (Debian 12's 20.10, or 28).
    pub fn docker(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).finish("docker")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.containerd.command(DOCKER);
        cmd.arg("-H")
            .arg(format!(
                "unix://{}",
                self.dir.path().join("docker.sock").display()
            ))
            .args(args);
        cmd
    }

    /// `docker import` of `rootfs` as `tag`, its command `/bin/sh`.
    pub fn import(&self, rootfs: &Path, tag: &str) -> Output {
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(rootfs)
            .args(["-c", "."])
            .stdout(Stdio::piped())
            .spawn()
            .expect("tar starts");
        let archive = tar.stdout.take().expect("tar's stdout is piped");
        // Not `finish`: that gives the child an empty stdin.
        let import = self
            .command(&["import", "-c", "CMD [\"/bin/sh\"]", "-", tag])
            .stdin(archive)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("docker import starts");
        let out = output_within(import, Duration::from_secs(180), "docker import");
        let tarred = tar.wait().expect("tar ends");
        assert!(tarred.success(), "tar of {} failed", rootfs.display());
        out
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_raw(self.daemon.id() as i32);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let _ = self.daemon.wait();
    }
}
