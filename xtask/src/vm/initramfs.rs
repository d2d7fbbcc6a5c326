//! The VM's initramfs: static busybox, the kernel's 9p modules and an init that mounts the
//! host's root read-only over virtio-9p. On this machine's own architecture the init switches
//! to that root; on a foreign one the initramfs holds that machine's userland and stays the
//! root, with the host paths the tests live in mounted at the same place. Written as a `newc`
//! cpio archive here (about what `cpio -H newc` writes), so no cpio tool is needed.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

/// The tag `-virtfs` gives the host's root.
pub const MOUNT_TAG: &str = "hostroot";

/// What the VM's programs run on.
pub enum Userland<'a> {
    /// The host's root, switched to: `busybox` (static) is the initramfs's only program.
    Host { busybox: &'a Path },
    /// A foreign machine's unpacked packages as the root; the host's root is at /host and
    /// each of `binds` (host paths) at its own path.
    Foreign {
        tree: &'a Path,
        binds: &'a [PathBuf],
    },
}

/// Loads the 9p modules and mounts the host's root at `/{at}`.
fn mount_host_root(at: &str) -> String {
    format!(
        r#"/bin/busybox mkdir -p /proc /sys /dev /run /tmp /{at}
/bin/busybox mount -t devtmpfs dev /dev
for m in /modules/*.ko; do /bin/busybox insmod "$m" || echo "OSBH-VM: insmod $m failed"; done
/bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 {MOUNT_TAG} /{at} || {{
  echo "OSBH-VM: cannot mount the host root over 9p"; /bin/busybox poweroff -f; }}
"#
    )
}

/// The file systems the tests need, mounted under `root` (`/newroot` or ``).
fn mount_system(root: &str) -> String {
    format!(
        r#"/bin/busybox mount -t proc proc {root}/proc
/bin/busybox mount -t sysfs sys {root}/sys
/bin/busybox mount -t devtmpfs dev {root}/dev 2>/dev/null
/bin/busybox mount -t tmpfs run {root}/run
/bin/busybox mount -t tracefs tracefs {root}/sys/kernel/tracing 2>/dev/null
/bin/busybox mount -t cgroup2 cgroup2 {root}/sys/fs/cgroup 2>/dev/null
"#
    )
}

/// `init`: set up, then run `script` (a host path) with `/bin/sh SCRIPT`.
fn init(userland: &Userland, script: &Path) -> String {
    let script = script.display();
    match userland {
        Userland::Host { .. } => format!(
            "#!/bin/busybox sh\n{}{}exec /bin/busybox switch_root /newroot /bin/sh {script}\n",
            mount_host_root("newroot"),
            mount_system("/newroot"),
        ),
        Userland::Foreign { binds, .. } => {
            let binds: String = binds
                .iter()
                .map(|p| {
                    format!(
                        "/bin/busybox mkdir -p /newroot{0}\n/bin/busybox mount --bind /newroot/host{0} /newroot{0}\n",
                        p.display()
                    )
                })
                .collect();
            format!(
                "#!/bin/busybox sh\n{}{FOREIGN_ROOT}{}{binds}exec /bin/busybox switch_root /newroot /bin/sh {script}\n",
                mount_host_root("host"),
                mount_system("/newroot"),
            )
        }
    }
}

/// A foreign userland's root: the initramfs copied to a tmpfs, since runtimes cannot
/// pivot_root out of the initramfs; busybox's applets linked there first.
const FOREIGN_ROOT: &str = r#"/bin/busybox mount -t proc proc /proc
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
/bin/busybox umount /proc
/bin/busybox mkdir -p /newroot
/bin/busybox mount -t tmpfs -o mode=0755 root /newroot
for d in /*; do
  case "$d" in /dev|/proc|/sys|/run|/tmp|/host|/newroot|/init|/modules) ;; *) /bin/busybox cp -a "$d" /newroot/ ;; esac
done
/bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/run /newroot/tmp /newroot/host
/bin/busybox mount --move /host /newroot/host
"#;

/// Writes the archive to `out`: the userland, `modules` in `/modules`, the init.
pub fn write(out: &Path, userland: &Userland, modules: &[PathBuf], script: &Path) -> Result<()> {
    let mut archive = Newc::default();
    archive.dir("dev");
    archive.device("dev/console", 5, 1);
    match userland {
        Userland::Host { busybox } => {
            archive.dir("bin");
            let bytes = std::fs::read(busybox)
                .with_context(|| format!("cannot read {}", busybox.display()))?;
            archive.file("bin/busybox", 0o755, &bytes);
        }
        Userland::Foreign { tree, .. } => archive.tree(tree, Path::new(""))?,
    }
    archive.file("init", 0o755, init(userland, script).as_bytes());
    archive.dir("modules");
    for module in modules {
        let name = module.file_name().context("module path")?.to_string_lossy();
        let bytes =
            std::fs::read(module).with_context(|| format!("cannot read {}", module.display()))?;
        // insmod in glob order: the numeric prefix keeps the dependency order.
        let index = archive.count;
        archive.file(&format!("modules/{index:02}-{name}"), 0o644, &bytes);
    }
    std::fs::write(out, archive.finish()).with_context(|| format!("cannot write {}", out.display()))
}

/// A `newc` (SVR4, no CRC) cpio archive in memory.
#[derive(Default)]
struct Newc {
    bytes: Vec<u8>,
    count: u32,
}

impl Newc {
    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040_755, (0, 0), &[]);
    }

    fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.entry(name, 0o100_000 | mode, (0, 0), data);
    }

    fn device(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, 0o020_600, (major, minor), &[]);
    }

    fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, 0o120_777, (0, 0), target.as_bytes());
    }

    /// Everything under `root`/`relative` that [`super::userland::wanted`] keeps, in order.
    fn tree(&mut self, root: &Path, relative: &Path) -> Result<()> {
        let dir = root.join(relative);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let rel = relative.join(entry.file_name());
            if !super::userland::wanted(&rel) {
                continue;
            }
            let name = rel.to_string_lossy();
            let meta = entry.path().symlink_metadata()?;
            if meta.is_symlink() {
                let target = std::fs::read_link(entry.path())?;
                self.symlink(&name, &target.to_string_lossy());
            } else if meta.is_dir() {
                self.dir(&name);
                self.tree(root, &rel)?;
            } else {
                let mode = meta.permissions().mode() & 0o7777;
                self.file(&name, mode, &std::fs::read(entry.path())?);
            }
        }
        Ok(())
    }

    fn entry(&mut self, name: &str, mode: u32, (major, minor): (u32, u32), data: &[u8]) {
        self.count += 1;
        let fields = [
            self.count, // inode
            mode,
            0, // uid
            0, // gid
            1, // nlink
            0, // mtime
            data.len() as u32,
            0, // dev major
            0, // dev minor
            major,
            minor,
            name.len() as u32 + 1,
            0, // check
        ];
        self.bytes.extend_from_slice(b"070701");
        for field in fields {
            self.bytes
                .extend_from_slice(format!("{field:08x}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    /// Header plus name, and data, are each padded to 4 bytes.
    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        self.bytes
    }
}
