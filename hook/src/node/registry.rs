//! Where the tracers of one node find the programs one of them loaded. Nothing is pinned: each
//! tracer holds its own descriptors of the links and maps, obtained by ID, so the kernel
//! detaches everything when the last tracer exits, however it exits (SIGKILL included).
//!
//! One directory per eBPF object, named by the object's hash (a binary with another object
//! never shares these programs or maps; both run side by side), holding:
//! - `lock`: taken exclusively while a tracer joins or loads, registers or releases a slot;
//! - `links`: one line per attached program, `NAME LINK_ID PROG_ID TAG`, written by the tracer
//!   that loaded them, and checked against the kernel before anyone trusts an ID again;
//! - `slots/N`: one file per container slot, locked by its tracer for as long as it lives
//!   and holding its [`label`] (the eBPF side of a slot is
//!   [`ebpf::slot`](crate::ebpf::slot)).

use std::{
    fs::File,
    io::Write,
    os::unix::fs::DirBuilderExt,
    path::{Path, PathBuf},
};

use rustix::fs::{flock, FlockOperation};
use sha2::{Digest, Sha256};

use super::{
    files::{open_rw, retry},
    label::{self, LiveSlot},
    shared_dir,
};

#[derive(Debug, thiserror::Error)]
#[error("cannot use the node's registry of traced containers at {path}")]
pub struct RegistryError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// One attached program, as the tracer that loaded it saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRecord {
    /// The program's name in our object (`contract::PROG_*`).
    pub name: String,
    pub link: u32,
    pub prog: u32,
    pub tag: u64,
}

/// The registry of this binary's object, locked: other tracers wait until this value drops.
pub struct Registry {
    dir: PathBuf,
    _lock: File,
}

impl Registry {
    /// Locks the registry of the eBPF object `object`, creating it if needed.
    pub fn lock(object: &[u8]) -> Result<Self, RegistryError> {
        Self::lock_at(&shared_dir().join(object_key(object)))
    }

    /// Locks the registry in `dir`. A registry swept away while we waited for its lock (see
    /// [`sweep_others`]) is made again: the lock held must be the one the path names.
    pub fn lock_at(dir: &Path) -> Result<Self, RegistryError> {
        let err = |path: &Path| {
            let path = path.to_owned();
            move |source| RegistryError { path, source }
        };
        let path = dir.join("lock");
        loop {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir.join("slots"))
                .map_err(err(dir))?;
            let lock = open_rw(&path).map_err(err(&path))?;
            retry(|| flock(&lock, FlockOperation::LockExclusive))
                .map_err(|e| err(&path)(e.into()))?;
            if names_file(&path, &lock) {
                return Ok(Self {
                    dir: dir.to_owned(),
                    _lock: lock,
                });
            }
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the loading tracer wrote; nothing when there is no file or it cannot be read.
    pub fn links(&self) -> Vec<LinkRecord> {
        let text = std::fs::read_to_string(self.dir.join("links")).unwrap_or_default();
        text.lines().filter_map(parse_record).collect()
    }

    /// Publishes `records`, replacing the file at once (a reader never sees half of it).
    pub fn publish(&self, records: &[LinkRecord]) -> Result<(), RegistryError> {
        let text: String = records
            .iter()
            .map(|r| format!("{} {} {} {:016x}\n", r.name, r.link, r.prog, r.tag))
            .collect();
        self.replace("links", &text)
    }

    /// Leaves `text` under `name` for the tracers that join (why a program is missing).
    pub fn publish_note(&self, name: &str, text: &str) -> Result<(), RegistryError> {
        self.replace(&format!("{name}.note"), text)
    }

    /// What [`Registry::publish_note`] left under `name`, if anything.
    pub fn note(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join(format!("{name}.note"))).ok()
    }

    /// Replaces the file `name` with `text` at once.
    fn replace(&self, name: &str, text: &str) -> Result<(), RegistryError> {
        let path = self.dir.join(name);
        let temporary = self.dir.join(format!("{name}.new"));
        let err = |source| RegistryError {
            path: path.clone(),
            source,
        };
        let _ = std::fs::remove_file(&temporary);
        let mut file = open_rw(&temporary).map_err(err)?;
        file.write_all(text.as_bytes()).map_err(err)?;
        std::fs::rename(&temporary, &path).map_err(err)
    }

    /// The file of slot `index`.
    pub fn slot_path(&self, index: u32) -> PathBuf {
        self.dir.join("slots").join(index.to_string())
    }

    /// Every slot whose tracer lives, ascending, as its label says.
    pub fn live_slots(&self) -> Vec<LiveSlot> {
        let mut live = Vec::new();
        for slot in self.slot_numbers() {
            let Ok(mut file) = open_rw(&self.slot_path(slot)) else {
                continue;
            };
            // A slot whose lock we can take has no live tracer.
            if flock(&file, FlockOperation::NonBlockingLockExclusive).is_ok() {
                continue;
            }
            live.extend(label::read(&mut file, slot));
        }
        live
    }

    /// [`sweep_others`] beside this registry: the other builds' registries nobody uses.
    pub fn sweep_others(&self) {
        let (Some(shared), Some(key)) = (self.dir.parent(), self.dir.file_name()) else {
            return;
        };
        sweep_others(shared, &key.to_string_lossy());
    }

    /// Whether any slot's lock is held (a live tracer, labelled or not yet).
    fn any_slot_held(&self) -> bool {
        self.slot_numbers().into_iter().any(|slot| {
            open_rw(&self.slot_path(slot))
                .is_ok_and(|file| flock(&file, FlockOperation::NonBlockingLockExclusive).is_err())
        })
    }

    /// The slots that have a file, ascending.
    fn slot_numbers(&self) -> Vec<u32> {
        let mut slots: Vec<u32> = std::fs::read_dir(self.dir.join("slots"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        slots.sort_unstable();
        slots
    }
}

/// Whether `path` still names `file` (same device and inode).
fn names_file(path: &Path, file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(path), file.metadata()) {
        (Ok(named), Ok(held)) => named.dev() == held.dev() && named.ino() == held.ino(),
        _ => false,
    }
}

/// Removes the registries in `shared` of other builds than `keep` that no tracer uses any
/// more: their lock is free and none of their slots is held, so their programs are gone with
/// their last tracer. Each is renamed away under its lock, then removed; a tracer that was
/// waiting for that lock sees the path name another file and makes the registry again
/// ([`Registry::lock_at`]). Best effort.
pub fn sweep_others(shared: &Path, keep: &str) {
    let Ok(entries) = std::fs::read_dir(shared) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == keep || name.starts_with('.') || !entry.path().join("lock").is_file() {
            continue;
        }
        let dir = entry.path();
        let Ok(lock) = open_rw(&dir.join("lock")) else {
            continue;
        };
        if flock(&lock, FlockOperation::NonBlockingLockExclusive).is_err() {
            continue;
        }
        let registry = Registry {
            dir: dir.clone(),
            _lock: lock,
        };
        if !registry.live_slots().is_empty() || registry.any_slot_held() {
            continue;
        }
        let gone = shared.join(format!(".gone-{name}-{}", std::process::id()));
        if std::fs::rename(&dir, &gone).is_ok() {
            let _ = std::fs::remove_dir_all(&gone);
        }
    }
}

/// The registry key of an eBPF object: the first 16 hex digits of its SHA-256.
pub fn object_key(object: &[u8]) -> String {
    let digest = Sha256::digest(object);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_record(line: &str) -> Option<LinkRecord> {
    let mut words = line.split(' ');
    let record = LinkRecord {
        name: words.next()?.to_owned(),
        link: words.next()?.parse().ok()?,
        prog: words.next()?.parse().ok()?,
        tag: u64::from_str_radix(words.next()?, 16).ok()?,
    };
    words.next().is_none().then_some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_the_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let registry = Registry::lock_at(dir.path()).expect("registry");
        assert!(registry.links().is_empty());
        let records = [LinkRecord {
            name: "sys_enter_raw".into(),
            link: 7,
            prog: 42,
            tag: 0x0123_4567_89ab_cdef,
        }];
        registry.publish(&records).expect("published");
        assert_eq!(registry.links(), records);
        std::fs::write(dir.path().join("links"), "sys_enter_raw 7 x 0\n").expect("written");
        assert!(
            registry.links().is_empty(),
            "a malformed line is not trusted"
        );
    }

    /// Registries of other builds that nobody uses go; ours, a locked one and one with a held
    /// slot stay.
    #[test]
    fn unused_registries_of_other_builds_are_swept() {
        let shared = tempfile::tempdir().unwrap();
        let make = |name: &str| Registry::lock_at(&shared.path().join(name)).unwrap();
        drop((make("ours"), make("old")));
        let _busy = make("busy");
        let slotted = make("slotted");
        let slot = open_rw(&slotted.slot_path(3)).unwrap();
        flock(&slot, FlockOperation::LockExclusive).unwrap();
        drop(slotted);
        sweep_others(shared.path(), "ours");
        let left: std::collections::BTreeSet<String> = std::fs::read_dir(shared.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let expected = ["busy", "ours", "slotted"];
        assert_eq!(left, expected.iter().map(|s| s.to_string()).collect());
    }

    /// A lock taken on a registry that was swept away is not the registry's lock any more.
    #[test]
    fn a_lock_on_a_swept_registry_is_told() {
        let shared = tempfile::tempdir().unwrap();
        let dir = shared.path().join("r");
        drop(Registry::lock_at(&dir).unwrap());
        let lock = open_rw(&dir.join("lock")).unwrap();
        assert!(names_file(&dir.join("lock"), &lock));
        std::fs::rename(&dir, shared.path().join(".gone")).unwrap();
        assert!(!names_file(&dir.join("lock"), &lock));
        let again = Registry::lock_at(&dir).unwrap();
        assert!(again.dir().join("slots").is_dir());
    }

    #[test]
    fn objects_are_keyed_by_content() {
        assert_eq!(object_key(b"a"), object_key(b"a"));
        assert_ne!(object_key(b"a"), object_key(b"b"));
        assert_eq!(object_key(b"a").len(), 16);
    }
}
