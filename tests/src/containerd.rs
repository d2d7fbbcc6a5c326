//! A containerd of the test's own (root, state, socket and config in a temporary directory;
//! no systemd here), driven with `ctr`, and stopped on every path out of the test.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::Arc,
    time::Duration,
};

use tempfile::TempDir;

use crate::{child::Finish, poll_until, sid::SidRoot};

/// A running containerd, stopped (SIGTERM, then waited for) when dropped.
pub struct Containerd {
    dir: TempDir,
    daemon: Child,
    /// Where its `containerd`, shim and `ctr` are; `None`: the system's, on PATH.
    bin: Option<PathBuf>,
    /// The root of today's runtimes it runs in (containerd 2), shared with a dockerd on it;
    /// dropped after the daemon.
    sid: Option<Arc<SidRoot>>,
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

    /// containerd 2 in the root of today's runtimes; `None` (after [`gate`](crate::gate)'s
    /// rule) when that root was not made.
    pub fn start_today() -> Option<Self> {
        let sid = Arc::new(SidRoot::enter()?);
        Some(Self::start_with(Some(sid), None, ""))
    }

    fn start_from(bin: Option<PathBuf>) -> Self {
        Self::start_with(None, bin, "")
    }

    /// The system's containerd with its CRI plugin as kubelet uses it: the sandbox (pause)
    /// image `sandbox_image`, and the runtime handler `traced` run through `wrapper`, which
    /// passes the pod's trace annotations on to the containers.
    pub fn start_cri(sandbox_image: &str, wrapper: &Path) -> Self {
        let runtimes = "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes";
        // The default handler must be listed again once any handler is.
        let extra = format!(
            "  sandbox_image = \"{sandbox_image}\"\n\
             {runtimes}.runc]\n  runtime_type = \"io.containerd.runc.v2\"\n\
             {runtimes}.traced]\n  runtime_type = \"io.containerd.runc.v2\"\n  \
             pod_annotations = [\"io.containers.trace-syscall\", \"io.containers.trace-syscall/*\"]\n\
             {runtimes}.traced.options]\n  BinaryName = \"{}\"\n",
            wrapper.display()
        );
        Self::start_with(None, None, &extra)
    }

    /// containerd 2 with its CRI plugin as kubelet uses it (the sandbox image
    /// `sandbox_image`, the default runtime handler alone) and NRI as it comes (on, at
    /// [`Containerd::nri_socket`]: nothing of it configured); in the root of today's runtimes.
    pub fn start_cri_today(sandbox_image: &str) -> Option<Self> {
        let sid = Arc::new(SidRoot::enter_with_host_cgroups()?);
        let cri = format!("  sandbox_image = \"{sandbox_image}\"\n");
        Some(Self::start_with(Some(sid), None, &cri))
    }

    /// containerd with `cri` appended to its CRI plugin's table.
    fn start_with(sid: Option<Arc<SidRoot>>, bin: Option<PathBuf>, cri: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        // Without CAP_SYS_RESOURCE here, runc fails unless the OOM score is left alone.
        let config = format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
             [grpc]\n  address = \"{d}/containerd.sock\"\n\
             [plugins.\"io.containerd.grpc.v1.cri\"]\n  restrict_oom_score_adj = true\n{cri}"
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        let daemon = spawn(&sid, &bin, dir.path());
        let engine = Self {
            dir,
            daemon,
            bin,
            sid,
        };
        engine.wait_until_it_answers();
        engine
    }

    fn wait_until_it_answers(&self) {
        poll_until(Duration::from_secs(10), || {
            self.ctr(&["version"]).status.success().then_some(())
        })
        .expect("containerd answers within 10 s");
    }

    /// Where containerd 2 listens for NRI plugins unless configured otherwise: its
    /// `/var/run/nri/nri.sock`, which is the host's `/run` here (see [`SidRoot`]).
    pub fn nri_socket(&self) -> PathBuf {
        PathBuf::from("/run/nri/nri.sock")
    }

    /// Stops containerd (SIGTERM, waited for) and starts it again on the same state, as an
    /// upgrade or a crash-and-restart by systemd does.
    pub fn restart(&mut self) {
        self.stop();
        self.daemon = spawn(&self.sid, &self.bin, self.dir.path());
        self.wait_until_it_answers();
    }

    fn stop(&mut self) {
        let pid = rustix::process::Pid::from_raw(self.daemon.id() as i32);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let _ = self.daemon.wait();
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("containerd.sock")
    }

    /// `ctr --address SOCKET ARGS...`.
    pub fn ctr(&self, args: &[&str]) -> Output {
        self.command("ctr")
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
        if self.sid.is_some() {
            // ctr 2 asks for 1024 CPU shares by default, which runc 1.3 then fails to write
            // where the cgroup2 mount has no controllers (the root's; see `SidRoot`).
            args.extend(["--cpu-shares", "0"]);
        }
        args.extend(extra);
        args.extend(["--rootfs", &rootfs, id]);
        args.extend(cmd);
        self.ctr(&args)
    }

    pub fn scratch_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The root of today's runtimes this containerd runs in, if it does.
    pub fn sid(&self) -> Option<&Arc<SidRoot>> {
        self.sid.as_ref()
    }

    /// The tool `name` of this containerd's installation.
    pub fn command(&self, name: &str) -> Command {
        command(&self.sid, &self.bin, name)
    }
}

/// containerd with the configuration in `dir`, its output to `dir/containerd.log`.
fn spawn(sid: &Option<Arc<SidRoot>>, bin: &Option<PathBuf>, dir: &Path) -> Child {
    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(dir.join("containerd.log"))
        .unwrap();
    command(sid, bin, "containerd")
        .env("PATH", search_path(bin))
        .arg("--config")
        .arg(dir.join("config.toml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("containerd starts")
}

/// `name` in `bin`, else on PATH; inside `sid` if given.
fn command(sid: &Option<Arc<SidRoot>>, bin: &Option<PathBuf>, name: &str) -> Command {
    let program: PathBuf = bin
        .as_ref()
        .map_or_else(|| name.into(), |bin| bin.join(name));
    match sid {
        Some(sid) => sid.command(program),
        None => Command::new(program),
    }
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
        self.stop();
        crate::mounts::unmount_under(self.dir.path());
        if self.sid.is_some() {
            // containerd 2 leaves its NRI socket in the host's /run (see `nri_socket`).
            let socket = self.nri_socket();
            let _ = std::fs::remove_file(&socket);
            let _ = socket.parent().map(std::fs::remove_dir);
        }
    }
}

impl Containerd {
    /// `rootfs` as the image `tag` (its command `cmd`) in the k8s.io namespace, where the CRI
    /// looks: a docker-archive made here (a registry is out of reach) and `ctr images import`.
    pub fn import_image(&self, rootfs: &Path, tag: &str, cmd: &[&str]) -> Output {
        let dir = tempfile::tempdir().unwrap();
        let layer = dir.path().join("layer.tar");
        let tar = |args: &[&str], cwd: &Path| {
            let out = Command::new("tar")
                .args(args)
                .current_dir(cwd)
                .finish("tar");
            assert!(
                out.status.success(),
                "tar {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        tar(&["-cf", layer.to_str().unwrap(), "."], rootfs);
        let config = serde_json::json!({
            "architecture": if cfg!(target_arch = "aarch64") { "arm64" } else { "amd64" },
            "os": "linux",
            "config": { "Cmd": cmd },
            "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{}", sha256(&layer))] },
        });
        let config_path = dir.path().join("config.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let config_name = format!("{}.json", sha256(&config_path));
        std::fs::rename(&config_path, dir.path().join(&config_name)).unwrap();
        let manifest = serde_json::json!([{
            "Config": config_name, "RepoTags": [tag], "Layers": ["layer.tar"],
        }]);
        std::fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
        let archive = dir.path().join("image.tar");
        tar(
            &[
                "-cf",
                archive.to_str().unwrap(),
                "manifest.json",
                &config_name,
                "layer.tar",
            ],
            dir.path(),
        );
        self.ctr(&[
            "-n",
            "k8s.io",
            "images",
            "import",
            archive.to_str().unwrap(),
        ])
    }
}

/// The hex SHA-256 of the file at `path` (coreutils' sha256sum).
fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).finish("sha256sum");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().next().expect("a digest").to_owned()
}
