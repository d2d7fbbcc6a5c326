//! Starts a command as PID 1 of a new PID namespace, held just before `execve` until the
//! caller releases it. That is what lets the recorder attach before the command's first
//! instruction: the namespace exists (so it can be named) while nothing of the command has run.

use std::{
    ffi::{CString, OsString},
    fs::File,
    os::{
        fd::{AsFd, AsRawFd, OwnedFd, RawFd},
        unix::ffi::OsStrExt,
    },
};

use rustix::{
    io::Errno,
    pipe::{pipe_with, PipeFlags},
    process::{pidfd_open, pidfd_send_signal, Pid, PidfdFlags, Signal, WaitId, WaitIdOptions},
    thread::{move_into_link_name_space, unshare_unsafe, LinkNameSpaceType, UnshareFlags},
};

use crate::sys::{
    fork::{self, ForkError, Forked},
    watch::Watch,
};

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("no command given")]
    NoCommand,
    #[error("argument {0:?} contains a NUL byte, which no program can receive")]
    NulInArgument(OsString),
    #[error("cannot start the command")]
    Fork(#[from] ForkError),
    #[error("cannot create a PID namespace")]
    Namespace(#[source] Errno),
    #[error("cannot start the command")]
    Spawn(#[source] std::io::Error),
    #[error("cannot run {command:?}")]
    Exec {
        command: OsString,
        #[source]
        source: std::io::Error,
    },
    #[error("waiting for the command failed")]
    Wait(#[source] std::io::Error),
    #[error("cannot pass a signal on to the command")]
    Signal(#[source] std::io::Error),
}

impl From<Errno> for LaunchError {
    fn from(e: Errno) -> Self {
        LaunchError::Spawn(e.into())
    }
}

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// The status a shell would report: the code, or 128 + the signal number.
    pub fn shell_code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

/// A forked child waiting, as PID 1 of its own namespace, for [`GatedChild::release`].
/// Dropping it unreleased makes the child exit(1) without ever running the command.
pub struct GatedChild {
    pid: Pid,
    pidfd: OwnedFd,
    go: OwnedFd,
    exec_error: OwnedFd,
    command: OsString,
}

/// The command, running.
pub struct Running {
    watch: Watch,
}

/// Forks `argv` into a new PID namespace, stopped before `execve`.
///
/// Must be called while the process has a single thread (before starting an async runtime):
/// between `unshare(CLONE_NEWPID)` and the `setns` that undoes it the kernel refuses to create
/// threads, and a forked child of a multi-threaded process may only make async-signal-safe calls.
pub fn spawn_gated(argv: &[OsString]) -> Result<GatedChild, LaunchError> {
    let command = argv.first().ok_or(LaunchError::NoCommand)?.clone();
    let args = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()).map_err(|_| LaunchError::NulInArgument(a.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    let mut arg_ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    arg_ptrs.push(std::ptr::null());

    // unshare(CLONE_NEWPID) in a multi-threaded process would strand the other threads.
    fork::ensure_single_threaded()?;
    let (go_read, go_write) = pipe_with(PipeFlags::CLOEXEC)?;
    let (err_read, err_write) = pipe_with(PipeFlags::CLOEXEC)?;
    let own_pid_ns = File::open("/proc/self/ns/pid").map_err(LaunchError::Spawn)?;

    // SAFETY: single-threaded (checked above), and no file table is unshared.
    unsafe { unshare_unsafe(UnshareFlags::NEWPID) }.map_err(LaunchError::Namespace)?;
    let forked = fork::fork();
    if let Ok(Forked::Child) = forked {
        let close = [go_write.as_raw_fd(), err_read.as_raw_fd()];
        // SAFETY: in the child; the pointers stay valid until execvp replaces the image.
        unsafe { wait_then_exec(go_read.as_raw_fd(), err_write.as_raw_fd(), close, &arg_ptrs) }
    }
    // Back to our own namespace for later children, so that threads can be created again.
    move_into_link_name_space(own_pid_ns.as_fd(), Some(LinkNameSpaceType::ProcessID))
        .map_err(LaunchError::Namespace)?;
    let Forked::Parent(pid) = forked? else {
        unreachable!("the child execs or exits in wait_then_exec")
    };
    // The child is ours and unreaped, so this pid cannot have been reused.
    let pidfd = pidfd_open(pid, PidfdFlags::empty())?;
    Ok(GatedChild {
        pid,
        pidfd,
        go: go_write,
        exec_error: err_read,
        command,
    })
}

impl GatedChild {
    /// The child's PID as seen from our namespace.
    pub fn pid(&self) -> i32 {
        self.pid.as_raw_nonzero().get()
    }

    /// Lets the child `execve` the command; returns once the exec has happened.
    /// Needs a tokio runtime (the returned handle waits on a pidfd).
    pub fn release(self) -> Result<Running, LaunchError> {
        let GatedChild {
            pidfd,
            go,
            exec_error,
            command,
            ..
        } = self;
        rustix::io::write(&go, &[1])?;
        drop(go);
        // The exec closes the write end (O_CLOEXEC): EOF means success, 4 bytes are an errno.
        let mut errno = [0u8; 4];
        let n = read_full(&exec_error, &mut errno)?;
        if n == errno.len() {
            let source = std::io::Error::from_raw_os_error(i32::from_ne_bytes(errno));
            return Err(LaunchError::Exec { command, source });
        }
        let watch = Watch::fd(pidfd).map_err(LaunchError::Spawn)?;
        Ok(Running { watch })
    }
}

impl Running {
    /// Sends `signal` to the command (PID 1 of its namespace ignores signals it has no handler
    /// for, except SIGKILL).
    pub fn signal(&self, signal: Signal) -> Result<(), LaunchError> {
        pidfd_send_signal(self.watch.pidfd(), signal).map_err(|e| LaunchError::Signal(e.into()))
    }

    /// Waits for the command to exit and reaps it. Cancel-safe: nothing is consumed until the
    /// pidfd reports the exit.
    pub async fn wait(&self) -> Result<Exit, LaunchError> {
        self.watch.exited().await.map_err(LaunchError::Wait)?;
        let status = rustix::process::waitid(
            WaitId::PidFd(self.watch.pidfd().as_fd()),
            WaitIdOptions::EXITED,
        )
        .map_err(|e| LaunchError::Wait(e.into()))?
        .ok_or_else(|| LaunchError::Wait(std::io::Error::other("no exit status")))?;
        Ok(match (status.exit_status(), status.terminating_signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(sig)) => Exit::Signal(sig),
            (None, None) => Exit::Code(0),
        })
    }
}

fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> Result<usize, LaunchError> {
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::io::read(fd, &mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(filled)
}

/// The child's side: wait for the go byte, then become the command.
///
/// # Safety
/// Call only in a freshly forked child. Uses raw libc calls and never returns.
unsafe fn wait_then_exec(
    go: RawFd,
    exec_error: RawFd,
    close: [RawFd; 2],
    argv: &[*const libc::c_char],
) -> ! {
    // SAFETY: a forked child (the caller's contract) that only makes async-signal-safe libc
    // calls on descriptors it owns, `byte` and `errno` live on its stack, and `argv` is a
    // NULL-terminated array of C strings the parent built before forking.
    unsafe {
        for fd in close {
            libc::close(fd);
        }
        // If the recorder dies, so does the command: it must never run unrecorded.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        // Rust ignores SIGPIPE; an ignored signal stays ignored across execve. Undo that.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut byte = 0u8;
        loop {
            let n = libc::read(go, (&raw mut byte).cast(), 1);
            if n == 1 {
                break;
            }
            if n < 0 && *libc::__errno_location() == libc::EINTR {
                continue;
            }
            // EOF: the recorder went away before attaching.
            libc::_exit(1);
        }
        libc::execvp(argv[0], argv.as_ptr());
        let errno = (*libc::__errno_location()).to_ne_bytes();
        libc::write(exec_error, errno.as_ptr().cast(), errno.len());
        libc::_exit(127);
    }
}
