//! Loads the embedded eBPF object: its node-wide globals set (this architecture's and
//! kernel's), its maps created, no program attached yet (that is [`programs`](crate::programs)'
//! job). Nothing in it is about one container: containers are registered in its maps.
//!
//! aya's loader is made without reading the kernel's BTF.
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

use std::time::Instant;

use aya::{Ebpf, EbpfError, EbpfLoader};
use rustix::{
    fs::{Mode, OFlags},
    mount::MountPropagationFlags,
    thread::{LinkNameSpaceType, UnshareFlags},
};

use crate::{
    contract,
    programs::{lap, AttachTimings},
    syscall_table::Arch,
};

const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// The eBPF object built by `cargo xtask build-ebpf`, embedded at compile time.
pub static OBJECT: &[u8] = aya::include_bytes_aligned!(env!("OSBH_EBPF_OBJECT"));

/// Parses the object and creates its maps, with the globals set for this architecture and
/// kernel. Adds the time spent to `timings.loader` and `timings.object`.
pub fn load(timings: &mut AttachTimings) -> Result<Ebpf, EbpfError> {
    let arch = Arch::NATIVE;
    let markers = marker_numbers(arch);
    let arg_offsets = arch.pt_regs_arg_offsets();
    let abi_probe = abi_probe(arch, kernel_version());
    let mut clock = Instant::now();
    // No CO-RE relocations in our program: it needs no kernel BTF.
    let mut loader = loader_without_kernel_btf();
    timings.loader += lap(&mut clock);
    let ebpf = loader
        .btf(None)
        .override_global(contract::GLOBAL_MARKERS, &markers, true)
        .override_global(contract::GLOBAL_PT_REGS_ARGS, &arg_offsets, true)
        .override_global(contract::GLOBAL_ABI_PROBE, &abi_probe, true)
        .load(OBJECT)?;
    timings.object += lap(&mut clock);
    Ok(ebpf)
}

/// The `contract::GLOBAL_ABI_PROBE` array for `arch` on a kernel of `version` (major, minor).
/// Both words live in `struct thread_info`, the first member of `task_struct` on x86_64 and
/// aarch64: x86_64's `status` (after `flags`, and since 5.11 `syscall_work`) holds `TS_COMPAT`
/// (0x2) while an i386 syscall runs, whether from a 32-bit task or `int 0x80`; aarch64's
/// `flags` holds `TIF_32BIT` (bit 22) for AArch32 tasks. x32 numbers carry bit 30.
fn abi_probe(arch: Arch, version: (u32, u32)) -> [u64; contract::ABI_PROBE_SLOTS] {
    let mut probe = [0u64; contract::ABI_PROBE_SLOTS];
    // bpf_get_current_task_btf came with 5.11; before, the word is copied (dearer).
    let btf = version >= (5, 11);
    match arch {
        Arch::X86_64 => {
            probe[contract::ABI_PROBE_OFFSET] = if btf { 16 } else { 8 };
            probe[contract::ABI_PROBE_MASK] = 0x2;
            probe[contract::ABI_PROBE_X32] = contract::X32_SYSCALL_BIT;
            if btf {
                probe[contract::ABI_PROBE_MODE] = contract::PROBE_BTF_X86_64;
            }
        }
        Arch::Aarch64 => {
            probe[contract::ABI_PROBE_MASK] = 1 << 22;
            if btf {
                probe[contract::ABI_PROBE_MODE] = contract::PROBE_BTF_AARCH64;
            }
        }
        Arch::X86 | Arch::X32 | Arch::Arm => {}
    }
    probe
}

/// The running kernel's (major, minor); (0, 0) when unreadable.
fn kernel_version() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// The `contract::GLOBAL_MARKERS` array for `arch`; a syscall it lacks never matches.
fn marker_numbers(arch: Arch) -> [u64; contract::MARKER_COUNT] {
    let mut markers = [u64::MAX; contract::MARKER_COUNT];
    for (index, name) in [
        (contract::MARKER_PRCTL, "prctl"),
        (contract::MARKER_SECCOMP, "seccomp"),
        (contract::MARKER_EXECVE, "execve"),
        (contract::MARKER_EXECVEAT, "execveat"),
    ] {
        if let Some(nr) = arch.syscall_number(name) {
            markers[index] = u64::from(nr);
        }
    }
    markers
}

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

    #[test]
    fn the_abi_probe_follows_thread_info_across_kernels() {
        let btf_x86 = contract::PROBE_BTF_X86_64;
        assert_eq!(
            abi_probe(Arch::X86_64, (6, 18)),
            [16, 0x2, 0x4000_0000, btf_x86]
        );
        assert_eq!(
            abi_probe(Arch::X86_64, (5, 11)),
            [16, 0x2, 0x4000_0000, btf_x86]
        );
        assert_eq!(
            abi_probe(Arch::X86_64, (5, 10)),
            [8, 0x2, 0x4000_0000, contract::PROBE_READ]
        );
        let btf_arm = contract::PROBE_BTF_AARCH64;
        assert_eq!(abi_probe(Arch::Aarch64, (6, 1)), [0, 1 << 22, 0, btf_arm]);
        let (major, _) = kernel_version();
        assert!(major >= 5, "this kernel's version was not read");
    }

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
