//! Shared by every test that needs the real kernel: root, eBPF, container runtimes. Each part
//! in its room: the skip rule ([`gate`]), the binaries under test ([`binary`]), root
//! filesystems and C helpers ([`rootfs`]), what the kernel holds ([`kernel`]), profiles
//! ([`profiles`]), bounded waits ([`wait`]), deadlines on children ([`child`]), the engines
//! ([`engine`], and a [`containerd`] and [`docker`] of the test's own) and the scenarios every engine runs
//! ([`scenarios`]).

#[allow(dead_code)] // target_dir and skewed_binary are the tests' business
#[path = "../../xtask/src/paths.rs"]
pub(crate) mod paths;

/// The kernel/userspace contract (program and map names), as `hook` compiles it.
pub use hook_common as contract;

use std::path::Path;

pub mod binary;
pub mod child;
pub mod containerd;
pub mod direct;
pub mod docker;
pub mod engine;
pub mod exec;
pub mod gate;
pub mod kernel;
pub mod mounts;
pub mod profiles;
pub mod rootfs;
pub mod scenarios;
pub mod sid;
pub mod syslog;
pub mod wait;

pub use binary::{
    deb_package, debian_rootfs, debug_artifact, hook_binary, hook_processes, rejected_binary,
    run_hook, skewed_binary, status_of, traced_containers, tracer_writing_into, RUN_DIR,
};
pub use gate::{gate, in_ci, privileged, privileged_with, ready, this_test, which};
pub use kernel::{kernel_released_within, our_loaded_programs, ours_in_the_kernel, syscall_number};
pub use profiles::{allowed_names, names, rules_of};
pub use rootfs::{
    busybox_rootfs, install_phase_helper, install_static_helper, install_static_helper_with,
    install_syscall_helper, install_thread_helper,
};
pub use wait::{poll_until, start_and_wait_for, until_exists, StopFile};

/// One `#[test]` per scenario, each on a fresh engine from `$make()` once the `$tools` are
/// there (see [`ready`]).
#[macro_export]
macro_rules! scenario_tests {
    ($tools:expr, $make:path: $($test:ident => $scenario:ident),+ $(,)?) => {
        $(
            #[test]
            fn $test() {
                if let Some(engine) = $crate::ready($tools, $make) {
                    $crate::scenarios::$scenario(&engine);
                }
            }
        )+
    };
}

/// Fails the test, with everything the command printed, unless `out` is a success.
pub fn assert_success(what: &str, out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{what}: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `content` to `path` with permission bits `mode`.
pub fn write_with_mode(path: &Path, content: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A unique container name for this test process.
pub fn unique_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("osbh-{prefix}-{}-{n}", std::process::id())
}
