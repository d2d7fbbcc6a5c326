//! `oci-seccomp-bpf-hook record` against the real kernel: needs root and eBPF.
//! Under CI=true these fail instead of skipping when they cannot run.

use e2e::child::Finish;
use std::{
    collections::BTreeSet,
    fs::File,
    io::Write,
    path::Path,
    process::{Command, Output, Stdio},
    sync::Barrier,
};

use hook::profile::arch::Arch;

const BIN: &str = env!("CARGO_BIN_EXE_oci-seccomp-bpf-hook");

fn record(profile: &Path, cmd: &[&str]) -> Output {
    Command::new(BIN)
        .arg("record")
        .arg("-o")
        .arg(profile)
        .arg("--")
        .args(cmd)
        .stdin(Stdio::null())
        .finish("the hook binary")
}

/// The allowed names, after checking `record`'s exact shape: one allow rule of names, then
/// the argument rules of the calls whose arguments are recorded; native arch only.
fn allowed_names(profile: &Path) -> BTreeSet<String> {
    let (json, names) = e2e::allowed_names(profile);
    assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(
        json["architectures"],
        serde_json::json!([Arch::NATIVE.seccomp_name()])
    );
    let rules = json["syscalls"].as_array().expect("syscalls array");
    assert_eq!(rules[0]["action"], "SCMP_ACT_ALLOW");
    assert!(rules[0].get("args").is_none(), "names first: {json}");
    for rule in &rules[1..] {
        let name = rule["names"][0].as_str().unwrap_or_default();
        assert!(hook::contract::ARG_CALLS.contains(&name), "{rule}");
    }
    names.into_iter().collect()
}

fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "record failed: {:?}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn mkdir_is_recorded() {
    if !e2e::privileged() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.json");
    let target = dir.path().join("made");
    let script = format!("mkdir {}", target.display());
    let out = record(&profile, &["sh", "-c", &script]);
    assert_success(&out);
    assert!(target.is_dir());
    let names = allowed_names(&profile);
    assert!(
        names.contains("mkdir") || names.contains("mkdirat"),
        "{names:?}"
    );
    assert!(
        names.contains("execve"),
        "the command's own execve: {names:?}"
    );
}

/// The recorded command blocks on a FIFO while this (outside) process makes syscalls that the
/// command never makes; none of them may show up in its profile.
#[test]
fn processes_outside_the_namespace_are_not_recorded() {
    if !e2e::privileged() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (ready, go) = (dir.path().join("ready"), dir.path().join("go"));
    for fifo in [&ready, &go] {
        rustix::fs::mkfifoat(rustix::fs::CWD, fifo, rustix::fs::Mode::from(0o600)).unwrap();
    }
    let profile = dir.path().join("p.json");
    let script = format!("echo up > {}; read x < {}", ready.display(), go.display());
    let mut child = Command::new(BIN)
        .args(["record", "-o"])
        .arg(&profile)
        .args(["--", "sh", "-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The command only runs once the recorder is attached, so its line proves it is.
    if !said_up(&ready, &mut child) {
        let _ = child.kill();
        let out = e2e::child::output_within(child, std::time::Duration::from_secs(10), "record");
        panic!(
            "the recorded command never ran: {:?}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for _ in 0..100 {
        // SAFETY: plain syscalls without pointers we do not own.
        unsafe {
            libc::sched_yield();
            libc::syscall(libc::SYS_getcpu, 0usize, 0usize, 0usize);
        }
    }
    writeln!(File::options().write(true).open(&go).unwrap(), "done").unwrap();
    assert_success(&e2e::child::output_within(
        child,
        e2e::child::DEADLINE,
        "record",
    ));
    let names = allowed_names(&profile);
    assert!(
        names.contains("read") && names.contains("write"),
        "{names:?}"
    );
    for outsider in ["sched_yield", "getcpu"] {
        assert!(!names.contains(outsider), "{outsider} leaked in: {names:?}");
    }
}

/// True once a line arrives on FIFO `ready`, within 10 s, while `child` still runs. The FIFO
/// is opened without blocking: a recorder that failed to attach never opens it for writing.
fn said_up(ready: &Path, child: &mut std::process::Child) -> bool {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(ready, OFlags::RDONLY | OFlags::NONBLOCK, Mode::empty()).unwrap();
    let mut byte = [0u8; 1];
    e2e::poll_until(std::time::Duration::from_secs(10), || {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return Some(false);
        }
        // 0 bytes: no writer yet; EAGAIN: a writer, no line yet.
        matches!(rustix::io::read(&fd, &mut byte), Ok(1)).then_some(true)
    })
    .unwrap_or(false)
}

/// Syscalls that fail harmlessly with an invalid fd (-1) and null pointers, on both arches.
const HARMLESS: &[&str] = &[
    "read",
    "write",
    "close",
    "fstat",
    "lseek",
    "ioctl",
    "pread64",
    "pwrite64",
    "readv",
    "writev",
    "fcntl",
    "flock",
    "fsync",
    "fdatasync",
    "ftruncate",
    "getdents64",
    "fchdir",
    "fchmod",
    "fchown",
    "fstatfs",
    "readahead",
    "fsetxattr",
    "fgetxattr",
    "flistxattr",
    "fremovexattr",
    "inotify_rm_watch",
    "timerfd_settime",
    "timerfd_gettime",
    "fallocate",
    "syncfs",
    "sendfile",
    "connect",
    "accept",
    "accept4",
    "bind",
    "listen",
    "shutdown",
    "getsockname",
    "getpeername",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "setsockopt",
    "getsockopt",
    "recvmmsg",
    "sendmmsg",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "sync_file_range",
    "epoll_ctl",
    "epoll_pwait",
    "splice",
    "tee",
    "vmsplice",
    "copy_file_range",
    "mkdirat",
    "unlinkat",
    "readlinkat",
    "fchmodat",
    "fchownat",
    "faccessat",
    "newfstatat",
    "statx",
    "mknodat",
    "openat",
    "inotify_add_watch",
    "pidfd_send_signal",
    "pidfd_getfd",
    "io_uring_enter",
];

fn native_number(name: &str) -> Option<u32> {
    (0..1024).find(|&n| Arch::NATIVE.syscall_name(n) == Some(name))
}

/// Not a test on its own: the workload `syscall_storm_loses_nothing` runs under the recorder.
/// 64 threads released at once, thread `i` hammering syscall `HARMLESS[i]`.
#[test]
#[ignore = "workload for syscall_storm_loses_nothing; does nothing on its own"]
fn storm_worker() {
    if std::env::var_os("OSBH_STORM_WORKER").is_none() {
        return;
    }
    let numbers: Vec<i64> = HARMLESS
        .iter()
        .filter_map(|n| native_number(n))
        .take(64)
        .map(i64::from)
        .collect();
    let start = Barrier::new(numbers.len());
    std::thread::scope(|s| {
        for &nr in &numbers {
            let start = &start;
            s.spawn(move || {
                start.wait();
                for _ in 0..2000 {
                    // SAFETY: every syscall in HARMLESS fails with EBADF/EFAULT on these args.
                    unsafe { libc::syscall(nr, -1i64, 0i64, 0i64, 0i64, 0i64, 0i64) };
                }
            });
        }
    });
}

#[test]
fn syscall_storm_loses_nothing() {
    if !e2e::privileged() {
        return;
    }
    let expected: Vec<&str> = HARMLESS
        .iter()
        .copied()
        .filter(|n| native_number(n).is_some())
        .take(64)
        .collect();
    assert_eq!(expected.len(), 64, "need 64 distinct syscalls on this arch");
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.json");
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(BIN)
        .args(["record", "-o"])
        .arg(&profile)
        .arg("--")
        .arg(exe)
        .args([
            "--exact",
            "storm_worker",
            "--ignored",
            "--test-threads",
            "1",
        ])
        .env("OSBH_STORM_WORKER", "1")
        .finish("the command");
    assert_success(&out);
    let names = allowed_names(&profile);
    let missing: Vec<_> = expected.iter().filter(|n| !names.contains(**n)).collect();
    assert!(missing.is_empty(), "lost syscalls: {missing:?}");
}

#[test]
fn exit_status_is_the_commands() {
    if !e2e::privileged() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.json");
    let out = record(&profile, &["sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    assert!(
        profile.is_file(),
        "profile written even when the command fails"
    );
    let out = record(&profile, &["/nonexistent/command"]);
    assert_eq!(out.status.code(), Some(127));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/command"), "{stderr}");
}

#[test]
fn profile_goes_to_stdout_without_output_flag() {
    if !e2e::privileged() {
        return;
    }
    let out = Command::new(BIN)
        .args(["record", "--", "true"])
        .finish("the command");
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["defaultErrnoRet"], 38);
}

#[test]
fn without_privileges_one_sentence_and_exit_2() {
    if !e2e::privileged() {
        return;
    }
    // Drop to nobody: no CAP_SYS_ADMIN for the namespace, no CAP_BPF for the program. (std
    // clears the supplementary groups when root sets a uid.)
    use std::os::unix::process::CommandExt;
    let out = Command::new(BIN)
        .args(["record", "--", "true"])
        .uid(65534)
        .gid(65534)
        .finish("record as nobody");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("run it as root"), "{stderr}");
}

#[test]
fn help_explains_record_with_an_example() {
    let out = Command::new(BIN)
        .args(["record", "--help"])
        .finish("the command");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("record -o ls.json -- ls -l /"), "{help}");
    assert!(help.contains("--errno"), "{help}");
}

/// The classic tracepoint records the same; without tracefs it says how to mount it.
#[test]
fn tracepoint_attach_works_or_explains_tracefs() {
    if !e2e::privileged() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.json");
    let script = format!("mkdir {}", dir.path().join("made").display());
    let out = Command::new(BIN)
        .args(["record", "--attach", "tracepoint", "-o"])
        .arg(&profile)
        .args(["--", "sh", "-c", &script])
        .finish("the command");
    let tracefs = [
        "/sys/kernel/tracing/events",
        "/sys/kernel/debug/tracing/events",
    ]
    .iter()
    .any(|p| Path::new(p).is_dir());
    if tracefs {
        assert_success(&out);
        let names = allowed_names(&profile);
        assert!(
            names.contains("mkdir") || names.contains("mkdirat"),
            "{names:?}"
        );
    } else {
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("mount -t tracefs"), "{stderr}");
        assert!(!profile.exists());
    }
}

/// Not a test on its own: the workload of `a_call_past_the_value_cap_is_allowed_for_any_value`
/// sets more distinct personalities than a recording keeps, then the default again.
#[test]
#[ignore = "workload for a_call_past_the_value_cap_is_allowed_for_any_value; does nothing on its own"]
fn personality_worker() {
    if std::env::var_os("OSBH_PERSONALITY_WORKER").is_none() {
        return;
    }
    for persona in 0..hook::contract::ARG_VALUE_CAP + 6 {
        // SAFETY: a persona below 0x100 only names an execution domain; 0 restores Linux's.
        unsafe { libc::personality(persona as libc::c_ulong) };
    }
    // SAFETY: as above.
    unsafe { libc::personality(0) };
}

/// More distinct values of one call than a recording keeps (`contract::ARG_VALUE_CAP`): the
/// call is allowed for any value, its rule says why, and `record` warns. Never a value
/// dropped in silence, which would refuse it later.
#[test]
fn a_call_past_the_value_cap_is_allowed_for_any_value_and_said_so() {
    if !e2e::privileged() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.json");
    let out = Command::new(BIN)
        .args(["record", "-o"])
        .arg(&profile)
        .arg("--")
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "personality_worker", "--ignored"])
        .env("OSBH_PERSONALITY_WORKER", "1")
        .finish("the command");
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let cap = hook::contract::ARG_VALUE_CAP;
    assert!(
        stderr.contains(&format!("personality had more than {cap} distinct")),
        "{stderr}"
    );
    let (json, _) = e2e::allowed_names(&profile);
    let rules = e2e::rules_of(&json, "personality");
    assert_eq!(rules.len(), 1, "{json}");
    assert!(rules[0].get("args").is_none(), "{json}");
    assert!(rules[0]["comment"]
        .as_str()
        .unwrap()
        .contains("any argument value"));
}
