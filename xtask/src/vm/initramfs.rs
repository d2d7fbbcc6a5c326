//! The VM's initramfs: static busybox, the kernel's 9p modules and an init that mounts the
//! host's root read-only over virtio-9p and switches to it. Written as a `newc` cpio archive
//! here (about what `cpio -H newc` writes), so no cpio tool is needed.

use std::path::Path;

use anyhow::{Context, Result};

/// The tag `-virtfs` gives the host's root.
pub const MOUNT_TAG: &str = "hostroot";

/// `init`: set up, then run `script` (a host path) as the new root's `/bin/sh SCRIPT`.
fn init(script: &Path) -> String {
    format!(
        r#"#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox mount -t devtmpfs dev /dev
for m in /modules/*.ko; do /bin/busybox insmod "$m" || echo "OSBH-VM: insmod $m failed"; done
/bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 {MOUNT_TAG} /newroot || {{
  echo "OSBH-VM: cannot mount the host root over 9p"; /bin/busybox poweroff -f; }}
cd /newroot
/bin/busybox mount -t proc proc proc
/bin/busybox mount -t sysfs sys sys
/bin/busybox mount -t devtmpfs dev dev
/bin/busybox mount -t tmpfs run run
/bin/busybox mount -t tracefs tracefs sys/kernel/tracing 2>/dev/null
/bin/busybox mount -t cgroup2 cgroup2 sys/fs/cgroup 2>/dev/null
exec /bin/busybox switch_root /newroot /bin/sh {script}
"#,
        script = script.display()
    )
}

/// Writes the archive to `out`: busybox from `busybox`, `modules` in `/modules`.
pub fn write(
    out: &Path,
    busybox: &Path,
    modules: &[std::path::PathBuf],
    script: &Path,
) -> Result<()> {
    let mut archive = Newc::default();
    archive.dir("dev");
    archive.device("dev/console", 5, 1);
    archive.dir("bin");
    let busybox_bytes =
        std::fs::read(busybox).with_context(|| format!("cannot read {}", busybox.display()))?;
    archive.file("bin/busybox", 0o755, &busybox_bytes);
    archive.file("init", 0o755, init(script).as_bytes());
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
