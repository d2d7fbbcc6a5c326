//! A containerd of the test's own (root, state, socket and config in a temporary directory;
//! no systemd here), driven with `ctr`, and stopped on every path out of the test.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::Duration,
};

use tempfile::TempDir;

use crate::{child::Finish, poll_until};

/// A running containerd, stopped (SIGTERM, then waited for) when dropped.
pub struct Containerd {
    dir: TempDir,
    daemon: Child,
}

impl Containerd {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        // Without CAP_SYS_RESOURCE here, runc fails unless the OOM score is left alone.
        let config = format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
             [grpc]\n  address = \"{d}/containerd.sock\"\n\
             [plugins.\"io.containerd.grpc.v1.cri\"]\n  restrict_oom_score_adj = true\n"
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("containerd.log")).unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("containerd starts");
        let engine = Self { dir, daemon };
        poll_until(Duration::from_secs(10), || {
            engine.ctr(&["version"]).status.success().then_some(())
        })
        .expect("containerd answers within 10 s");
        engine
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("containerd.sock")
    }

    /// `ctr --address SOCKET ARGS...`.
    pub fn ctr(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(self.socket())
            .args(args)
            .stdin(Stdio::null())
            .finish("ctr")
    }

    /// `ctr run --rm --seccomp [extra...] --rootfs ROOTFS ID CMD...`: a container from a
    /// directory, under containerd's default seccomp filter unless `extra` names another.
    pub fn run(&self, extra: &[&str], rootfs: &Path, id: &str, cmd: &[&str]) -> Output {
        let rootfs = rootfs.to_string_lossy();
        let mut args = vec!["run", "--rm", "--seccomp"];
        args.extend(extra);
        args.extend(["--rootfs", &rootfs, id]);
        args.extend(cmd);
        self.ctr(&args)
    }

    pub fn scratch_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_raw(self.daemon.id() as i32);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let _ = self.daemon.wait();
    }
}
