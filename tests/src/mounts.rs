//! What an engine mounted under its scratch directory, taken down when the engine goes:
//! podman bind-mounts its storage's `overlay` directory onto itself, and containerd's CRI
//! leaves a sandbox's `shm` and rootfs mounted when its pod was never removed. Left mounted,
//! they outlive the test (the directory can no longer be removed) and pile up over a day.

use std::path::Path;

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
