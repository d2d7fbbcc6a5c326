//! The machine a VM emulates: this host's own, whose root filesystem the VM shares, or a
//! foreign one (arm64 on an x86_64 host), which runs static binaries cross-built for it on a
//! userland of its own in the initramfs (see `userland.rs`).

use super::kernel::{Kernel, MATRIX};
use crate::deps::Need;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    /// What `--arch` takes: Rust's name, or Debian's.
    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "x86_64" | "amd64" => Some(Self::X86_64),
            "aarch64" | "arm64" => Some(Self::Aarch64),
            _ => None,
        }
    }

    pub fn host() -> Self {
        if cfg!(target_arch = "aarch64") {
            Self::Aarch64
        } else {
            Self::X86_64
        }
    }

    pub fn is_host(self) -> bool {
        self == Self::host()
    }

    /// Rust's name, as lines show it.
    pub fn name(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Aarch64 => "aarch64",
        }
    }

    /// Debian's name, for its packages.
    pub fn debian(self) -> &'static str {
        match self {
            Self::X86_64 => "amd64",
            Self::Aarch64 => "arm64",
        }
    }

    /// The kernels booted for this machine. arm64 starts at 6.1 (Debian 12), to keep CI's
    /// time: each arm64 boot costs about 45 s under emulation.
    pub fn kernels(self) -> &'static [Kernel] {
        match self {
            Self::X86_64 => &MATRIX,
            Self::Aarch64 => &MATRIX[1..],
        }
    }

    pub fn qemu(self) -> &'static str {
        match self {
            Self::X86_64 => "qemu-system-x86_64",
            Self::Aarch64 => "qemu-system-aarch64",
        }
    }

    pub fn qemu_package(self) -> &'static str {
        match self {
            Self::X86_64 => "qemu-system-x86",
            Self::Aarch64 => "qemu-system-arm",
        }
    }

    /// The emulated board and CPU. `pauth-impdef` swaps arm64's pointer-authentication
    /// cipher for a cheap one: the same instructions, several times faster under emulation.
    pub fn machine(self) -> &'static [&'static str] {
        match self {
            Self::X86_64 => &["-cpu", "max"],
            Self::Aarch64 => &["-M", "virt", "-cpu", "max,pauth-impdef=on"],
        }
    }

    /// What `vm-test` boots this machine's kernels with; for arm64 also the AArch32 test
    /// program's compiler and C library.
    pub fn needs(self) -> Vec<Need> {
        let mut needs = vec![
            Need::tool(self.qemu(), self.qemu_package()),
            Need::tool("dpkg-deb", "dpkg"),
            Need::tool("xz", "xz-utils"),
        ];
        if self == Self::Aarch64 {
            needs.push(Need::tool(
                "arm-linux-gnueabihf-gcc",
                "gcc-arm-linux-gnueabihf",
            ));
            needs.push(Need::file(
                "/usr/arm-linux-gnueabihf/lib/libc.a",
                "libc6-dev-armhf-cross",
            ));
        }
        needs
    }

    /// The serial console the kernel writes to.
    pub fn console(self) -> &'static str {
        match self {
            Self::X86_64 => "ttyS0",
            Self::Aarch64 => "ttyAMA0",
        }
    }

    /// The Rust target binaries are cross-built for (static, musl), or None for the host's own
    /// build (target/debug).
    pub fn rust_target(self) -> Option<&'static str> {
        (!self.is_host()).then(|| self.musl_target())
    }

    /// Rust's static (musl) target for this machine: what `dist` ships, what a foreign VM runs.
    pub fn musl_target(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64-unknown-linux-musl",
            Self::Aarch64 => "aarch64-unknown-linux-musl",
        }
    }
}
