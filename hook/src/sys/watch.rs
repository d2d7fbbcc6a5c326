//! Waits for a process to exit through a pidfd: no polling, no signal races, and no need to be
//! its parent (the tracer watches a container init it did not start).

use std::os::fd::{AsFd, OwnedFd};

use rustix::process::{pidfd_open, Pid, PidfdFlags};
use tokio::io::{unix::AsyncFd, Interest};

/// A process being watched. Needs a tokio runtime.
pub struct Watch {
    pidfd: AsyncFd<OwnedFd>,
}

impl Watch {
    /// Watches `pid`. Fails when no such process exists.
    pub fn pid(pid: i32) -> std::io::Result<Self> {
        let pid =
            Pid::from_raw(pid).ok_or_else(|| std::io::Error::other("PID must be positive"))?;
        Self::fd(pidfd_open(pid, PidfdFlags::empty())?)
    }

    /// Watches the process behind an open pidfd.
    pub fn fd(pidfd: OwnedFd) -> std::io::Result<Self> {
        // SAFETY: the OwnedFd moves into the AsyncFd and stays open, unchanged, until it drops.
        let pidfd = unsafe { AsyncFd::register_with_interest(pidfd, Interest::READABLE) }?;
        Ok(Self { pidfd })
    }

    /// Resolves once the whole process (every thread) has exited. Does not reap it.
    pub async fn exited(&self) -> std::io::Result<()> {
        // A pidfd polls readable exactly when the process has exited, and stays so.
        let _ready = self.pidfd.readable().await?;
        Ok(())
    }

    pub fn pidfd(&self) -> impl AsFd + '_ {
        self.pidfd.get_ref()
    }
}
