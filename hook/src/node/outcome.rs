//! The tracer's outcome, handed to `poststop` through a file in [`RUN_DIR`](super::RUN_DIR).
//!
//! The tracer claims the file (exclusive `flock`) before the hook returns and holds it until
//! the profile is written or has failed; then it writes its [`Outcome`] and closes the file,
//! which releases the lock. `poststop` takes a shared lock, which it gets exactly when the
//! tracer is done (or dead), reads the outcome, and removes the file: the outcome survives
//! until it has been read, whatever the order of the two, and then nothing is left.

use std::{
    fs::File,
    io::{Read, Seek, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
    sync::mpsc,
    time::Duration,
};

use rustix::{
    fs::{flock, FlockOperation},
    io::Errno,
};
use sha2::{Digest, Sha256};

use super::files::{open_rw, retry};

/// A finished outcome no poststop has read after this long is one no poststop will read
/// (upstream's prestart-only hooks JSON runs none): the next tracer to start removes it. Its
/// reason stays beside the `of:` file (`tracer::told`).
pub const UNREAD_OUTCOME_AGE: Duration = Duration::from_secs(15 * 60);

/// IDs up to this long name their file as they are; longer ones are hashed, so a file name
/// never nears NAME_MAX (255), whatever ID the runtime accepts.
const MAX_PLAIN_ID: usize = 128;

/// How a tracer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The profile was written; a one-line summary.
    Written(String),
    /// No profile was written for this run; why, in one line.
    Failed(String),
}

const WRITTEN: &str = "written\n";
const FAILED: &str = "failed\n";
/// A tracer that dies leaves its file empty; that is what it means.
const DIED: &str = "the tracer died (killed?) before writing the profile; the output path was \
                    left as it was, see the system log";

impl Outcome {
    fn encode(&self) -> String {
        match self {
            Outcome::Written(summary) => format!("{WRITTEN}{summary}"),
            Outcome::Failed(reason) => format!("{FAILED}{reason}"),
        }
    }

    fn decode(text: &str) -> Outcome {
        if let Some(summary) = text.strip_prefix(WRITTEN) {
            return Outcome::Written(summary.to_owned());
        }
        match text.strip_prefix(FAILED) {
            Some(reason) => Outcome::Failed(reason.to_owned()),
            None if text.is_empty() => Outcome::Failed(DIED.to_owned()),
            None => Outcome::Failed("the tracer left an unreadable outcome".to_owned()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutcomeError {
    #[error("cannot use {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("another tracer already records container {0}")]
    Busy(String),
    #[error(
        "no tracer recorded container {0} (its prestart hook failed or did not run); no \
         profile was written for it"
    )]
    NoTracer(String),
    #[error("the tracer of container {id} did not finish within {timeout:?}; its profile may be missing")]
    Timeout { id: String, timeout: Duration },
}

/// The file for container `id` in `dir`: the ID itself when it is short and plainly a file
/// name, else `~` and its SHA-256 (no ID runc accepts contains `~`, so the two never meet).
fn outcome_path(dir: &Path, id: &str) -> PathBuf {
    let plain = !id.is_empty()
        && id.len() <= MAX_PLAIN_ID
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
    if plain {
        return dir.join(id);
    }
    let digest = Sha256::digest(id.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("~{hex}"))
}

/// The tracer's claim on a container. Dropping it unfinished records a failure.
pub struct Claim {
    file: File,
    finished: bool,
}

impl Claim {
    /// Creates and exclusively locks the file for `id` in `dir`, emptying what an earlier
    /// container of the same ID may have left unread (and removing other outcomes left unread
    /// for [`UNREAD_OUTCOME_AGE`]).
    pub fn new(dir: &Path, id: &str) -> Result<Self, OutcomeError> {
        sweep(dir, UNREAD_OUTCOME_AGE);
        let path = outcome_path(dir, id);
        let io = |source| OutcomeError::Io {
            path: path.clone(),
            source,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
        let file = open_rw(&path).map_err(io)?;
        match retry(|| flock(&file, FlockOperation::NonBlockingLockExclusive)) {
            Ok(()) => {}
            Err(Errno::WOULDBLOCK) => return Err(OutcomeError::Busy(id.to_owned())),
            Err(e) => return Err(io(e.into())),
        }
        file.set_len(0).map_err(io)?;
        Ok(Self {
            file,
            finished: false,
        })
    }

    /// Leaves `outcome` for poststop and releases the lock.
    pub fn finish(mut self, outcome: &Outcome) {
        self.write(outcome);
        self.finished = true;
    }

    fn write(&mut self, outcome: &Outcome) {
        let _ = self.file.set_len(0);
        let _ = self.file.rewind();
        let _ = self.file.write_all(outcome.encode().as_bytes());
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.finished {
            let stopped = "the tracer stopped before writing the profile";
            self.write(&Outcome::Failed(stopped.to_owned()));
        }
    }
}

/// Waits up to `timeout` for the tracer of `id` to finish, then takes its outcome (the file
/// is removed). On timeout the file stays for the tracer, which is still at work.
pub fn collect(dir: &Path, id: &str, timeout: Duration) -> Result<Outcome, OutcomeError> {
    let path = outcome_path(dir, id);
    let io = |source| OutcomeError::Io {
        path: path.clone(),
        source,
    };
    let mut file = match File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(OutcomeError::NoTracer(id.to_owned()))
        }
        Err(source) => return Err(io(source)),
    };
    let waiter = file.try_clone().map_err(io)?;
    let (done, locked) = mpsc::channel();
    // flock has no timeout: block in a helper thread, bound the wait here. On timeout the
    // thread is left blocked; the process exits right after.
    std::thread::spawn(move || {
        let _ = done.send(retry(|| flock(&waiter, FlockOperation::LockShared)));
    });
    match locked.recv_timeout(timeout) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(io(e.into())),
        Err(_) => {
            return Err(OutcomeError::Timeout {
                id: id.to_owned(),
                timeout,
            })
        }
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(io)?;
    std::fs::remove_file(&path).map_err(io)?;
    Ok(Outcome::decode(&text))
}

/// Removes the outcomes in `dir` whose tracer finished more than `age` ago (the file is
/// unlocked and was last written then). The node's own entries (`@shared`, `@kernel-offsets`)
/// and outcomes still claimed are left alone; best effort.
pub fn sweep(dir: &Path, age: Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let node_entry = entry.file_name().to_string_lossy().starts_with('@');
        if node_entry || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        if unread_for(&path, age) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Whether `path` is a finished outcome (no tracer holds it) last written more than `age` ago.
fn unread_for(path: &Path, age: Duration) -> bool {
    let Ok(file) = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    else {
        return false;
    };
    let finished = retry(|| flock(&file, FlockOperation::NonBlockingLockShared)).is_ok();
    let old = file
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|elapsed| elapsed > age);
    finished && old
}

#[cfg(test)]
mod tests;
