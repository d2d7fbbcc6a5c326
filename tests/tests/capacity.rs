//! A profile is never silently incomplete: one container's thousands of tasks cannot crowd
//! another's out of the node's task map, a recording that lost anything says so and is not
//! written where the profile goes, and a user without poststop finds the reason beside it.
//! The tests run one at a time (`HEAVY`): the storms each hold tens of thousands of threads,
//! and the task map is sized when the programs load, from `kernel.pid_max` among others, so
//! the 70,000-thread test, which raises it, must be the one that loads them.

use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::Mutex,
    time::Duration,
};

use e2e::{
    assert_success,
    engine::{Engine, Podman},
    scenarios,
};

const TOOLS: &[&str] = &["podman", "runc", "busybox", "gcc", "unshare"];

/// One test at a time: storms share the node's memory and PIDs, and a tracer of another test
/// would hold programs whose task map was sized before `kernel.pid_max` was raised.
static HEAVY: Mutex<()> = Mutex::new(());

/// The environment variable that caps one container's followed tasks (`ebpf::slot`).
const QUOTA: &str = "OSBH_TASK_QUOTA";

/// A scratch directory with `bin/threads` (see [`e2e::install_thread_helper`]).
fn threads_helper() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bin")).unwrap();
    e2e::install_thread_helper(dir.path());
    dir
}

/// A running `record -o OUT -- threads N READY GATE` (or another heavy neighbour that makes
/// READY, then waits for GATE): dropped on any path out of a test (a failed assertion
/// included), it opens the gate and, if the storm still runs, kills it, so that no storm
/// outlives its test.
struct Storm {
    child: Option<std::process::Child>,
    gate: PathBuf,
}

impl Storm {
    /// Starts the storm of `n` threads in `dir`; `env` is added to record's environment.
    fn start(dir: &Path, n: u32, out: &Path, env: &[(&str, &str)]) -> Self {
        let threads = dir.join("bin/threads");
        let (ready, gate) = (dir.join("ready"), dir.join("gate"));
        let n = n.to_string();
        let args = [
            threads.as_os_str(),
            n.as_ref(),
            ready.as_ref(),
            gate.as_ref(),
        ];
        Self::record(dir, &["-o".as_ref(), out.as_ref()], &args, env)
    }

    /// Starts `record RECORD_ARGS -- COMMAND` in `dir`, whose gate is `dir/gate`.
    fn record(
        dir: &Path,
        record_args: &[&OsStr],
        command: &[&OsStr],
        env: &[(&str, &str)],
    ) -> Self {
        let child = Command::new(e2e::hook_binary())
            .arg("record")
            .args(record_args)
            .arg("--")
            .args(command)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the hook binary runs");
        Self {
            child: Some(child),
            gate: dir.join("gate"),
        }
    }

    /// Waits for all its threads to run (a minute at most).
    fn until_ready(&self, dir: &Path) {
        let ready = e2e::poll_until(Duration::from_secs(60), || {
            dir.join("ready").exists().then_some(())
        });
        assert!(
            ready.is_some(),
            "the thread storm never had all its threads"
        );
    }

    /// Opens the gate and returns how `record` ended.
    fn finish(mut self) -> Output {
        let _ = std::fs::write(&self.gate, "");
        let child = self.child.take().expect("finished once");
        e2e::child::output_within(child, Duration::from_secs(120), "record of the storm")
    }
}

impl Drop for Storm {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = std::fs::write(&self.gate, "");
        let ended = e2e::poll_until(Duration::from_secs(30), || child.try_wait().ok().flatten());
        if ended.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The file beside `path` whose name adds `suffix` (`.incomplete`, `.failed`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// 17,000 threads of a `record` beside it (more than the whole task map held before): a
/// podman container's profile has the same names as without the neighbour, and the
/// neighbour's own recording is complete.
#[test]
fn a_thread_storm_beside_leaves_a_containers_profile_whole() {
    let Some(p) = e2e::ready(TOOLS, Podman::new) else {
        return;
    };
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    let alone = e2e::allowed_names(&scenarios::trace(&p, "alone.json", None, &["ls", "/"])).1;
    let dir = threads_helper();
    let neighbour = dir.path().join("neighbour.json");
    let storm = Storm::start(dir.path(), 17_000, &neighbour, &[]);
    storm.until_ready(dir.path());
    let beside = e2e::allowed_names(&scenarios::trace(&p, "beside.json", None, &["ls", "/"])).1;
    let out = storm.finish();
    assert_eq!(
        alone, beside,
        "the container's profile changed beside the storm"
    );
    assert_success("record of 17,000 threads", &out);
    assert!(neighbour.is_file() && !sibling(&neighbour, ".incomplete").exists());
}

/// The same neighbour as a podman container (`--pids-limit=-1`, its own nproc limit), traced
/// too: the other container's profile has the same names as without it, and the neighbour's
/// own profile is complete.
#[test]
fn a_thread_storm_container_beside_leaves_a_containers_profile_whole() {
    let Some(p) = e2e::ready(TOOLS, Podman::new) else {
        return;
    };
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    e2e::install_thread_helper(p.rootfs());
    let alone = e2e::allowed_names(&scenarios::trace(&p, "alone.json", None, &["ls", "/"])).1;
    let neighbour = p.scratch_path("neighbour.json");
    let (ready, gate) = (p.rootfs().join("tmp/ready"), p.rootfs().join("tmp/gate"));
    let beside = std::thread::scope(|scope| {
        let gate_file = e2e::StopFile(gate);
        let storm = scope.spawn(|| {
            // nproc above the storm; nofile as the engine's default, which `--ulimit` drops.
            let limits = [
                "--pids-limit=-1",
                "--ulimit=nproc=20000:20000",
                "--ulimit=nofile=1024:1024",
            ];
            let annotation = format!("of:{}", neighbour.display());
            p.trace_with(
                &limits,
                &annotation,
                &["threads", "17000", "/tmp/ready", "/tmp/gate"],
            )
        });
        e2e::poll_until(Duration::from_secs(60), || {
            (ready.exists() || storm.is_finished()).then_some(())
        });
        if !ready.exists() {
            drop(gate_file);
            let out = storm.join().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            panic!("the storm container never had all its threads: {stderr}");
        }
        let beside = scenarios::trace(&p, "beside.json", None, &["ls", "/"]);
        drop(gate_file);
        assert_success("the storm container", &storm.join().unwrap());
        e2e::allowed_names(&beside).1
    });
    assert_eq!(
        alone, beside,
        "the container's profile changed beside the storm"
    );
    assert!(neighbour.is_file() && !sibling(&neighbour, ".incomplete").exists());
}

/// 70,000 threads of one `record` (kernel.pid_max, and vm.max_map_count for their stacks,
/// raised for the test, then put back) are all followed: the recording is complete.
#[test]
fn seventy_thousand_threads_are_all_followed() {
    if !e2e::privileged_with(&["gcc"]) {
        return;
    }
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    let pid_max = Sysctl::raise("/proc/sys/kernel/pid_max", 200_000);
    // Two mappings per thread (its stack and the guard page).
    let maps = Sysctl::raise("/proc/sys/vm/max_map_count", 200_000);
    let dir = threads_helper();
    std::fs::write(dir.path().join("gate"), "").unwrap();
    let out_path = dir.path().join("storm.json");
    let out = Storm::start(dir.path(), 70_000, &out_path, &[]).finish();
    drop((pid_max, maps));
    assert_success("record of 70,000 threads", &out);
    assert!(out_path.is_file() && !sibling(&out_path, ".incomplete").exists());
}

/// A storm above its container's quota: `record` exits 3 with one line naming how many tasks
/// were not followed, the output is not written (the partial profile is beside it), and a
/// recording beside it, under no quota, is complete; so is the next one to the same output,
/// which removes the partial.
#[test]
fn a_storm_above_its_quota_is_incomplete_and_not_written() {
    if !e2e::privileged_with(&["gcc"]) {
        return;
    }
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    let dir = threads_helper();
    let out_path = dir.path().join("storm.json");
    let storm = Storm::start(dir.path(), 500, &out_path, &[(QUOTA, "100")]);
    storm.until_ready(dir.path());
    let other = dir.path().join("other.json");
    let beside = e2e::run_hook(&["record", "-o", other.to_str().unwrap(), "--", "ls", "/"]);
    let out = storm.finish();
    assert_success("record beside the storm", &beside);
    assert!(other.is_file() && !sibling(&other, ".incomplete").exists());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("incomplete")
            && stderr.contains("tasks of the container could not be followed"),
        "{stderr}"
    );
    assert!(
        !out_path.exists(),
        "an incomplete profile was written as the output"
    );
    assert!(sibling(&out_path, ".incomplete").is_file());
    // The next whole run to the same output leaves no stale partial beside it.
    let whole = e2e::run_hook(&["record", "-o", out_path.to_str().unwrap(), "--", "true"]);
    assert_success("a whole record over the incomplete one", &whole);
    assert!(out_path.is_file() && !sibling(&out_path, ".incomplete").exists());
}

/// podman whose hooks.d JSON runs the hook with `quota` for the stages `stages` (ours:
/// prestart and poststop; upstream's: prestart only).
fn podman_with_quota(quota: &str, stages: &[&str]) -> Podman {
    Podman::with_hook_json(|hook| {
        hook["hook"]["env"] = serde_json::json!([format!("{QUOTA}={quota}")]);
        hook["stages"] = serde_json::json!(stages);
    })
}

/// `p` traces `cmd` into a profile that holds "previous": podman's output, the profile's path
/// and where the container's outcome file is (its ID from `--cidfile`).
fn trace_over_previous(p: &Podman, cmd: &[&str]) -> (Output, PathBuf, PathBuf) {
    let profile = p.scratch_path("p.json");
    std::fs::write(&profile, "previous").unwrap();
    let cidfile = p.scratch_path("cid");
    let cid = format!("--cidfile={}", cidfile.display());
    let out = p.trace_with(&[&cid], &format!("of:{}", profile.display()), cmd);
    let id = std::fs::read_to_string(&cidfile).expect("podman wrote the container's ID");
    let outcome = Path::new(e2e::RUN_DIR).join(id.trim());
    (out, profile, outcome)
}

const BOTH: &[&str] = &["prestart", "poststop"];
const PRESTART_ONLY: &[&str] = &["prestart"];

/// A container whose init cannot join (its quota is 0) is refused before it starts, with our
/// hooks JSON and with upstream's prestart-only one: podman exits non-zero with the reason,
/// the previous profile is untouched, and nothing of the container is left in /run.
#[test]
fn an_init_that_cannot_join_is_refused_before_it_starts() {
    if !e2e::privileged_with(TOOLS) {
        return;
    }
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    for stages in [BOTH, PRESTART_ONLY] {
        let p = podman_with_quota("0", stages);
        let (out, profile, outcome) = trace_over_previous(&p, &["ls", "/"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{stages:?}: podman exited 0: {stderr}"
        );
        assert!(
            stderr.contains("OSBH_TASK_QUOTA=0 leaves no room for the container's init"),
            "{stages:?}: {stderr}"
        );
        assert_eq!(std::fs::read_to_string(&profile).unwrap(), "previous");
        assert!(!outcome.exists(), "{stages:?}: {} left", outcome.display());
    }
}

/// A container with more tasks than its quota (1: its init), with upstream's prestart-only
/// hooks JSON: no poststop runs, the reason is beside the output with the partial profile,
/// the previous profile is untouched, and the outcome is gone once podman removed the
/// container.
#[test]
fn an_incomplete_recording_is_told_beside_the_output_without_poststop() {
    if !e2e::privileged_with(TOOLS) {
        return;
    }
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    let p = podman_with_quota("1", PRESTART_ONLY);
    // busybox sh forks for the second command: that task finds no room.
    let script = ["sh", "-c", "ls / >/dev/null; ls /bin >/dev/null"];
    let (out, profile, outcome) = trace_over_previous(&p, &script);
    assert_success("podman (its poststop-less hook cannot fail it)", &out);
    let failed = e2e::poll_until(Duration::from_secs(10), || {
        std::fs::read_to_string(sibling(&profile, ".failed")).ok()
    })
    .expect("the tracer left no reason beside the output");
    assert_eq!(failed.lines().count(), 1, "{failed}");
    assert!(
        failed.contains("incomplete") && failed.contains("could not be followed"),
        "{failed}"
    );
    assert!(sibling(&profile, ".incomplete").is_file());
    assert_eq!(std::fs::read_to_string(&profile).unwrap(), "previous");
    e2e::poll_until(Duration::from_secs(10), || {
        (!outcome.exists()).then_some(())
    })
    .expect("the outcome no poststop reads stayed in /run after the container was removed");
}

/// A sysctl raised for a test, put back when dropped.
struct Sysctl {
    path: &'static str,
    old: String,
}

impl Sysctl {
    fn raise(path: &'static str, value: u64) -> Self {
        let old = std::fs::read_to_string(path).unwrap();
        if old.trim().parse::<u64>().unwrap_or(0) < value {
            std::fs::write(path, value.to_string()).unwrap();
        }
        Self { path, old }
    }
}

impl Drop for Sysctl {
    fn drop(&mut self) {
        let _ = std::fs::write(self.path, self.old.trim());
    }
}

/// A `record` neighbour that executes 5,000 distinct program names (the whole node kept 4,096
/// before) beside a podman container that runs a copy of busybox given `cap_net_raw+ep`: the
/// container's report still needs NET_RAW for that file and lost no name; the neighbour's
/// counts the executions past its quota (`contract::EXEC_QUOTA`) and says its set may be
/// incomplete, as its stderr does.
#[test]
fn a_neighbour_running_thousands_of_programs_leaves_file_capabilities_whole() {
    let tools: Vec<&str> = TOOLS.iter().copied().chain(["setcap"]).collect();
    let Some(p) = e2e::ready(&tools, Podman::new) else {
        return;
    };
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let programs = 5000;
    let neighbour = Execs::start(dir.path(), programs);
    neighbour.storm.until_ready(dir.path());
    let capped = p.rootfs().join("opt/capped/true");
    std::fs::create_dir_all(capped.parent().unwrap()).unwrap();
    std::fs::copy(p.rootfs().join("bin/busybox"), &capped).unwrap();
    let setcap = Command::new("setcap")
        .arg("cap_net_raw+ep")
        .arg(&capped)
        .output()
        .unwrap();
    assert_success("setcap", &setcap);
    let caps = p.scratch_path("c.json");
    let annotation = format!(
        "of:{};caps:{}",
        p.scratch_path("p.json").display(),
        caps.display()
    );
    let out = p.trace_with(&["--cap-add=NET_RAW"], &annotation, &["/opt/capped/true"]);
    assert_success("the capped program beside the neighbour", &out);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&caps).unwrap()).unwrap();
    assert_eq!(
        report["needed"],
        serde_json::json!(["CAP_NET_RAW"]),
        "{report}"
    );
    assert_eq!(report["executions_not_kept"], 0, "{report}");
    let (out, report) = neighbour.finish();
    assert_success("the neighbour", &out);
    let past = programs + 1 - e2e::contract::EXEC_QUOTA;
    let not_kept = report["executions_not_kept"].as_u64().unwrap_or_default();
    assert!(not_kept >= past, "{not_kept} < {past}: {report}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("may be incomplete"), "{stderr}");
}

/// `record --caps` of a shell that executes N links to `true` (`dir/bin/t1`..), each a name
/// of its own, then makes `dir/ready` and waits for `dir/gate`.
struct Execs {
    storm: Storm,
    caps: PathBuf,
}

impl Execs {
    fn start(dir: &Path, n: u64) -> Self {
        true_links(dir, n);
        let script = format!(
            "i=0; while [ $i -lt {n} ]; do i=$((i+1)); \"$0/bin/t$i\"; done; : >\"$0/ready\"; \
             while [ ! -e \"$0/gate\" ]; do sleep 0.1; done"
        );
        let (out, caps) = (dir.join("neighbour.json"), dir.join("neighbour-caps.json"));
        let record = [
            "-o".as_ref(),
            out.as_os_str(),
            "--caps".as_ref(),
            caps.as_os_str(),
        ];
        let command = [
            "/bin/sh".as_ref(),
            "-c".as_ref(),
            script.as_ref(),
            dir.as_os_str(),
        ];
        Self {
            storm: Storm::record(dir, &record, &command, &[]),
            caps,
        }
    }

    /// Opens the gate: how `record` ended, and its capability report.
    fn finish(self) -> (Output, serde_json::Value) {
        let out = self.storm.finish();
        let report = std::fs::read(&self.caps).unwrap_or_default();
        (out, serde_json::from_slice(&report).unwrap_or_default())
    }
}

/// `dir/bin/t1` .. `tN`: links to `true`, each a name of its own for execve.
fn true_links(dir: &Path, n: u64) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let truth = std::fs::canonicalize(e2e::which("true").expect("true")).unwrap();
    for i in 1..=n {
        std::os::unix::fs::symlink(&truth, bin.join(format!("t{i}"))).unwrap();
    }
}

/// More distinct executed names than a container keeps (`contract::EXEC_QUOTA`): exactly the
/// executions past it are counted, and `record` says the set may be incomplete, in one line.
/// One shell runs the links in order. (Host only: a thousand fork and exec under the VMs'
/// emulation take minutes.)
#[test]
fn names_past_the_quota_are_counted_and_told() {
    if !e2e::privileged() {
        return;
    }
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let extra = 50;
    let links = e2e::contract::EXEC_QUOTA + extra;
    true_links(dir.path(), links);
    let script = format!("i=0; while [ $i -lt {links} ]; do i=$((i+1)); \"$0/bin/t$i\"; done");
    let caps = dir.path().join("caps.json");
    let out = e2e::run_hook(&[
        "record",
        "-o",
        dir.path().join("p.json").to_str().unwrap(),
        "--caps",
        caps.to_str().unwrap(),
        "--",
        "/bin/sh",
        "-c",
        &script,
        dir.path().to_str().unwrap(),
    ]);
    assert_success("record --caps", &out);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&caps).unwrap()).unwrap();
    // /bin/sh is the first name kept: one more than the links went past.
    assert_eq!(report["executions_not_kept"], extra + 1, "{report}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("may be incomplete") && stderr.lines().count() == 1,
        "{stderr}"
    );
}
