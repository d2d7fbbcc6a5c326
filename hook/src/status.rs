//! What this node traces right now, for `oci-seccomp-bpf-hook status`: per eBPF object in the
//! [`registry`](crate::registry), whether its programs run (and their IDs), and each live
//! container slot (ID, PID, output, since when, syscalls so far).

use std::time::{SystemTime, UNIX_EPOCH};

use rustix::fs::{flock, FlockOperation};
use serde_json::{json, Value};

use crate::{
    programs::Programs,
    recorder::read_slot,
    registry::{open_rw, shared_dir, LinkRecord, Registry, RegistryError},
    slot::{read_label, Label},
};

/// One eBPF object's programs and the containers registered with them.
#[derive(Debug, Clone)]
pub struct ObjectStatus {
    /// The registry key: the object's hash.
    pub key: String,
    /// The attached programs; empty when none of this object runs.
    pub programs: Vec<LinkRecord>,
    pub containers: Vec<Traced>,
}

/// A container whose tracer is alive.
#[derive(Debug, Clone)]
pub struct Traced {
    pub slot: u32,
    pub id: String,
    pub pid: u32,
    pub output: String,
    /// Unix seconds when the tracer registered.
    pub since: u64,
    /// Distinct syscalls recorded so far, all ABIs together (`None`: maps unreadable).
    pub syscalls: Option<usize>,
}

/// Every object registered on this node, in the registry's order.
pub fn read() -> Result<Vec<ObjectStatus>, RegistryError> {
    let dir = shared_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(RegistryError { path: dir, source }),
    };
    let mut keys: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    keys.sort();
    keys.into_iter().map(|key| object(&dir, key)).collect()
}

fn object(dir: &std::path::Path, key: String) -> Result<ObjectStatus, RegistryError> {
    // Locked: nobody takes or frees a slot while we look.
    let registry = Registry::lock_at(&dir.join(&key))?;
    let records = registry.links();
    let programs = Programs::join(&records);
    let mut containers = Vec::new();
    for (slot, label, pid, since) in live_slots(&registry) {
        let syscalls = programs.as_ref().and_then(|p| read_slot(p, slot).ok());
        containers.push(Traced {
            slot,
            id: label.id,
            pid,
            output: label.output,
            since,
            syscalls: syscalls.map(|s| s.syscalls.iter().map(Vec::len).sum()),
        });
    }
    Ok(ObjectStatus {
        key,
        programs: if programs.is_some() {
            records
        } else {
            Vec::new()
        },
        containers,
    })
}

/// Every slot of `registry` (held locked) whose tracer lives: (slot, label, init PID, since).
pub fn live_slots(registry: &Registry) -> Vec<(u32, Label, u32, u64)> {
    let mut live = Vec::new();
    for slot in slot_numbers(registry) {
        let Ok(mut file) = open_rw(&registry.slot_path(slot)) else {
            continue;
        };
        // A slot whose lock we can take has no live tracer.
        if flock(&file, FlockOperation::NonBlockingLockExclusive).is_ok() {
            continue;
        }
        if let Some((label, pid, since)) = read_label(&mut file) {
            live.push((slot, label, pid, since));
        }
    }
    live
}

/// The slots that have a file, ascending.
fn slot_numbers(registry: &Registry) -> Vec<u32> {
    let dir = registry.dir().join("slots");
    let mut slots: Vec<u32> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    slots.sort_unstable();
    slots
}

/// The status as JSON, for scripts and tests.
pub fn to_json(objects: &[ObjectStatus]) -> Value {
    let objects: Vec<Value> = objects
        .iter()
        .map(|object| {
            json!({
                "object": object.key,
                "programs": object.programs.iter().map(|p| json!({
                    "name": p.name, "link_id": p.link, "program_id": p.prog,
                    "tag": format!("{:016x}", p.tag),
                })).collect::<Vec<_>>(),
                "containers": object.containers.iter().map(|c| json!({
                    "id": c.id, "pid": c.pid, "output": c.output, "since": c.since,
                    "syscalls": c.syscalls, "slot": c.slot,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "objects": objects })
}

/// The status as a table for people.
pub fn to_text(objects: &[ObjectStatus]) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut text = String::new();
    if objects.iter().all(|o| o.programs.is_empty()) {
        text.push_str("no programs of ours are attached on this node\n");
    }
    for object in objects.iter().filter(|o| !o.programs.is_empty()) {
        let programs: Vec<String> = object
            .programs
            .iter()
            .map(|p| format!("{} (link {}, program {})", p.name, p.link, p.prog))
            .collect();
        text.push_str(&format!(
            "eBPF object {}: {}\n",
            object.key,
            programs.join(", ")
        ));
        text.push_str(&format!(
            "  {:<16} {:>8} {:>10} {:>8}  OUTPUT\n",
            "CONTAINER", "PID", "FOR", "SYSCALLS"
        ));
        for c in &object.containers {
            let id: String = c.id.chars().take(16).collect();
            let syscalls = c.syscalls.map_or("?".into(), |n| n.to_string());
            let age = format!("{}s", now.saturating_sub(c.since));
            text.push_str(&format!(
                "  {id:<16} {:>8} {age:>10} {syscalls:>8}  {}\n",
                c.pid, c.output
            ));
        }
    }
    text
}
