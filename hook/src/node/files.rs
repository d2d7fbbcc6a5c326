//! Files of the node's registry and outcomes: read and written by root only, never through a
//! symlink, and locked with `flock` (retried when a signal interrupts the wait).

use std::{fs::File, os::unix::fs::OpenOptionsExt, path::Path};

use rustix::io::Errno;

/// Opens (creating it with mode 0600) a file for reading and writing, never through a symlink.
pub fn open_rw(path: &Path) -> std::io::Result<File> {
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Opens a file for reading, never through a symlink.
pub fn open_read(path: &Path) -> std::io::Result<File> {
    File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// `f` again while a signal interrupts it.
pub fn retry(mut f: impl FnMut() -> Result<(), Errno>) -> Result<(), Errno> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}
