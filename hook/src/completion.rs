//! How the `poststop` hook knows the tracer of a container has finished: the tracer holds an
//! exclusive `flock` on `/run/oci-seccomp-bpf-hook/<container id>` from before the hook returns
//! until its profile is written, and leaves its outcome in the file. The waiter takes a shared
//! lock, which it gets exactly when the tracer is done (or dead), then reads the outcome.

use std::{
    fs::File,
    io::{Read, Seek, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
    sync::mpsc,
    time::Duration,
};

use rustix::fs::{flock, FlockOperation};

/// The outcome of a tracer that died without a word.
const DIED: &str = "error: the tracer died (killed?) before writing the profile; the output \
                    path was left as it was, see the system log";

/// Where the lock files live (tmpfs, cleared at boot).
pub const RUN_DIR: &str = "/run/oci-seccomp-bpf-hook";

#[derive(Debug, thiserror::Error)]
pub enum CompletionError {
    #[error("the container id {0:?} cannot name a file (expected letters, digits, '.', '_', '-')")]
    BadId(String),
    #[error("cannot use {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("another tracer already records container {0}")]
    Busy(String),
    #[error("the tracer of container {id} did not finish within {timeout:?}; its profile may be missing")]
    Timeout { id: String, timeout: Duration },
}

/// The tracer's claim on a container id. Dropping it unfinished records a failure.
pub struct Completion {
    path: PathBuf,
    file: File,
    finished: bool,
}

fn lock_path(dir: &Path, id: &str) -> Result<PathBuf, CompletionError> {
    let safe = !id.is_empty()
        && id.len() <= 256
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !safe {
        return Err(CompletionError::BadId(id.to_owned()));
    }
    Ok(dir.join(id))
}

impl Completion {
    /// Creates and exclusively locks the file for `id` in `dir`.
    pub fn claim(dir: &Path, id: &str) -> Result<Self, CompletionError> {
        let path = lock_path(dir, id)?;
        let io = |source| CompletionError::Io {
            path: path.clone(),
            source,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io)?;
        flock(&file, FlockOperation::NonBlockingLockExclusive)
            .map_err(|_| CompletionError::Busy(id.to_owned()))?;
        file.set_len(0).map_err(io)?;
        Ok(Self {
            path,
            file,
            finished: false,
        })
    }

    /// Leaves `outcome` for the waiter and releases it.
    pub fn finish(mut self, outcome: &str) {
        self.write_outcome(outcome);
        self.finished = true;
    }

    fn write_outcome(&mut self, outcome: &str) {
        let _ = self.file.set_len(0);
        let _ = self.file.rewind();
        let _ = self.file.write_all(outcome.as_bytes());
        // Unlink before the lock is released (on close): a later waiter finds no file and
        // returns at once, an earlier one still reads the outcome through its descriptor.
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if !self.finished {
            self.write_outcome("error: the tracer stopped before writing the profile");
        }
    }
}

/// Waits up to `timeout` for the tracer of `id` to finish. `None` when no tracer holds the id
/// (it never started, or finished and cleaned up already); otherwise the tracer's outcome.
pub fn wait(dir: &Path, id: &str, timeout: Duration) -> Result<Option<String>, CompletionError> {
    let path = lock_path(dir, id)?;
    let mut file = match File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(CompletionError::Io { path, source }),
    };
    let (done, locked) = mpsc::channel();
    let waiter = file.try_clone().map_err(|source| CompletionError::Io {
        path: path.clone(),
        source,
    })?;
    // flock has no timeout: block in a helper thread, bound the wait here. On timeout the
    // thread is left blocked; the process exits right after.
    std::thread::spawn(move || {
        let _ = done.send(flock(&waiter, FlockOperation::LockShared));
    });
    match locked.recv_timeout(timeout) {
        Ok(_) => {
            let mut outcome = String::new();
            let _ = file.read_to_string(&mut outcome);
            if outcome.is_empty() {
                // The lock went with a tracer that left nothing: it was killed (SIGKILL, OOM).
                // Its file is ours to clean up; the output path was never touched.
                let _ = std::fs::remove_file(&path);
                outcome = DIED.to_owned();
            }
            Ok(Some(outcome))
        }
        Err(_) => Err(CompletionError::Timeout {
            id: id.to_owned(),
            timeout,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiter_gets_the_outcome_once_the_tracer_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let claim = Completion::claim(dir.path(), "abc123").unwrap();
        let finisher = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            claim.finish("ok: wrote /x.json");
        });
        let outcome = wait(dir.path(), "abc123", Duration::from_secs(10)).unwrap();
        finisher.join().unwrap();
        assert_eq!(outcome.as_deref(), Some("ok: wrote /x.json"));
        assert!(!dir.path().join("abc123").exists());
    }

    #[test]
    fn no_tracer_means_nothing_to_wait_for() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            wait(dir.path(), "none", Duration::from_secs(1)).unwrap(),
            None
        );
    }

    #[test]
    fn a_tracer_that_never_finishes_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let _claim = Completion::claim(dir.path(), "slow").unwrap();
        let err = wait(dir.path(), "slow", Duration::from_millis(100)).unwrap_err();
        assert!(err.to_string().contains("did not finish"), "{err}");
    }

    #[test]
    fn a_dropped_claim_reports_failure() {
        let dir = tempfile::tempdir().unwrap();
        let claim = Completion::claim(dir.path(), "dead").unwrap();
        let mut early = File::open(dir.path().join("dead")).unwrap();
        drop(claim);
        let mut outcome = String::new();
        early.read_to_string(&mut outcome).unwrap();
        assert!(outcome.starts_with("error:"), "{outcome}");
    }

    /// A tracer killed with SIGKILL leaves an empty, unlocked file: the waiter returns at once
    /// with an error and removes it.
    #[test]
    fn a_killed_tracer_is_reported_promptly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("killed");
        std::fs::write(&path, b"").unwrap();
        // -o: the lock stays with flock itself, not with the sleep it runs.
        let mut holder = std::process::Command::new("flock")
            .args(["-o", "-x"])
            .arg(&path)
            .args(["sleep", "2"])
            .spawn()
            .expect("flock(1) from util-linux");
        std::thread::sleep(Duration::from_millis(200));
        holder.kill().unwrap();
        holder.wait().unwrap();
        let started = std::time::Instant::now();
        let outcome = wait(dir.path(), "killed", Duration::from_secs(10)).unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            outcome
                .as_deref()
                .is_some_and(|o| o.contains("tracer died")),
            "{outcome:?}"
        );
        assert!(!path.exists());
    }

    #[test]
    fn ids_that_could_escape_the_directory_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for id in ["", "../etc/passwd", ".hidden", "a/b", "a b"] {
            assert!(Completion::claim(dir.path(), id).is_err(), "{id:?}");
        }
        assert!(Completion::claim(dir.path(), "0123abcdef_x-y.z").is_ok());
    }

    #[test]
    fn two_tracers_cannot_claim_one_container() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Completion::claim(dir.path(), "same").unwrap();
        assert!(matches!(
            Completion::claim(dir.path(), "same"),
            Err(CompletionError::Busy(_))
        ));
    }
}
