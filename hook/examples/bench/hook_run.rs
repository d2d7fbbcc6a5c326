//! Figures 1, 3 and 6: the real OCI hook, run as a runtime runs it. Each run holds a process in
//! a new PID namespace (a created container's init), pipes an OCI State to
//! `oci-seccomp-bpf-hook -s`, and times it to its exit; reads the tracer's memory while it waits;
//! lets the process exec and exit, and times the exit to the profile's rename.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use hook::{
    ebpf::{container::Container, programs::AttachPoint, recorder::Recorder, slot::Window},
    profile::write::write_atomically,
    record::launch::{self, GatedChild},
};
use rustix::{
    event::{PollFd, PollFlags, Timespec},
    fs::inotify,
    io::Errno,
};
use serde_json::json;
use std::os::fd::OwnedFd;

use crate::{
    report::{ms_since, Report, Samples},
    Plan,
};

#[derive(Default)]
struct Figures {
    version_ms: Samples,
    version_rss: Samples,
    /// Indexed by [`Start`].
    hook_ms: [Samples; 2],
    tracer_peak: [Samples; 2],
    tracer_steady: [Samples; 2],
    exit_to_file_ms: Samples,
    write_only_ms: Samples,
}

/// Whether the hook's tracer is the first on the node or joins running programs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    First = 0,
    Joins = 1,
}

/// Needs `runtime` entered (the released init is waited on through it).
pub fn measure(
    plan: &Plan,
    report: &mut Report,
    runtime: &tokio::runtime::Runtime,
    hook: &Path,
    dir: &Path,
) -> Result<()> {
    let mut figures = Figures::default();
    for run in 0..plan.hook_runs {
        // Interleaved: the process-start floor, then the hook.
        let (ms, rss) = timed(Command::new(hook).arg("--version"), None)?;
        figures.version_ms.push(ms);
        figures.version_rss.push(rss);
        for start in [Start::First, Start::Joins] {
            one_hook_run(runtime, hook, dir, (run, start), &mut figures)?;
        }
    }
    let f = &figures;
    let version = Some(("--version", &f.version_ms));
    report.add(
        "1 start",
        "hook -s, first container: loads, verifies (goal <= 10 ms)",
        "ms",
        f.hook_ms[0].clone(),
        version,
    );
    report.add(
        "1 start",
        "hook -s, later container: joins (goal <= 3 ms)",
        "ms",
        f.hook_ms[1].clone(),
        version,
    );
    report.add(
        "1 start",
        "--version (process floor)",
        "ms",
        f.version_ms.clone(),
        None,
    );
    let floor = Some(("--version peak", &f.version_rss));
    for (i, who) in ["first", "later"].iter().enumerate() {
        report.add(
            "3 memory",
            format!("{who} tracer peak RSS (goal <= 6 MiB)"),
            "MiB",
            f.tracer_peak[i].clone(),
            floor,
        );
        report.add(
            "3 memory",
            format!("{who} tracer steady RSS (goal <= 6 MiB)"),
            "MiB",
            f.tracer_steady[i].clone(),
            floor,
        );
    }
    report.add(
        "3 memory",
        "--version peak RSS",
        "MiB",
        f.version_rss.clone(),
        None,
    );
    report.add(
        "6 exit to file",
        "container exit -> profile renamed",
        "ms",
        f.exit_to_file_ms.clone(),
        Some(("bench's own write+rename", &f.write_only_ms)),
    );
    Ok(())
}

fn one_hook_run(
    runtime: &tokio::runtime::Runtime,
    hook: &Path,
    dir: &Path,
    (run, start): (usize, Start),
    figures: &mut Figures,
) -> Result<()> {
    let id = format!("osbh-bench-{}-{run}-{}", std::process::id(), start as usize);
    // Another container traced meanwhile: its recorder (here, in the bench) holds the programs.
    let resident = match start {
        Start::First => None,
        Start::Joins => Some(Resident::start()?),
    };
    let output = dir.join(format!("{id}.json"));
    let init = launch::spawn_gated(&["/bin/true".into()])?;
    let state = json!({
        "ociVersion": "1.0.2",
        "id": id,
        "status": "created",
        "pid": init.pid(),
        "bundle": dir,
        "annotations": { "io.containers.trace-syscall": format!("of:{}", output.display()) },
    });
    let (ms, _) = timed(Command::new(hook).arg("-s"), Some(&state.to_string()))?;
    figures.hook_ms[start as usize].push(ms);

    let tracer = find_tracer()?;
    let (peak, steady) = tracer_rss(tracer)?;
    figures.tracer_peak[start as usize].push(peak);
    figures.tracer_steady[start as usize].push(steady);

    let notify = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)?;
    inotify::add_watch(&notify, dir, inotify::WatchFlags::MOVED_TO)?;
    let running = init.release()?;
    runtime.block_on(running.wait())?;
    let exited = Instant::now();
    wait_for_rename(&notify, &output)?;
    if start == Start::First {
        figures.exit_to_file_ms.push(ms_since(exited));
    }
    drop(resident);

    // The reference: the same bytes written and renamed by us, seen through the same watch.
    let bytes = std::fs::read(&output)?;
    let copy = dir.join(format!("{id}.copy.json"));
    let started = Instant::now();
    write_atomically(&copy, &bytes)?;
    wait_for_rename(&notify, &copy)?;
    figures.write_only_ms.push(ms_since(started));

    // poststop, as a runtime runs it: the tracer waits for it to read the outcome, then exits.
    let stopped = json!({ "ociVersion": "1.0.2", "id": id, "status": "stopped", "bundle": dir });
    timed(Command::new(hook).arg("-s"), Some(&stopped.to_string()))?;
    reap(tracer)?;
    for file in [output, copy] {
        std::fs::remove_file(file)?;
    }
    Ok(())
}

/// A held process registered with the node's programs by the bench itself.
struct Resident {
    _recorder: Recorder,
    _init: GatedChild,
}

impl Resident {
    fn start() -> Result<Self> {
        let init = launch::spawn_gated(&["/bin/true".into()])?;
        let label = crate::label("bench resident");
        let recorder = Recorder::attach(
            &Container::command(init.pid()),
            Window::Workload,
            AttachPoint::RawTracepoint,
            &label,
        )?;
        Ok(Self {
            _recorder: recorder,
            _init: init,
        })
    }
}

/// Runs `command` to its exit (status 0 required); wall ms and peak RSS in MiB.
fn timed(command: &mut Command, stdin: Option<&str>) -> Result<(f64, f64)> {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().context("cannot start the hook binary")?;
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .context("stdin")?
            .write_all(text.as_bytes())?;
    }
    drop(child.stdin.take());
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` are live locals wait4 writes into.
    if unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) } < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    let ms = ms_since(started);
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        bail!("{command:?} failed ({status:#x}): {err}");
    }
    Ok((ms, usage.ru_maxrss as f64 / 1024.0))
}

/// The hook's tracer: reparented to us (we are a subreaper) when the hook exited.
fn find_tracer() -> Result<i32> {
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc")? {
        let name = entry?.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
        let Some((head, tail)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = tail.split_whitespace().nth(1);
        if head.contains("(oci-seccomp-bp") && ppid == Some(me.as_str()) {
            return Ok(pid);
        }
    }
    bail!("the hook's tracer was not found among this process's children")
}

/// (VmHWM, VmRSS) in MiB.
fn tracer_rss(pid: i32) -> Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Result<f64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc/{pid}/status"))?;
        let kib: f64 = line.split_whitespace().nth(1).context("value")?.parse()?;
        Ok(kib / 1024.0)
    };
    Ok((field("VmHWM:")?, field("VmRSS:")?))
}

fn wait_for_rename(notify: &OwnedFd, path: &Path) -> Result<()> {
    let name = path.file_name().context("file name")?;
    let mut buf = [std::mem::MaybeUninit::uninit(); 4096];
    let mut reader = inotify::Reader::new(notify, &mut buf);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match reader.next() {
            Ok(event) => {
                if event.file_name().map(|n| n.to_bytes()) == Some(name.as_encoded_bytes()) {
                    return Ok(());
                }
            }
            Err(Errno::AGAIN) if Instant::now() < deadline => {
                let mut fds = [PollFd::new(notify, PollFlags::IN)];
                let tick = Timespec {
                    tv_sec: 0,
                    tv_nsec: 100_000_000,
                };
                rustix::event::poll(&mut fds, Some(&tick))?;
            }
            Err(Errno::AGAIN) => bail!("{} did not appear within 10 s", path.display()),
            Err(e) => return Err(e.into()),
        }
    }
}

fn reap(pid: i32) -> Result<()> {
    let mut status = 0;
    // SAFETY: plain waitpid on a child of ours (reparented by the subreaper flag).
    if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("the tracer ended with status {status:#x}; see the system log");
    }
    Ok(())
}

pub fn scratch_dir() -> Result<PathBuf> {
    Ok(tempfile::Builder::new()
        .prefix("osbh-bench-")
        .tempdir()?
        .keep())
}
