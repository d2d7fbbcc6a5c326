//! The hook run as a runtime runs it, with no runtime: an OCI State piped to `-s`, for a
//! process held in a new PID namespace like a created container's init.

use std::{
    io::Write,
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::Duration,
};

use serde_json::{json, Value};

use crate::engine::ANNOTATION;

/// Pipes `state` to `hook -s` and returns what it printed.
pub fn run_hook(hook: &Path, state: &str) -> Output {
    let mut child = Command::new(hook)
        .arg("-s")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the hook binary runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(state.as_bytes())
        .expect("the hook reads its state");
    crate::child::output_within(child, crate::child::DEADLINE, "the hook")
}

/// An OCI State of container `id` in `status` ("created", "stopped", ...).
pub fn state(id: &str, status: &str, pid: Option<i32>, annotation: &str) -> Value {
    let mut state = json!({
        "ociVersion": "1.0.2",
        "id": id,
        "status": status,
        "bundle": "/",
        "annotations": { ANNOTATION: annotation },
    });
    if let Some(pid) = pid {
        state["pid"] = json!(pid);
    }
    state
}

/// PID 1 of a new PID namespace (`unshare -pf`), a shell waiting on a FIFO: released, it
/// execs `true`, which is what opens the hook's record window, and exits.
pub struct HeldInit {
    unshare: Child,
    pid: i32,
    gate: tempfile::TempDir,
}

impl HeldInit {
    pub fn start() -> Self {
        let gate = tempfile::tempdir().expect("a temp dir");
        let fifo = gate.path().join("go");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from(0o600))
            .expect("mkfifo");
        let script = format!("read x < {}; exec true", fifo.display());
        let unshare = Command::new("unshare")
            .args(["--pid", "--fork", "sh", "-c", &script])
            .spawn()
            .expect("unshare(1) from util-linux");
        let children = format!("/proc/{0}/task/{0}/children", unshare.id());
        let pid = crate::poll_until(Duration::from_secs(5), || {
            let text = std::fs::read_to_string(&children).ok()?;
            text.split_whitespace().next()?.parse().ok()
        })
        .expect("unshare forked the namespace's init");
        Self { unshare, pid, gate }
    }

    /// The init's PID as the host sees it.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Lets the init exec and exit; returns once it has.
    pub fn release(mut self) {
        std::fs::write(self.gate.path().join("go"), b"go\n").expect("the init reads its gate");
        let status =
            wait_timeout::ChildExt::wait_timeout(&mut self.unshare, crate::child::DEADLINE)
                .expect("waitpid on unshare")
                .expect("the held init exits once released");
        assert!(status.success(), "the held init failed: {status}");
    }
}

impl Drop for HeldInit {
    /// A test that failed before releasing must not leave the init waiting forever.
    fn drop(&mut self) {
        if let Ok(None) = self.unshare.try_wait() {
            if let Some(pid) = rustix::process::Pid::from_raw(self.pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
            let _ = self.unshare.wait();
        }
    }
}
