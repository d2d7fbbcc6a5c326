//! The check after the whole suite: every container the tests ran is gone, so nothing of
//! theirs may be left in the hook's run directory (outcomes no poststop read) and no tracer
//! may still be running (each waits a bounded time for its reader); and nothing the engines
//! mounted under the temporary directory may still be mounted.

use std::{
    collections::BTreeSet,
    path::Path,
    time::{Duration, Instant, SystemTime},
};

/// The hook's run directory (`hook::node::RUN_DIR`).
const RUN_DIR: &str = "/run/oci-seccomp-bpf-hook";

/// Longer than a finished tracer waits for its reader (`tracer::READER_WAIT`, 30 s).
const TRACERS_END: Duration = Duration::from_secs(40);

/// What the suite left: tracers still running after [`TRACERS_END`], the outcome files written
/// since `since` (the node's `@` entries are not outcomes), then the mounts under the
/// temporary directory that were not in `mounted` before it. Empty when all is clean.
pub fn after_suite(since: SystemTime, mounted: &BTreeSet<String>) -> Vec<String> {
    let deadline = Instant::now() + TRACERS_END;
    while !tracers().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
    let mut left: Vec<String> = tracers()
        .into_iter()
        .map(|pid| format!("tracer {pid} still running"))
        .collect();
    left.extend(outcomes_since(Path::new(RUN_DIR), since));
    let now = mounts_under(&std::env::temp_dir());
    left.extend(
        now.difference(mounted)
            .map(|point| format!("{point} still mounted")),
    );
    left
}

/// The mount points at or under `dir` in this mount namespace.
pub fn mounts_under(dir: &Path) -> BTreeSet<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT ...: the fifth field, with spaces escaped as \040.
    info.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|point| point.replace("\\040", " "))
        .filter(|point| Path::new(point).starts_with(dir))
        .collect()
}

/// PIDs of running `oci-seccomp-bpf-hook` processes.
fn tracers() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe"))
                .is_ok_and(|exe| exe.file_name().is_some_and(|n| n == "oci-seccomp-bpf-hook"))
        })
        .collect()
}

/// The files in `dir` but the `@` entries, last changed at `since` or later.
fn outcomes_since(dir: &Path, since: SystemTime) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('@'))
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since)
        })
        .map(|e| format!("{} left behind", e.path().display()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_outcomes_written_since_count() {
        let dir = std::env::temp_dir().join(format!("xtask-leftovers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let old = SystemTime::now() - Duration::from_secs(3600);
        for name in ["stale", "fresh", "@shared"] {
            std::fs::write(dir.as_path().join(name), "").unwrap();
        }
        let stale = std::fs::File::options()
            .write(true)
            .open(dir.as_path().join("stale"))
            .unwrap();
        stale.set_modified(old).unwrap();
        let left = outcomes_since(dir.as_path(), old + Duration::from_secs(60));
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(left[0].ends_with("fresh left behind"), "{left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
