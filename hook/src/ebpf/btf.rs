//! A loader of aya's that has not read the kernel's BTF.
//!
//! aya 0.14's `EbpfLoader::new()` parses `/sys/kernel/btf/vmlinux` (about 5 MiB) before anything
//! else, and `.btf(None)` only drops the result. Our program has no CO-RE relocations, so that
//! parse is pure cost: measured here at most of the attach time and half the tracer's memory
//! (see BENCHMARKS.md). Until aya lets us skip it, the loader is created in a throwaway mount
//! namespace of this thread, where the file reads as empty; the thread then moves back.
//!
//! Nothing outside this thread sees the change: the copy's mounts are made slaves first (no
//! propagation back to the host), and the copy is freed as soon as the thread leaves it, so
//! it never pins container mounts.

use std::os::fd::{AsFd, OwnedFd};

use aya::EbpfLoader;
use rustix::{
    fs::{Mode, OFlags},
    mount::MountPropagationFlags,
    thread::{LinkNameSpaceType, UnshareFlags},
};

const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// A loader with no kernel BTF. Falls back to aya's own `new()` (which parses it) when the
/// mount namespace trick is not possible, e.g. without CAP_SYS_ADMIN.
///
/// Must be called while the process has one thread: `unshare(CLONE_NEWNS)` gives this thread
/// its own filesystem context, which other threads would no longer share.
pub fn loader_without_kernel_btf() -> EbpfLoader<'static> {
    if !std::path::Path::new(KERNEL_BTF).exists() {
        return EbpfLoader::new();
    }
    match with_kernel_btf_hidden(EbpfLoader::new) {
        Ok(loader) => loader,
        Err(e) => {
            log::debug!("kernel BTF not hidden ({e}); aya will parse it");
            EbpfLoader::new()
        }
    }
}

/// Runs `f` where `KERNEL_BTF` is empty, then restores this thread's mount namespace, root and
/// cwd.
fn with_kernel_btf_hidden<T>(f: impl FnOnce() -> T) -> std::io::Result<T> {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC;
    let home: OwnedFd = rustix::fs::open("/proc/thread-self/ns/mnt", flags, Mode::empty())?;
    let cwd: OwnedFd = rustix::fs::open(".", flags | OFlags::DIRECTORY, Mode::empty())?;
    let root: OwnedFd = rustix::fs::open("/", flags | OFlags::DIRECTORY, Mode::empty())?;
    // SAFETY: no FILES flag, so no descriptor table is split between threads.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS)? };
    let value = hide(KERNEL_BTF).map(|()| f());
    // Going back is not optional: a thread left in the copy would pin every mount in it.
    rustix::thread::move_into_link_name_space(home.as_fd(), Some(LinkNameSpaceType::Mount))
        .map_err(|e| std::io::Error::other(format!("cannot return to the mount namespace: {e}")))?;
    // setns(2) moved root and cwd to the namespace's root: a caller in a chroot would be left
    // outside it (its later paths, /run and tracefs among them, resolved on the host).
    rustix::process::fchdir(&root)?;
    rustix::process::chroot(".")?;
    rustix::process::fchdir(&cwd)?;
    value
}

fn hide(file: &str) -> std::io::Result<()> {
    // Slaves receive the host's mount events but never send any back.
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )?;
    rustix::mount::mount_bind("/dev/null", file)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount_ns() -> std::path::PathBuf {
        std::fs::read_link("/proc/thread-self/ns/mnt").expect("readable own mount namespace")
    }

    /// Privileged: runs where unshare is allowed (root); elsewhere the fallback path is taken.
    #[test]
    fn thread_comes_back_to_its_namespace_root_and_cwd() {
        let root = || std::fs::read_link("/proc/thread-self/root").ok();
        let before = (mount_ns(), std::env::current_dir().ok(), root());
        let seen_inside = with_kernel_btf_hidden(|| std::fs::metadata(KERNEL_BTF).map(|m| m.len()));
        assert_eq!((mount_ns(), std::env::current_dir().ok(), root()), before);
        if let Ok(Ok(len)) = seen_inside {
            assert_eq!(len, 0, "the kernel BTF reads as empty inside");
            assert!(std::fs::metadata(KERNEL_BTF).is_ok_and(|m| m.len() > 0));
        }
    }
}
