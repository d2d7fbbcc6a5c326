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
    /// Where its `containerd`, shim and `ctr` are; `None`: the system's, on PATH.
    bin: Option<PathBuf>,
}

impl Containerd {
    /// The system's containerd (Debian 12's 1.6).
    pub fn start() -> Self {
        Self::start_from(None)
    }

    /// Debian 13's containerd (1.7), as `cargo xtask test` unpacks it; `None` (after
    /// [`gate`](crate::gate)'s rule) when it was not unpacked.
    pub fn start_debian13() -> Option<Self> {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let tree = crate::paths::containerd_trixie(&crate::paths::target_dir(&workspace));
        let bin = tree.join("tree/usr/bin");
        let missing = (!bin.join("containerd").is_file()).then(|| {
            format!(
                "{} was not unpacked (run `cargo xtask test`)",
                bin.display()
            )
        });
        crate::gate(missing).then(|| Self::start_from(Some(bin)))
    }

    fn start_from(bin: Option<PathBuf>) -> Self {
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
        let daemon = Command::new(tool(&bin, "containerd"))
            .env("PATH", search_path(&bin))
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("containerd starts");
        let engine = Self { dir, daemon, bin };
        poll_until(Duration::from_secs(10), || {
            engine.ctr(&["version"]).status.success().then_some(())
        })
        .expect("containerd answers within 10 s");
        engine
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("containerd.sock")
    }

    /// `ctr --address SOCKET ARGS...`.
    pub fn ctr(&self, args: &[&str]) -> Output {
        Command::new(tool(&self.bin, "ctr"))
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

/// `name` in `bin`, else on PATH.
fn tool(bin: &Option<PathBuf>, name: &str) -> PathBuf {
    bin.as_ref()
        .map_or_else(|| name.into(), |bin| bin.join(name))
}

/// PATH with `bin` first: containerd finds its shim there.
fn search_path(bin: &Option<PathBuf>) -> std::ffi::OsString {
    let system = std::env::var_os("PATH").unwrap_or_default();
    let Some(bin) = bin else {
        return system;
    };
    let mut dirs = vec![bin.clone()];
    dirs.extend(std::env::split_paths(&system));
    std::env::join_paths(dirs).unwrap_or(system)
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
