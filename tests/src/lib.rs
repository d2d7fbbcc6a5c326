//! Shared by every test that needs the real kernel: root, eBPF, container runtimes.
//!
//! The rule: a test that cannot run never reports `ok` alone. Under `CI=true` it FAILS, so a
//! green CI run means every test really ran. Under `cargo xtask test` (which sets
//! `paths::SKIP_LOG_VAR`) it returns early and writes its reason to that file, and xtask counts it as
//! skipped in its closing line and prints the reason. Run any other way, it fails with its
//! reason.

#[allow(dead_code)] // target_dir and skewed_binary are the tests' business
#[path = "../../xtask/src/paths.rs"]
mod paths;

/// The kernel/userspace contract (program and map names), as `hook` compiles it.
#[allow(dead_code)]
#[path = "../../hook-ebpf/src/contract.rs"]
pub mod contract;

pub mod child;
pub mod direct;
pub mod engine;
pub mod scenarios;
pub mod syslog;

use crate::child::Finish;
use std::path::{Path, PathBuf};

/// One `#[test]` per scenario, each on a fresh engine from `$make(test_name)`, which returns
/// `None` (after [`privileged_with`] said why) when the test cannot run here.
#[macro_export]
macro_rules! scenario_tests {
    ($make:ident: $($test:ident => $scenario:ident),+ $(,)?) => {
        $(
            #[test]
            fn $test() {
                if let Some(engine) = $make(stringify!($test)) {
                    $crate::scenarios::$scenario(&engine);
                }
            }
        )+
    };
}

/// True when running under CI (`CI=true` or `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Call first in a privileged test: `if !e2e::privileged("name") { return; }`.
/// Returns false (after printing why) when the test should be skipped; panics under CI instead.
pub fn privileged(test: &str) -> bool {
    gate(test, missing_privilege())
}

/// Like [`privileged`], and also needs the `tools` on PATH (or at the given absolute paths).
pub fn privileged_with(test: &str, tools: &[&str]) -> bool {
    let missing = missing_privilege().or_else(|| {
        tools
            .iter()
            .find(|t| which(t).is_none())
            .map(|t| format!("{t} is not installed"))
    });
    gate(test, missing)
}

/// True when the test may run; else, by the rule above, fails it or logs it as skipped.
pub fn gate(test: &str, missing: Option<String>) -> bool {
    let Some(reason) = missing else {
        return true;
    };
    if in_ci() {
        panic!("{test} must run under CI=true, but {reason}");
    }
    let Some(log) = std::env::var_os(paths::SKIP_LOG_VAR) else {
        panic!("{test} cannot run: {reason} (`cargo xtask test` counts such a test as skipped)");
    };
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap_or_else(|e| panic!("{test}: cannot log its skip to {log:?}: {e}"));
    // One write per line: tests run in parallel threads and processes.
    file.write_all(format!("{test}: {reason}\n").as_bytes())
        .unwrap_or_else(|e| panic!("{test}: cannot log its skip to {log:?}: {e}"));
    eprintln!("skipping {test}: {reason}");
    false
}

fn missing_privilege() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("it needs root (eBPF and PID namespaces)".into());
    }
    if !Path::new("/proc/self/ns/pid").exists() {
        return Some("this kernel has no PID namespaces".into());
    }
    None
}

/// `tool`'s path: itself when absolute, else the first match on PATH.
pub fn which(tool: &str) -> Option<PathBuf> {
    if tool.starts_with('/') {
        return Path::new(tool).is_file().then(|| PathBuf::from(tool));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|p| p.is_file())
    })
}

/// The hook binary under test: `$OSBH_BIN`, else the workspace's debug build.
pub fn hook_binary() -> PathBuf {
    let path = std::env::var_os("OSBH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| debug_artifact("oci-seccomp-bpf-hook"));
    assert!(
        path.is_file(),
        "{} does not exist: run `cargo xtask test` (or `cargo build -p hook` first), or set OSBH_BIN",
        path.display()
    );
    path
}

/// The second hook binary `cargo xtask test` builds, with another eBPF object (see
/// `xtask/src/skew.rs`); `None` (after [`privileged_with`]'s rule: fail under CI, else say
/// why) when it was not built.
pub fn skewed_binary(test: &str) -> Option<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = paths::skewed_binary(&paths::target_dir(&workspace));
    let missing = (!path.is_file())
        .then(|| format!("{} was not built (run `cargo xtask test`)", path.display()));
    gate(test, missing).then_some(path)
}

/// `oci-seccomp-bpf-hook status --json` of `binary`, parsed.
pub fn status_of(binary: &Path) -> serde_json::Value {
    let out = std::process::Command::new(binary)
        .args(["status", "--json"])
        .finish("the hook binary");
    assert_success("status --json", &out);
    serde_json::from_slice(&out.stdout).expect("status --json prints JSON")
}

/// The containers `status` lists for every object, as (object, container) JSON pairs.
pub fn traced_containers(binary: &Path) -> Vec<(String, serde_json::Value)> {
    let status = status_of(binary);
    let mut all = Vec::new();
    for object in status["objects"].as_array().into_iter().flatten() {
        let key = object["object"].as_str().unwrap_or_default().to_owned();
        for container in object["containers"].as_array().into_iter().flatten() {
            all.push((key.clone(), container.clone()));
        }
    }
    all
}

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

/// Installs `/bin/phase` in `root`: `phase NR1 FILE NR2` makes syscall NR1 (all arguments 0),
/// then checks for FILE every 10 ms (at least once: access and nanosleep are always made),
/// then makes NR2: a command whose two phases a test can tell apart.
pub fn install_phase_helper(root: &Path) {
    install_static_helper(
        root,
        "phase",
        "#include <stdlib.h>\n#include <time.h>\n#include <unistd.h>\n\
         int main(int argc, char **argv) {\n\
           if (argc != 4) return 2;\n\
           syscall(atol(argv[1]), 0, 0, 0, 0, 0, 0);\n\
           struct timespec tick = {0, 10000000};\n\
           do { nanosleep(&tick, 0); } while (access(argv[2], F_OK) != 0);\n\
           syscall(atol(argv[3]), 0, 0, 0, 0, 0, 0);\n\
           return 0;\n}\n",
    );
}

/// `relative` under the workspace's debug build directory (honours `CARGO_TARGET_DIR`).
pub fn debug_artifact(relative: &str) -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    paths::target_dir(&workspace).join("debug").join(relative)
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

/// A minimal root filesystem: busybox (static) and its applets, and empty mount points.
pub fn busybox_rootfs(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    for sub in ["bin", "proc", "sys", "dev", "etc", "tmp"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    let busybox = which("busybox").expect("busybox is installed (apt-get install busybox-static)");
    std::fs::copy(&busybox, root.join("bin/busybox")).unwrap();
    for applet in [
        "sh", "ls", "mkdir", "true", "cat", "echo", "sleep", "unshare", "hostname", "touch",
        "nsenter",
    ] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    root
}

/// The profile at `path` as JSON, and the names its SCMP_ACT_ALLOW rules allow.
pub fn allowed_names(path: &Path) -> (serde_json::Value, Vec<String>) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("profile {} not readable: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("profile is JSON");
    let names = json["syscalls"]
        .as_array()
        .expect("syscalls array")
        .iter()
        .filter(|rule| rule["action"] == "SCMP_ACT_ALLOW")
        .flat_map(|rule| rule["names"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect();
    (json, names)
}

/// Installs `/bin/callnr` in `rootfs`: a static program that makes each syscall whose number
/// it is given (all arguments 0) and prints `NR RESULT ERRNO` for each, so a test can give
/// every container a syscall of its own, and see how a filter answered it.
pub fn install_syscall_helper(rootfs: &Path) {
    install_static_helper(
        rootfs,
        "callnr",
        "#include <errno.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n\
         int main(int argc, char **argv) {\n\
           for (int i = 1; i < argc; i++) {\n\
             long r = syscall(atol(argv[i]), 0, 0, 0, 0, 0, 0);\n\
             printf(\"%s %ld %d\\n\", argv[i], r, r < 0 ? errno : 0);\n\
           }\n\
           return 0;\n}\n",
    );
}

/// Compiles C `source` with `gcc -static` (plus `flags`) into `rootfs/bin/name`.
pub fn install_static_helper_with(rootfs: &Path, name: &str, source: &str, flags: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{name}.c"));
    std::fs::write(&file, source).unwrap();
    let status = std::process::Command::new("gcc")
        .args(["-static", "-O1"])
        .args(flags)
        .arg("-o")
        .arg(rootfs.join("bin").join(name))
        .arg(&file)
        .finish("gcc")
        .status;
    assert!(
        status.success(),
        "gcc -static {flags:?} failed for {name} (are libc6-dev and gcc-multilib installed?)"
    );
}

/// [`install_static_helper_with`] for the native ABI.
pub fn install_static_helper(rootfs: &Path, name: &str, source: &str) {
    install_static_helper_with(rootfs, name, source, &[]);
}

/// PIDs of running processes whose executable is the hook binary under test (tracers).
pub fn hook_processes() -> Vec<i32> {
    let hook = hook_binary().canonicalize().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == hook))
        .collect()
}

/// The tracer holding `dir` open (the output directory of one container's profile).
pub fn tracer_writing_into(dir: &Path) -> Option<i32> {
    let dir = dir.canonicalize().ok()?;
    hook_processes().into_iter().find(|pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == dir))
    })
}

/// Names of the loaded BPF programs that are ours (names from the eBPF object).
pub fn our_loaded_programs() -> Vec<String> {
    our_programs().into_iter().map(|(_, name)| name).collect()
}

/// (ID, name) of each loaded BPF program that is ours.
fn our_programs() -> Vec<(u32, String)> {
    aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .filter_map(|p| Some((p.id(), p.name_as_str()?.to_owned())))
        .filter(|(_, name)| contract::ALL_PROGRAMS.contains(&name.as_str()))
        .collect()
}

/// Everything of ours the kernel still holds: programs, links to them, maps with our names.
/// Empty once every tracer is gone.
pub fn ours_in_the_kernel() -> Vec<String> {
    let programs = our_programs();
    let mut left: Vec<String> = programs
        .iter()
        .map(|(_, n)| format!("program {n}"))
        .collect();
    left.extend(
        aya::programs::loaded_links()
            .filter_map(Result::ok)
            .filter(|l| programs.iter().any(|(id, _)| *id == l.program_id()))
            .map(|l| format!("link {}", l.id())),
    );
    let names = [
        contract::MAP_CONTAINERS,
        contract::MAP_SEEN,
        contract::MAP_TRACED,
        contract::MAP_TRACED_GROUPS,
        contract::MAP_INITS,
        contract::MAP_CGROUPS,
        contract::MAP_VERDICT,
    ];
    left.extend(
        aya::maps::loaded_maps()
            .filter_map(Result::ok)
            .filter_map(|m| m.name_as_str().map(str::to_owned))
            .filter(|name| names.contains(&name.as_str()))
            .map(|name| format!("map {name}")),
    );
    left
}

/// Waits up to `timeout` for [`ours_in_the_kernel`] to be empty; what is left otherwise.
pub fn kernel_released_within(timeout: std::time::Duration) -> Vec<String> {
    poll_until(timeout, || ours_in_the_kernel().is_empty().then_some(()));
    ours_in_the_kernel()
}

/// The native number of syscall `name`.
pub fn syscall_number(name: &str) -> u32 {
    name.parse::<syscalls::Sysno>()
        .unwrap_or_else(|_| panic!("{name} is not a syscall here"))
        .id() as u32
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
