//! Forks the tracer off the hook. The runtime waits for the hook to exit and reads its stdout
//! and stderr to EOF, and the container's cgroup (or systemd scope) can be torn down before the
//! container's profile is written; so the tracer gets its own session, the root cgroup of every
//! hierarchy (once attached), /dev/null for stdio and no other inherited descriptor. It reports "attached" or
//! an error through a pipe, which the hook waits on with a deadline.

use std::{
    io::{Read, Write},
    os::fd::{AsRawFd, OwnedFd, RawFd},
    time::Duration,
};

use super::fork::{self, ForkError, Forked};
use rustix::{
    event::{poll, PollFd, PollFlags, Timespec},
    pipe::{pipe_with, PipeFlags},
    process::{kill_process, Pid, Signal},
};

/// Readiness messages on the pipe: this prefix, else the rest of the message is an error.
const READY: &str = "attached";

#[derive(Debug, thiserror::Error)]
pub enum DetachError {
    #[error("cannot start the tracer")]
    Fork(#[from] ForkError),
    #[error("cannot make the tracer's readiness pipe")]
    Pipe(#[source] std::io::Error),
    #[error("waiting for the tracer to attach failed")]
    Wait(#[source] std::io::Error),
    #[error("{0}")]
    Tracer(String),
    #[error("the tracer exited before attaching (see syslog for oci-seccomp-bpf-hook)")]
    Vanished,
    #[error("the tracer did not attach within {0:?} and was killed; raise --timeout if the host is very busy")]
    Timeout(Duration),
}

/// The tracer's end of the readiness pipe.
pub struct Ready(std::fs::File);

impl Ready {
    /// Tells the hook the program is attached: it may return, and the container may start.
    /// Then leaves the caller's cgroups: a cgroup move waits for an RCU grace period (10+ ms
    /// measured here, once per hierarchy), which the container's start need not pay. It only
    /// has to happen before the container's cgroup is torn down, which is after the container
    /// has run. The moves run on a thread of their own (writing the process's PID moves all
    /// its threads): a container that ends within those milliseconds has its exit seen, and
    /// its profile written, at once, not after them.
    pub fn attached(mut self) {
        let _ = self.0.write_all(READY.as_bytes());
        drop(self);
        std::thread::spawn(leave_cgroups);
    }

    /// Tells the hook why tracing cannot start; the hook prints it and fails.
    pub fn failed(mut self, message: &str) {
        let _ = self.0.write_all(message.as_bytes());
    }
}

/// The hook's view of the tracer it started.
pub struct Tracer {
    pid: Pid,
    ready: std::fs::File,
}

/// Forks; the child runs `tracer` detached and exits with its return value. Of the inherited
/// descriptors only `keep` (and stdio, on /dev/null) stay open. Call while the process is
/// single-threaded (before any runtime starts); [`fork::fork`] checks it.
pub fn spawn(keep: &[RawFd], tracer: impl FnOnce(Ready) -> i32) -> Result<Tracer, DetachError> {
    let (read, write) = pipe_with(PipeFlags::CLOEXEC).map_err(|e| DetachError::Pipe(e.into()))?;
    match fork::fork()? {
        Forked::Child => {
            drop(read);
            detach_child(&write, keep);
            std::process::exit(tracer(Ready(std::fs::File::from(write))));
        }
        Forked::Parent(pid) => Ok(Tracer {
            pid,
            ready: std::fs::File::from(read),
        }),
    }
}

impl Tracer {
    /// Waits for the tracer's word, at most `timeout`. On timeout the tracer is killed.
    pub fn wait_attached(mut self, timeout: Duration) -> Result<(), DetachError> {
        let deadline = Timespec::try_from(timeout).unwrap_or(Timespec {
            tv_sec: 10,
            tv_nsec: 0,
        });
        let mut fds = [PollFd::new(&self.ready, PollFlags::IN)];
        let ready = loop {
            match poll(&mut fds, Some(&deadline)) {
                Ok(n) => break n > 0,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(DetachError::Wait(e.into())),
            }
        };
        if !ready {
            let _ = kill_process(self.pid, Signal::KILL);
            reap(self.pid);
            return Err(DetachError::Timeout(timeout));
        }
        let mut message = String::new();
        let _ = self.ready.read_to_string(&mut message);
        match message.as_str() {
            READY => Ok(()),
            "" => {
                reap(self.pid);
                Err(DetachError::Vanished)
            }
            error => {
                reap(self.pid);
                Err(DetachError::Tracer(error.to_owned()))
            }
        }
    }
}

fn reap(pid: Pid) {
    let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
}

/// In the forked child: new session, stdio to /dev/null, nothing else open but `ready` and
/// `keep`: nothing the runtime handed the hook survives in the long-lived tracer. (The cgroups
/// are left once attached, see [`Ready::attached`].)
fn detach_child(ready: &OwnedFd, keep: &[RawFd]) {
    let _ = rustix::process::setsid();
    if let Ok(null) = std::fs::File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for target in 0..=2 {
            // SAFETY: dup2 onto the standard descriptors, which we own.
            unsafe { libc::dup2(null.as_raw_fd(), target) };
        }
    }
    let mut open: Vec<RawFd> = keep.iter().copied().chain([ready.as_raw_fd()]).collect();
    open.sort_unstable();
    close_all_but(&open);
}

/// Closes every descriptor from 3 up except `open` (sorted).
fn close_all_but(open: &[RawFd]) {
    let mut next: u32 = 3;
    for &fd in open {
        let Ok(fd) = u32::try_from(fd) else { continue };
        if fd > next {
            // SAFETY: closes descriptors nobody in this fresh child owns.
            unsafe { libc::syscall(libc::SYS_close_range, next, fd - 1, 0u32) };
        }
        next = next.max(fd + 1);
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_close_range, next, u32::MAX, 0u32) };
}

/// Moves this process to the root cgroup of every mounted hierarchy (v1 controllers and v2),
/// so that removing the container's or conmon's cgroup, or stopping its systemd scope, does
/// not kill the tracer before it writes the profile.
fn leave_cgroups() {
    let pid = std::process::id().to_string();
    let unified = std::path::Path::new("/sys/fs/cgroup/cgroup.procs");
    let procs: Vec<std::path::PathBuf> = if unified.exists() {
        vec![unified.to_owned()]
    } else {
        std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("cgroup.procs"))
            .filter(|p| p.exists())
            .collect()
    };
    for path in procs {
        if let Err(e) = std::fs::write(&path, &pid) {
            log::debug!("cannot move the tracer to {}: {e}", path.display());
        }
    }
}
