//! What this node traces right now, for `oci-seccomp-bpf-hook status`: per eBPF object in the
//! [`registry`](crate::node::registry), whether its programs run (and their IDs), and each live
//! container slot (ID, PID, output, since when, syscalls and capabilities so far).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::{
    caps::set::CapSet,
    ebpf::{
        caps,
        programs::Programs,
        seen::{read_caps, read_slot},
    },
    node::{
        plugin::PluginStatus,
        registry::{LinkRecord, Registry, RegistryError},
        shared_dir,
    },
    profile::arch::Arch,
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
    /// Capabilities used so far (`None`: not observed on this node, or maps unreadable).
    pub capabilities: Option<CapSet>,
    /// What the recording lacks so far (`Snapshot::losses`): its profile will not be written.
    pub incomplete: Option<String>,
    /// Calls allowed for any argument value so far (`Args::notes`).
    pub any_value: Option<String>,
}

/// Every object registered on this node, in the registry's order.
pub fn read() -> Result<Vec<ObjectStatus>, RegistryError> {
    let dir = shared_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(RegistryError { path: dir, source }),
    };
    // Each registry is a directory named by its object's hash.
    let mut keys: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    keys.sort();
    keys.into_iter().map(|key| object(&dir, key)).collect()
}

fn object(dir: &std::path::Path, key: String) -> Result<ObjectStatus, RegistryError> {
    // Locked: nobody takes or frees a slot while we look.
    let registry = Registry::lock_at(&dir.join(&key))?;
    let records = registry.links();
    let programs = Programs::join(&records, registry.note(caps::NOTE));
    let mut containers = Vec::new();
    for live in registry.live_slots() {
        let syscalls = programs.as_ref().and_then(|p| read_slot(p, live.slot).ok());
        let capabilities = programs
            .as_ref()
            .and_then(|p| read_caps(p, live.slot).ok().flatten())
            .map(|checks| checks.granted);
        containers.push(Traced {
            capabilities,
            slot: live.slot,
            id: live.label.id,
            pid: live.pid,
            output: live.label.output,
            since: live.since,
            incomplete: syscalls.as_ref().and_then(|s| s.losses(Arch::NATIVE)),
            any_value: syscalls.as_ref().and_then(|s| s.args.notes()),
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
                    "capabilities": c.capabilities.map(CapSet::names),
                    "incomplete": c.incomplete,
                    "any_value": c.any_value,
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
            "  {:<16} {:>8} {:>10} {:>8}  {:<24}  OUTPUT\n",
            "CONTAINER", "PID", "FOR", "SYSCALLS", "CAPABILITIES"
        ));
        for c in &object.containers {
            let id: String = c.id.chars().take(16).collect();
            let syscalls = c.syscalls.map_or("?".into(), |n| n.to_string());
            let age = format!("{}s", now.saturating_sub(c.since));
            let caps = c
                .capabilities
                .map_or("?".into(), |set| match set.is_empty() {
                    true => "none".into(),
                    false => set.short_names().join(","),
                });
            text.push_str(&format!(
                "  {id:<16} {:>8} {age:>10} {syscalls:>8}  {caps:<24}  {}\n",
                c.pid, c.output
            ));
            if let Some(lacks) = &c.incomplete {
                text.push_str(&format!("    INCOMPLETE: {lacks}\n"));
            }
            if let Some(any) = &c.any_value {
                text.push_str(&format!("    ANY VALUE: {any}\n"));
            }
        }
    }
    text
}

/// The NRI plugin's line: running and what it does, or gone (containers start untraced).
pub fn plugin_text(plugin: &PluginStatus) -> String {
    match plugin.running {
        true => format!("NRI plugin: running (PID {}), {}\n", plugin.pid, plugin.state),
        false => format!(
            "NRI plugin: NOT RUNNING (PID {} is gone): containers start untraced until it runs again\n",
            plugin.pid
        ),
    }
}

/// The NRI plugin in `status --json`.
pub fn plugin_json(plugin: &PluginStatus) -> Value {
    json!({
        "running": plugin.running, "pid": plugin.pid, "state": plugin.state,
        "since": plugin.since,
    })
}
