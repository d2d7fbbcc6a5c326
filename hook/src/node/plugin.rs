//! The NRI plugin's presence on the node: while it runs it holds `RUN_DIR/@nri-plugin` locked,
//! with its PID, what it is doing and since when in it. `status` reads it, so a plugin that
//! stopped or crashed (containers then start untraced) is seen, not guessed.

use std::{
    fs::File,
    io::{Read, Seek, Write},
    os::unix::fs::DirBuilderExt,
    path::PathBuf,
    time::{SystemTime, UNIX_EPOCH},
};

use rustix::fs::{flock, FlockOperation};

use super::{
    files::{open_read, open_rw, retry},
    RUN_DIR,
};

fn path() -> PathBuf {
    PathBuf::from(RUN_DIR).join("@nri-plugin")
}

/// The lock a running plugin holds.
pub struct Presence {
    file: File,
}

/// What `status` says of the plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginStatus {
    pub running: bool,
    pub pid: u32,
    /// What it was doing last (`connected to SOCKET`, `waiting for SOCKET`).
    pub state: String,
    /// Seconds since the epoch when it got there.
    pub since: u64,
}

/// Takes the node's plugin lock; an error names the plugin already holding it.
pub fn hold() -> std::io::Result<Presence> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(RUN_DIR)?;
    let file = open_rw(&path())?;
    if retry(|| flock(&file, FlockOperation::NonBlockingLockExclusive)).is_err() {
        let pid = read().map_or(0, |s| s.pid);
        return Err(std::io::Error::other(format!(
            "another NRI plugin of ours runs on this node (PID {pid}): stop it first"
        )));
    }
    Ok(Presence { file })
}

impl Presence {
    /// Records what the plugin is doing now.
    pub fn set(&mut self, state: &str) {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let text = format!("{}\n{since}\n{state}\n", std::process::id());
        // Best effort: a status that cannot be written leaves the old one, still locked.
        let _ = self.file.set_len(0);
        let _ = self.file.rewind();
        let _ = self.file.write_all(text.as_bytes());
    }
}

/// The plugin's last status; `None` when no plugin ever ran since boot.
pub fn read() -> Option<PluginStatus> {
    let mut file = open_read(&path()).ok()?;
    // A lock we can take is one nobody holds: the plugin is gone.
    let running = retry(|| flock(&file, FlockOperation::NonBlockingLockShared)).is_err();
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    let mut lines = text.lines();
    let pid = lines.next()?.parse().ok()?;
    let since = lines.next()?.parse().ok()?;
    let state = lines.next().unwrap_or_default().to_owned();
    Some(PluginStatus {
        running,
        pid,
        state,
        since,
    })
}
