//! The container engines the end-to-end tests drive, behind one interface so every scenario
//! runs on each: podman with runc and podman with crun (hooks from a hooks.d directory, as
//! users install it), and plain runc (hooks listed in the bundle's config.json).

use crate::child::Finish;
use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use serde_json::{json, Value};
use tempfile::TempDir;

use crate::{busybox_rootfs, hook_binary, sid::SidRoot, unique_id};

pub const ANNOTATION: &str = "io.containers.trace-syscall";

/// What a scenario needs from a container engine.
pub trait Engine {
    fn name(&self) -> &'static str;
    /// Runs `cmd` in a container with the trace annotation set to `annotation`.
    fn trace(&self, annotation: &str, cmd: &[&str]) -> Output;
    /// Runs `cmd` in a container confined by the seccomp profile at `profile`.
    fn enforce(&self, profile: &Path, cmd: &[&str]) -> Output;
    /// A scratch directory for profiles.
    fn scratch(&self) -> &Path;
    /// The container's root filesystem (on the host).
    fn rootfs(&self) -> &Path;
    /// Whether a failing hook's stderr reaches the user in the engine's error (runc: yes;
    /// crun 1.8: no, only its exit code, so the hook's reason must be found in syslog).
    fn shows_hook_stderr(&self) -> bool {
        true
    }
}

/// The OCI runtime podman runs containers with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Runc,
    /// crun refuses this host's hybrid cgroups: each podman command runs in a private mount
    /// namespace where /sys/fs/cgroup is a plain cgroup2 mount, and containers run with
    /// `--cgroups=disabled` (cgroup v2 hosts, such as Fedora's and RHEL's, need neither).
    Crun,
}

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Runc => "runc",
            Runtime::Crun => "crun",
        }
    }
}

/// podman's default nofile limit is above the hard limit a host without CAP_SYS_RESOURCE may
/// raise to (a line of containers.conf's `[containers]`).
const ULIMITS: &str = "default_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n";

/// In a new mount namespace: cgroup2 alone on /sys/fs/cgroup, then the command.
const CGROUP2_ONLY: &str = "mount --make-rprivate / && umount -l /sys/fs/cgroup && \
    mount -t cgroup2 none /sys/fs/cgroup && exec \"$0\" \"$@\"";

/// podman 4 with a private configuration (default rlimits that a host without
/// CAP_SYS_RESOURCE can set, and the runtime to use), storage and hooks directory: nothing of
/// the host's podman setup is read or changed. Or podman 5 with today's runc or crun, the same
/// way, inside the root of today's runtimes ([`SidRoot`]).
pub struct Podman {
    dir: TempDir,
    rootfs: PathBuf,
    runtime: Runtime,
    /// Where podman 5 runs; `None`: the host's podman 4.
    sid: Option<SidRoot>,
    /// Whether podman reads the scratch hooks.d (`--hooks-dir`) rather than its default
    /// directories, where a package installs the JSON.
    own_hooks: bool,
    /// Containers run on an overlay of the rootfs (`--rootfs DIR:O`): writes go to a fresh
    /// upper layer each run, copied up by overlayfs.
    overlay: bool,
}

impl Drop for Podman {
    /// podman's storage bind-mounts its `overlay` directory onto itself, in this mount
    /// namespace (runc engines; crun's commands run in one of their own).
    fn drop(&mut self) {
        crate::mounts::settle_and_unmount(self.dir.path());
    }
}

impl Podman {
    pub fn new() -> Self {
        Self::with_hook_args(&[])
    }

    /// podman with crun (see [`Runtime::Crun`]).
    pub fn crun() -> Self {
        Self::with_runtime(Runtime::Crun, &[])
    }

    /// Like `new`, with `/bin/callnr` installed (see [`crate::install_syscall_helper`]).
    pub fn with_callnr() -> Self {
        let podman = Self::new();
        crate::install_syscall_helper(podman.rootfs());
        podman
    }

    /// Like `new`, with `extra` appended to the hook's arguments in the hooks.d JSON.
    pub fn with_hook_args(extra: &[&str]) -> Self {
        Self::with_runtime(Runtime::Runc, extra)
    }

    /// Like `new`, with `edit` applied to the hooks.d JSON we ship (its path already pointed
    /// at the binary under test): another environment, other stages.
    pub fn with_hook_json(edit: impl FnOnce(&mut Value)) -> Self {
        let podman = Self::new();
        podman.edit_hook_json(edit);
        podman
    }

    /// Applies `edit` to this engine's hooks.d JSON.
    pub fn edit_hook_json(&self, edit: impl FnOnce(&mut Value)) {
        let path = self.dir.path().join("hooks.d/oci-seccomp-bpf-hook.json");
        let mut hook: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        edit(&mut hook);
        std::fs::write(&path, hook.to_string()).unwrap();
    }

    /// podman 5 with today's `runtime` in the root of today's runtimes; `None` (after
    /// [`gate`](crate::gate)'s rule) when that root was not made.
    pub fn today(runtime: Runtime) -> Option<Self> {
        let sid = SidRoot::enter()?;
        let mut podman = Self::with_runtime(runtime, &[]);
        // The root's cgroup2 mount has no controllers (they are bound to v1 on this host): no
        // pids limit, cgroupfs rather than systemd (none runs here), events to a file. No
        // network either: netavark would make its bridge and rules in the host's network.
        std::fs::write(
            podman.dir.path().join("containers.conf"),
            format!(
                "{}[containers]\npids_limit = 0\nnetns = \"none\"\n\
                 [engine]\nruntime = \"{}\"\ncgroup_manager = \"cgroupfs\"\n\
                 events_logger = \"file\"\n",
                ULIMITS,
                runtime.name()
            ),
        )
        .unwrap();
        podman.sid = Some(sid);
        Some(podman)
    }

    fn with_runtime(runtime: Runtime, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let rootfs = busybox_rootfs(dir.path());
        std::fs::write(
            dir.path().join("containers.conf"),
            format!(
                "[containers]\n{ULIMITS}[engine]\nruntime = \"{}\"\n",
                runtime.name()
            ),
        )
        .unwrap();
        // The hooks.d JSON we ship, pointed at the binary under test.
        let shipped = include_str!("../../oci-hooks.d/oci-seccomp-bpf-hook.json");
        let mut hook: Value = serde_json::from_str(shipped).unwrap();
        hook["hook"]["path"] = json!(hook_binary());
        let args = hook["hook"]["args"]
            .as_array_mut()
            .expect("args in hooks JSON");
        args.extend(extra.iter().map(|a| json!(a)));
        std::fs::create_dir(dir.path().join("hooks.d")).unwrap();
        std::fs::write(
            dir.path().join("hooks.d/oci-seccomp-bpf-hook.json"),
            hook.to_string(),
        )
        .unwrap();
        Self {
            dir,
            rootfs,
            runtime,
            sid: None,
            own_hooks: true,
            overlay: false,
        }
    }

    /// The same engine reading podman's default hooks directories (what a package installed)
    /// instead of its scratch one.
    pub fn with_installed_hooks(mut self) -> Self {
        self.own_hooks = false;
        self
    }

    /// The root of today's runtimes this engine runs in, if it does.
    pub fn sid(&self) -> Option<&SidRoot> {
        self.sid.as_ref()
    }

    /// The same engine with `rootfs` as its containers' root filesystem instead of busybox's.
    pub fn on_rootfs(mut self, rootfs: PathBuf) -> Self {
        self.rootfs = rootfs;
        self
    }

    /// The same engine, its containers on an overlay of the rootfs (see `overlay`).
    pub fn on_overlay(mut self) -> Self {
        self.overlay = true;
        self
    }

    /// Adds a hooks.d entry `name` (another runtime hook, e.g. a CDI/GPU one).
    pub fn add_hook(&self, name: &str, hook: &Value) {
        std::fs::write(self.dir.path().join("hooks.d").join(name), hook.to_string()).unwrap();
    }

    /// `podman ARGS...` with this engine's configuration and storage (exec, kill, wait, rm).
    pub fn podman(&self, args: &[&str]) -> Output {
        self.command().args(args).finish("podman")
    }

    fn command(&self) -> Command {
        let d = self.dir.path();
        let mut command = match (&self.sid, self.runtime) {
            (Some(sid), _) => sid.command("podman"),
            (None, Runtime::Runc) => Command::new("podman"),
            (None, Runtime::Crun) => {
                let mut unshare = Command::new("unshare");
                unshare.args(["-m", "sh", "-c", CGROUP2_ONLY, "podman"]);
                unshare
            }
        };
        command
            .env("CONTAINERS_CONF", d.join("containers.conf"))
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("runroot"))
            .stdin(Stdio::null());
        if self.own_hooks {
            command.arg("--hooks-dir").arg(d.join("hooks.d"));
        }
        command
    }

    /// A path in this engine's scratch directory.
    pub fn scratch_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `podman run --rm [extra...] --annotation ANNOTATION=annotation --rootfs ROOTFS cmd...`
    pub fn trace_with(&self, extra: &[&str], annotation: &str, cmd: &[&str]) -> Output {
        let annotation = format!("{ANNOTATION}={annotation}");
        let mut args = vec!["--rm"];
        args.extend_from_slice(extra);
        args.extend(["--annotation", annotation.as_str()]);
        self.run(&args, cmd)
    }

    /// `podman run [extra...] --rootfs ROOTFS cmd...`
    pub fn run(&self, extra: &[&str], cmd: &[&str]) -> Output {
        let cgroups = match (&self.sid, self.runtime) {
            (None, Runtime::Crun) => Some("--cgroups=disabled"),
            _ => None,
        };
        self.command()
            .arg("run")
            .args(cgroups)
            .args(extra)
            .arg("--rootfs")
            .arg(match self.overlay {
                true => format!("{}:O", self.rootfs.display()).into(),
                false => self.rootfs.clone().into_os_string(),
            })
            .args(cmd)
            .finish("podman")
    }
}

impl Default for Podman {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine for Podman {
    fn name(&self) -> &'static str {
        match (self.sid.is_some(), self.runtime) {
            (false, Runtime::Runc) => "podman",
            (false, Runtime::Crun) => "podman+crun",
            (true, Runtime::Runc) => "podman 5+runc 1.3",
            (true, Runtime::Crun) => "podman 5+crun 1.2x",
        }
    }

    fn trace(&self, annotation: &str, cmd: &[&str]) -> Output {
        self.trace_with(&[], annotation, cmd)
    }

    fn enforce(&self, profile: &Path, cmd: &[&str]) -> Output {
        let opt = format!("seccomp={}", profile.display());
        self.run(&["--rm", "--security-opt", &opt], cmd)
    }

    fn scratch(&self) -> &Path {
        self.dir.path()
    }

    fn rootfs(&self) -> &Path {
        &self.rootfs
    }

    fn shows_hook_stderr(&self) -> bool {
        self.runtime == Runtime::Runc
    }
}

/// runc 1.1 on a bundle made by `runc spec`, with the hook in config.json; or runc through
/// the runtime wrapper, which adds the hook itself (as containerd and Docker run it).
pub struct Runc {
    dir: TempDir,
    rootfs: PathBuf,
    trace_filter: Option<Value>,
    /// What is run as the runtime: `runc`, or the wrapper's link.
    binary: PathBuf,
    /// Whether the wrapper adds the hook (the bundle then carries only the annotation).
    wrapped: bool,
    /// Whether the wrapper's real runtime is crun (see [`Runtime::Crun`] for how it runs here).
    crun: bool,
}

/// The native architecture as seccomp names it.
pub fn native_scmp_arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "SCMP_ARCH_AARCH64",
        _ => "SCMP_ARCH_X86_64",
    }
}

/// The native architecture and its 32-bit one, which a filter must list for 32-bit programs
/// to run under it (libseccomp kills a syscall of an architecture the filter does not list).
fn native_and_compat_scmp_arches() -> [&'static str; 2] {
    match std::env::consts::ARCH {
        "aarch64" => ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        _ => ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
    }
}

impl Runc {
    /// Traces with a permissive seccomp filter in the bundle, as podman's default profile
    /// does: the runtime's filter install then opens the record window, and the profile
    /// covers runc's own calls after that point, which it needs when runc enforces it.
    pub fn new() -> Self {
        let allow_all = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": native_and_compat_scmp_arches(),
            "syscalls": [{ "names": ["getpid"], "action": "SCMP_ACT_ALLOW" }],
        });
        Self::with_trace_filter(Some(allow_all))
    }

    /// Traces a bundle without any seccomp filter: the window opens at the workload's execve.
    pub fn without_filter() -> Self {
        Self::with_trace_filter(None)
    }

    fn with_trace_filter(trace_filter: Option<Value>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let rootfs = busybox_rootfs(dir.path());
        Self {
            dir,
            rootfs,
            trace_filter,
            binary: "runc".into(),
            wrapped: false,
            crun: false,
        }
    }

    /// crun through the runtime wrapper, in a mount namespace where /sys/fs/cgroup is cgroup2
    /// alone, without cgroups (as the podman+crun tests run it here).
    pub fn wrapped_crun() -> Self {
        let mut engine = Self::wrapped();
        engine.crun = true;
        engine
    }

    /// runc through the runtime wrapper: `oci-seccomp-bpf-runtime`, a link to the hook binary
    /// under test, is the runtime, and bundles carry the annotation alone.
    pub fn wrapped() -> Self {
        let mut engine = Self::new();
        let link = engine.dir.path().join("oci-seccomp-bpf-runtime");
        std::os::unix::fs::symlink(hook_binary(), &link).unwrap();
        engine.binary = link;
        engine.wrapped = true;
        engine
    }

    /// The runtime this engine runs (`runc`, or the wrapper's link).
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    fn run(&self, cmd: &[&str], customise: impl FnOnce(&mut Value)) -> Output {
        self.run_as(&unique_id("runc"), cmd, customise)
    }

    /// `runc run` of a new bundle for `cmd`, as container `id`.
    fn run_as(&self, id: &str, cmd: &[&str], customise: impl FnOnce(&mut Value)) -> Output {
        let bundle = self.bundle(cmd, customise);
        self.run_bundle(id, &bundle)
    }

    /// A new bundle (made by `runc spec`) for `cmd` on this engine's rootfs.
    pub fn bundle(&self, cmd: &[&str], customise: impl FnOnce(&mut Value)) -> PathBuf {
        // Bundles are named by a short ID of their own: a container ID may be 250 characters.
        let bundle = self.dir.path().join(unique_id("bundle"));
        std::fs::create_dir(&bundle).unwrap();
        let status = Command::new("runc")
            .args(["spec", "--bundle"])
            .arg(&bundle)
            .finish("runc spec")
            .status;
        assert!(status.success(), "runc spec failed");
        let config_path = bundle.join("config.json");
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
        config["root"] = json!({ "path": self.rootfs, "readonly": false });
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(cmd);
        customise(&mut config);
        std::fs::write(&config_path, config.to_string()).unwrap();
        bundle
    }

    fn run_bundle(&self, id: &str, bundle: &Path) -> Output {
        self.command()
            .args(["run", "--bundle"])
            .arg(bundle)
            .arg(id)
            .stdin(Stdio::null())
            .finish("runc")
    }

    /// `cmd` run without any annotation: its output, and its config.json before and after.
    pub fn run_untraced(&self, cmd: &[&str]) -> (Output, Vec<u8>, Vec<u8>) {
        let bundle = self.bundle(cmd, |_| {});
        let config = bundle.join("config.json");
        let before = std::fs::read(&config).unwrap();
        let out = self.run_bundle(&unique_id("untraced"), &bundle);
        (out, before, std::fs::read(&config).unwrap())
    }
}

impl Runc {
    /// Like [`Engine::trace`], then `customise` edits the config (hooks included) before runc
    /// runs it: for faults such as a failing second hook.
    pub fn trace_with(
        &self,
        annotation: &str,
        cmd: &[&str],
        customise: impl FnOnce(&mut Value),
    ) -> Output {
        self.trace_as(&unique_id("runc"), annotation, cmd, customise)
    }

    /// Like [`Runc::trace_with`], as container `id`.
    pub fn trace_as(
        &self,
        id: &str,
        annotation: &str,
        cmd: &[&str],
        customise: impl FnOnce(&mut Value),
    ) -> Output {
        let hook = json!({ "path": hook_binary(), "args": ["oci-seccomp-bpf-hook", "-s"] });
        self.run_as(id, cmd, |config| {
            config["annotations"] = json!({ ANNOTATION: annotation });
            if !self.wrapped {
                config["hooks"] = json!({ "prestart": [hook.clone()], "poststop": [hook] });
            }
            if let Some(filter) = &self.trace_filter {
                config["linux"]["seccomp"] = filter.clone();
            }
            customise(config);
        })
    }

    /// This engine's runtime on its state directory (`--root`).
    fn command(&self) -> Command {
        let mut command = match self.crun {
            false => Command::new(&self.binary),
            true => {
                let mut unshare = Command::new("unshare");
                unshare
                    .args(["-m", "sh", "-c", CGROUP2_ONLY])
                    .arg(&self.binary);
                unshare.env("OCI_SECCOMP_BPF_RUNTIME", "crun");
                unshare.args(["--cgroup-manager", "disabled"]);
                unshare
            }
        };
        command.arg("--root").arg(self.dir.path().join("state"));
        command
    }

    /// [`Runc::runtime`] for `create`, whose container keeps the stdio it is given: here none,
    /// so nothing waits for the container to close a pipe.
    pub fn create_detached(&self, bundle: &Path, id: &str) -> std::process::ExitStatus {
        self.command()
            .args(["create", "--bundle"])
            .arg(bundle)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("the runtime starts")
    }

    /// `RUNTIME --root STATE args...` with this engine's runtime and state directory.
    pub fn runtime(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .stdin(Stdio::null())
            .finish("the runtime")
    }

    /// `runc exec ID cmd...` into a running container of this engine.
    pub fn exec(&self, id: &str, cmd: &[&str]) -> Output {
        self.command()
            .arg("exec")
            .arg(id)
            .args(cmd)
            .stdin(Stdio::null())
            .finish("runc")
    }
}

impl Default for Runc {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine for Runc {
    fn name(&self) -> &'static str {
        match (self.wrapped, self.crun) {
            (false, _) => "runc",
            (true, false) => "runc through the wrapper",
            (true, true) => "crun through the wrapper",
        }
    }

    fn trace(&self, annotation: &str, cmd: &[&str]) -> Output {
        self.trace_with(annotation, cmd, |_| {})
    }

    fn enforce(&self, profile: &Path, cmd: &[&str]) -> Output {
        let seccomp: Value = serde_json::from_str(&std::fs::read_to_string(profile).unwrap())
            .expect("profile is JSON");
        self.run(cmd, |config| config["linux"]["seccomp"] = seccomp)
    }

    fn scratch(&self) -> &Path {
        self.dir.path()
    }

    fn rootfs(&self) -> &Path {
        &self.rootfs
    }

    fn shows_hook_stderr(&self) -> bool {
        // crun drops a failing hook's stderr (see `Runtime::Crun`'s tests).
        !self.crun
    }
}
