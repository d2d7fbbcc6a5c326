//! Waiting for something to happen, bounded, and the stop file that ends waiting containers on
//! every path out of a test.

use std::path::{Path, PathBuf};

/// Waits up to 10 s until `path` exists (a traced command says it is running).
pub fn until_exists(path: &Path) {
    poll_until(std::time::Duration::from_secs(10), || {
        path.exists().then_some(())
    })
    .unwrap_or_else(|| panic!("{} never appeared", path.display()));
}

/// Creates its file when dropped: the signal that lets waiting containers and commands end,
/// given on every path out of a test, a failed assertion included (a scoped thread waiting on
/// a container that never ends would otherwise hang the test forever).
pub struct StopFile(pub PathBuf);

impl StopFile {
    pub fn create(&self) {
        let _ = std::fs::write(&self.0, "");
    }
}

impl Drop for StopFile {
    fn drop(&mut self) {
        self.create();
    }
}

/// Runs `start`, then waits (see [`until_exists`]) for `path`: the started thing is running.
pub fn start_and_wait_for<T>(path: &Path, start: impl FnOnce() -> T) -> T {
    let started = start();
    until_exists(path);
    started
}

/// Asks `probe` every 20 ms until it answers `Some`, for at most `timeout`.
pub fn poll_until<T>(
    timeout: std::time::Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
