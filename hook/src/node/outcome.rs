//! The tracer's outcome, handed to `poststop` through a file in [`RUN_DIR`](super::RUN_DIR).
//!
//! The tracer claims the file (exclusive `flock`) before the hook returns and holds it until
//! the profile is written or has failed; then it writes its [`Outcome`] and releases the
//! lock. `poststop` takes a shared lock, which it gets exactly when the tracer is done (or
//! dead), reads the outcome, and removes the file: the outcome survives until it has been
//! read, whatever the order of the two, and then nothing is left.
//!
//! An outcome no poststop will read (upstream's prestart-only hooks JSON runs none) must not
//! stay either: the file names the container's bundle, and an outcome whose bundle is gone
//! (the runtime removed the container, after its poststop had its turn) is removed by the
//! tracer that waits for it ([`Finished::wait_for_reader`]) or by the next [`sweep`].

use std::{
    fs::File,
    io::{Read, Seek, Write},
    os::unix::fs::{DirBuilderExt, MetadataExt},
    path::{Path, PathBuf},
    sync::mpsc,
    time::Duration,
};

use rustix::{
    fs::{flock, FlockOperation},
    io::Errno,
};
use sha2::{Digest, Sha256};

use super::files::{open_read, open_rw, retry};

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

/// The first line of every outcome file: `bundle PATH` (omitted for a path with a newline).
const BUNDLE: &str = "bundle ";
const WRITTEN: &str = "written\n";
const FAILED: &str = "failed\n";
/// A tracer that dies leaves nothing after the bundle line; that is what it means.
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
    path: PathBuf,
    /// The container's bundle, named on the file's first line.
    bundle: Option<PathBuf>,
    finished: bool,
}

impl Claim {
    /// Creates and exclusively locks the file for `id` in `dir`, emptying what an earlier
    /// container of the same ID may have left unread (and sweeping other outcomes no poststop
    /// will read), and names `bundle` in it at once: a tracer killed later still leaves it.
    pub fn new(dir: &Path, id: &str, bundle: &Path) -> Result<Self, OutcomeError> {
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
        lock_claim(&file).map_err(|e| match e {
            Errno::WOULDBLOCK => OutcomeError::Busy(id.to_owned()),
            e => io(e.into()),
        })?;
        file.set_len(0).map_err(io)?;
        let bundle = bundle
            .to_str()
            .filter(|b| !b.contains('\n'))
            .map(PathBuf::from);
        (&file)
            .write_all(header(bundle.as_deref()).as_bytes())
            .map_err(io)?;
        Ok(Self {
            file,
            path,
            bundle,
            finished: false,
        })
    }

    /// Leaves `outcome` for poststop and releases the lock.
    pub fn finish(mut self, outcome: &Outcome) -> Finished {
        self.write(outcome);
        self.finished = true;
        // Unlocked now (the lock is the open file's, shared by its duplicate), kept open so
        // that its inode number cannot be reused while it is compared.
        let _ = flock(&self.file, FlockOperation::Unlock);
        Finished {
            file: self.file.try_clone().ok(),
            path: std::mem::take(&mut self.path),
            bundle: self.bundle.take(),
        }
    }

    fn write(&mut self, outcome: &Outcome) {
        let _ = self.file.set_len(0);
        let _ = self.file.rewind();
        let text = format!("{}{}", header(self.bundle.as_deref()), outcome.encode());
        let _ = self.file.write_all(text.as_bytes());
    }
}

/// An outcome file's first line: [`BUNDLE`] and `bundle`, when it can be named.
fn header(bundle: Option<&Path>) -> String {
    bundle.map_or(String::new(), |b| format!("{BUNDLE}{}\n", b.display()))
}

/// Locks a claimed file exclusively. Another tracer of the container holds it for good; a
/// poststop or sweep looking at the file only for an instant: a few retries tell the two
/// apart.
fn lock_claim(file: &File) -> Result<(), Errno> {
    for _ in 1..CLAIM_TRIES {
        match retry(|| flock(file, FlockOperation::NonBlockingLockExclusive)) {
            Err(Errno::WOULDBLOCK) => std::thread::sleep(Duration::from_millis(10)),
            other => return other,
        }
    }
    retry(|| flock(file, FlockOperation::NonBlockingLockExclusive))
}

const CLAIM_TRIES: u32 = 10;

/// A finished outcome, unlocked, waiting for its reader.
pub struct Finished {
    path: PathBuf,
    /// The file, held open: a later container of the same ID makes a new one at the path.
    file: Option<File>,
    bundle: Option<PathBuf>,
}

impl Finished {
    /// Returns once poststop has read the outcome, or removes it once the container's bundle
    /// is gone (the runtime runs poststop before it removes a container, so no poststop is
    /// coming), checking every [`READER_POLL`] for at most `limit`; what is still there then
    /// is left to [`sweep`].
    pub fn wait_for_reader(&self, limit: Duration) {
        let Some(bundle) = &self.bundle else {
            return;
        };
        let deadline = std::time::Instant::now() + limit;
        while self.still_ours() {
            // Unlocked too: a later tracer of the same ID may have claimed this very file.
            if !bundle.exists() && is_finished(&self.path) {
                let _ = std::fs::remove_file(&self.path);
                return;
            }
            if std::time::Instant::now() >= deadline {
                return;
            }
            std::thread::sleep(READER_POLL);
        }
    }

    fn still_ours(&self) -> bool {
        let identity = |m: std::fs::Metadata| (m.dev(), m.ino());
        let ours = self
            .file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map(identity);
        let now = std::fs::symlink_metadata(&self.path).ok().map(identity);
        ours.is_some() && now == ours
    }
}

/// How often a finished tracer looks whether its outcome was read or its bundle removed.
const READER_POLL: Duration = Duration::from_millis(200);

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
    let mut file = match open_read(&path) {
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
    sweep(dir, UNREAD_OUTCOME_AGE);
    Ok(Outcome::decode(without_bundle(&text).1))
}

mod sweep;

pub use sweep::{discard, sweep};
use sweep::{is_finished, without_bundle};

#[cfg(test)]
mod tests;
