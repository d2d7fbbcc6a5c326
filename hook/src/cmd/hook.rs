//! `-s`: the OCI hook. At prestart (or createRuntime) it validates the annotation, forks a
//! tracer, and returns once the tracer is attached; the tracer writes the profile when the
//! container's init exits. At poststop it waits, bounded, until that profile is written.

use std::{
    os::fd::AsRawFd,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context, Result};
use log::LevelFilter;
use oci_spec::runtime::{ContainerState, State};
use osbh::{
    allowed::AllowedDirs,
    annotation::{self, Request, ANNOTATION},
    baseline,
    detach::{self, Ready},
    outcome::{self, Claim, Outcome, RUN_DIR},
    output::Output,
    pidns::PidNamespace,
    profile::{self, Profile},
    recorder::{AttachPoint, Program, Recorder, Window},
    syscall_table::Arch,
    watch::Watch,
};
use serde_json::Value;

use crate::logging;

pub struct HookOptions {
    pub timeout: Duration,
    pub errno: u32,
    pub log_level: Option<LevelFilter>,
    pub allowed_output_dirs: Vec<PathBuf>,
    pub allowed_input_dirs: Vec<PathBuf>,
}

/// Everything the tracer needs, checked before the container may start.
struct Job {
    id: String,
    pid: i32,
    target: PidNamespace,
    request: Request,
    output: Output,
    baseline: Option<Value>,
    errno: u32,
    log_level: Option<LevelFilter>,
}

pub fn run(options: HookOptions) -> Result<i32> {
    let state: State = serde_json::from_reader(std::io::stdin().lock())
        .context("cannot read the OCI state JSON from stdin (run it as an OCI hook)")?;
    match state.status() {
        ContainerState::Stopped => poststop(&state, &options),
        _ => prestart(&state, &options),
    }
}

fn prestart(state: &State, options: &HookOptions) -> Result<i32> {
    let job = check(state, options)?;
    // The output directory stays open in the tracer: the write goes where the check looked.
    let keep = job.output.dir_fd().as_raw_fd();
    let tracer = detach::spawn(&[keep], move |ready| trace(job, ready))?;
    tracer.wait_attached(options.timeout)?;
    Ok(0)
}

/// Everything that can be wrong is refused here, before the container runs.
fn check(state: &State, options: &HookOptions) -> Result<Job> {
    let value = state
        .annotations()
        .as_ref()
        .and_then(|a| a.get(ANNOTATION))
        .ok_or_else(|| {
            anyhow!("the container has no {ANNOTATION} annotation; install the hook with the hooks.d JSON, which runs it only when the annotation is set")
        })?;
    let request = annotation::parse(value)?;
    let pid = state
        .pid()
        .filter(|&pid| pid > 0)
        .ok_or_else(|| anyhow!("the OCI state has no valid pid ({:?})", state.pid()))?;
    let target = PidNamespace::of_pid(pid)?;
    if target == PidNamespace::of_link(Path::new("/proc/self/ns/pid"))? {
        bail!(
            "container {} shares the host's PID namespace (--pid=host): tracing it would record \
             every process on the host; run it with its own PID namespace",
            state.id()
        );
    }
    let inputs = AllowedDirs::resolve("--allowed-input-dir", &options.allowed_input_dirs)?;
    let baseline = request
        .input
        .as_deref()
        .map(|path| baseline::read(path, &inputs))
        .transpose()?;
    let outputs = AllowedDirs::resolve("--allowed-output-dir", &options.allowed_output_dirs)?;
    let output = Output::open(&request.output, &outputs)?;
    Ok(Job {
        id: state.id().clone(),
        pid,
        target,
        request,
        output,
        baseline,
        errno: options.errno,
        log_level: options.log_level,
    })
}

/// The detached tracer's whole life. Its return value is its exit status.
fn trace(job: Job, ready: Ready) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            ready.failed(&format!("cannot start the tracer's async runtime: {e}"));
            return 1;
        }
    };
    runtime.block_on(async move {
        let (watch, recorder, claim) = match attach(&job) {
            Ok(attached) => attached,
            Err(e) => {
                ready.failed(&super::describe(&e));
                return 1;
            }
        };
        ready.attached();
        logging::to_syslog(job.log_level);
        log::info!(
            "tracing container {} (PID {}) into {}",
            job.id,
            job.pid,
            job.request.output.display()
        );
        if let Err(e) = watch.exited().await {
            log::error!("container {}: waiting for its exit failed: {e}", job.id);
        }
        let exited = Instant::now();
        match write_profile(&job, &recorder) {
            Ok(summary) => {
                let delay = exited.elapsed().as_micros();
                let summary = format!("{summary}, {delay} us after the container exited");
                log::info!("container {}: {summary}", job.id);
                claim.finish(&Outcome::Written(summary));
                0
            }
            Err(e) => {
                let message = format!("{e:#}");
                log::error!("container {}: {message}", job.id);
                claim.finish(&Outcome::Failed(message));
                1
            }
        }
    })
}

fn attach(job: &Job) -> Result<(Watch, Recorder, Claim)> {
    // Claimed first: once the hook returns, poststop must find it.
    let claim = Claim::new(Path::new(RUN_DIR), &job.id)?;
    let watch = Watch::pid(job.pid)
        .with_context(|| format!("cannot watch the container's process {}", job.pid))?;
    let recorder = Recorder::attach(
        job.target,
        Window::Workload,
        AttachPoint::RawTracepoint,
        Program::Recorder,
    )
    .context("cannot attach the eBPF recorder")?;
    Ok((watch, recorder, claim))
}

fn write_profile(job: &Job, recorder: &Recorder) -> Result<String> {
    let output = &job.request.output;
    if !recorder.window_opened()? {
        bail!(
            "the container exited before its workload started (no seccomp filter install or \
             execve seen); no profile written, {} left as it was",
            output.display()
        );
    }
    let snapshot = recorder.snapshot()?;
    let mut names = super::names(&snapshot);
    let count = names.len();
    names.extend_from_slice(profile::RUNTIME_FLOOR);
    let profile = match &job.baseline {
        Some(baseline) => Profile::extending(baseline, names, job.errno, Arch::NATIVE),
        None => Profile::allowing(names, job.errno, Arch::NATIVE),
    };
    job.output.write(&profile.to_bytes())?;
    Ok(format!(
        "wrote {} ({count} syscalls seen)",
        output.display()
    ))
}

/// Exits 0 only when this run's profile was written; otherwise the tracer's own reason, which
/// the runtime logs (podman: its log and syslog).
fn poststop(state: &State, options: &HookOptions) -> Result<i32> {
    match outcome::collect(Path::new(RUN_DIR), state.id(), options.timeout)? {
        Outcome::Written(_) => Ok(0),
        Outcome::Failed(reason) => bail!("container {}: {reason}", state.id()),
    }
}
