//! fork(2) for the two places that need it: the tracer off the hook ([`detach`](super::detach))
//! and `record`'s command ([`launch`](crate::record::launch)). Both run ordinary Rust in the child,
//! which is sound only when the parent had one thread: a child of a multi-threaded process
//! may only make async-signal-safe calls. So the check comes with the fork.

use std::time::{Duration, Instant};

use rustix::process::Pid;

/// Which side of the fork this is.
pub enum Forked {
    Child,
    Parent(Pid),
}

#[derive(Debug, thiserror::Error)]
pub enum ForkError {
    #[error("cannot count this process's threads")]
    Threads(#[source] std::io::Error),
    #[error("this process must fork before any other thread exists (found {0} threads)")]
    NotSingleThreaded(usize),
    #[error("cannot fork")]
    Fork(#[source] std::io::Error),
}

/// Fails unless this process has exactly one thread.
pub fn ensure_single_threaded() -> Result<(), ForkError> {
    match thread_count()? {
        1 => Ok(()),
        n => Err(ForkError::NotSingleThreaded(n)),
    }
}

/// How many threads this process has now.
pub fn thread_count() -> Result<usize, ForkError> {
    let tasks = std::fs::read_dir("/proc/self/task").map_err(ForkError::Threads)?;
    Ok(tasks.count())
}

/// Waits up to `limit` for this process to be down to `count` threads: a thread that was
/// joined may still be leaving the kernel a moment after, and a fork then would be refused.
pub fn settle_threads(count: usize, limit: Duration) {
    let deadline = Instant::now() + limit;
    while thread_count().is_ok_and(|n| n > count) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// Forks, once [`ensure_single_threaded`] holds.
pub fn fork() -> Result<Forked, ForkError> {
    ensure_single_threaded()?;
    // SAFETY: single-threaded (checked above), so the child may run ordinary code.
    match unsafe { libc::fork() } {
        -1 => Err(ForkError::Fork(std::io::Error::last_os_error())),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(
            Pid::from_raw(pid).expect("fork returned a positive pid"),
        )),
    }
}
