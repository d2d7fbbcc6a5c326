//! What no poststop will read goes: outcomes of containers whose bundle is gone or that
//! waited too long ([`sweep`]), and the outcome of a prestart whose tracer failed
//! ([`discard`]).

use std::{fs::File, io::Read, path::Path, time::Duration};

use rustix::fs::{flock, FlockOperation};

use super::{outcome_path, BUNDLE};
use crate::node::files::{open_read, retry};

/// Removes the outcome of `id` if its tracer is gone (the prestart hook saw it fail or die:
/// the container does not start, no poststop will find a tracer's result).
pub fn discard(dir: &Path, id: &str) {
    let path = outcome_path(dir, id);
    if is_finished(&path) {
        let _ = std::fs::remove_file(&path);
    }
}

/// `text`'s bundle (its first line, when it names one) and the rest.
pub(super) fn without_bundle(text: &str) -> (Option<&Path>, &str) {
    let Some(named) = text.strip_prefix(BUNDLE) else {
        return (None, text);
    };
    match named.split_once('\n') {
        Some((bundle, rest)) => (Some(Path::new(bundle)), rest),
        None => (None, text),
    }
}

/// Removes the outcomes in `dir` no poststop will read: finished (unlocked) and either last
/// written more than `age` ago or naming a bundle that is gone. The node's own entries
/// (`@shared`, `@kernel-offsets`) and outcomes still claimed are left alone; best effort.
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

/// Whether `path` is a finished outcome (no tracer holds it) that no poststop will read. The
/// lock is tried last, on candidates only: a shared lock held while a tracer claims a fresh
/// file would make that claim fail.
fn unread_for(path: &Path, age: Duration) -> bool {
    let Ok(mut file) = open_read(path) else {
        return false;
    };
    let old = file
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|elapsed| elapsed > age);
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let gone = without_bundle(&text)
        .0
        .is_some_and(|bundle| !bundle.exists());
    (old || gone) && unlocked(&file)
}

/// Whether the outcome file at `path` is there and no tracer holds it any more.
pub(super) fn is_finished(path: &Path) -> bool {
    open_read(path).is_ok_and(|file| unlocked(&file))
}

/// Whether no tracer holds `file` (a shared lock is granted, and let go with the file).
fn unlocked(file: &File) -> bool {
    retry(|| flock(file, FlockOperation::NonBlockingLockShared)).is_ok()
}
