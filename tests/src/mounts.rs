//! What an engine mounted under its scratch directory, taken down when the engine goes:
//! podman bind-mounts its storage's `overlay` directory onto itself, and containerd's CRI
//! leaves a sandbox's `shm` and rootfs mounted when its pod was never removed. Left mounted,
//! they outlive the test (the directory can no longer be removed) and pile up over a day.
//! conmon runs `podman container cleanup` when a container exits, after `podman run` may have
//! returned: that late process mounts the storage again, so it is waited for first.

use std::{path::Path, time::Duration};

/// How long processes still naming the scratch directory are given before they are killed.
const SETTLE: Duration = Duration::from_secs(20);

/// Waits for every process whose command line names `dir` (conmon, a late
/// `podman container cleanup`) to end, killing what is left after [`SETTLE`]; then detaches
/// every mount under `dir`.
pub fn settle_and_unmount(dir: &Path) {
    let users = || processes_naming(dir);
    if crate::poll_until(SETTLE, || users().is_empty().then_some(())).is_none() {
        for pid in users() {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        let _ = crate::poll_until(SETTLE, || users().is_empty().then_some(()));
    }
    unmount_under(dir);
}

/// The processes (other than this one) with `dir` in their command line.
fn processes_naming(dir: &Path) -> Vec<rustix::process::Pid> {
    let needle = dir.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != std::process::id() as i32)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|line| line.windows(needle.len()).any(|w| w == needle))
        })
        .filter_map(rustix::process::Pid::from_raw)
        .collect()
}

/// Detaches every mount at or under `dir` in this mount namespace, deepest first.
pub fn unmount_under(dir: &Path) {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT ...: the fifth field, with spaces escaped as \040.
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|point| point.replace("\\040", " "))
        .filter(|point| Path::new(point).starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for point in points {
        // Busy or gone already: lazily detached, or nothing to do.
        let _ = rustix::mount::unmount(point.as_str(), rustix::mount::UnmountFlags::DETACH);
    }
}
