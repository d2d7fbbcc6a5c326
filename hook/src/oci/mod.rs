//! The short-lived OCI hook (`-s`): everything here runs in the hook's process, before the
//! container starts (and again at poststop). At prestart (or createRuntime) it parses the
//! [`annotation`], checks the [`baseline`] and the output path, forks the
//! [`tracer`], and returns once it is attached: the container starts only
//! then. At poststop it collects the tracer's [`outcome`].

use std::{
    os::fd::AsRawFd,
    path::{Path, PathBuf},
    time::Duration,
};

use log::LevelFilter;
use oci_spec::runtime::{ContainerState, State};

pub mod annotation;
pub mod baseline;

use annotation::{AnnotationError, ANNOTATION};
use baseline::BaselineError;

use crate::{
    ebpf::container::{Container, ContainerError},
    node::{
        outcome::{self, Outcome, OutcomeError},
        RUN_DIR,
    },
    profile::{
        allowed::{AllowedDirError, AllowedDirs},
        runtime::Runtime,
        write::{Output, OutputError},
    },
    sys::detach::{self, DetachError},
    tracer::{self, CapsJob, Job},
};

/// The hook's arguments (from the hooks.d JSON).
#[derive(Debug, Clone)]
pub struct Options {
    pub timeout: Duration,
    pub errno: u32,
    /// No argument rules: the argument values are not even kept.
    pub names_only: bool,
    pub log_level: Option<LevelFilter>,
    pub allowed_output_dirs: Vec<PathBuf>,
    pub allowed_input_dirs: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("the container has no {ANNOTATION} annotation; install the hook with the hooks.d JSON, which runs it only when the annotation is set")]
    NoAnnotation,
    #[error("the OCI state has no valid pid ({0:?})")]
    NoPid(Option<i32>),
    #[error("container {id}: {reason}")]
    NotWritten { id: String, reason: String },
    #[error(transparent)]
    Annotation(#[from] AnnotationError),
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error(transparent)]
    AllowedDir(#[from] AllowedDirError),
    #[error("unusable if: baseline")]
    Baseline(#[from] BaselineError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Tracer(#[from] DetachError),
    #[error(transparent)]
    Outcome(#[from] OutcomeError),
}

/// Acts on `state` for the stage it describes.
pub fn run(state: &State, options: &Options) -> Result<(), HookError> {
    match state.status() {
        ContainerState::Stopped => poststop(state, options),
        _ => prestart(state, options),
    }
}

fn prestart(state: &State, options: &Options) -> Result<(), HookError> {
    let job = check(state, options)?;
    // The output directories stay open in the tracer: the writes go where the check looked.
    let mut keep = vec![job.output.dir_fd().as_raw_fd()];
    keep.extend(
        job.caps
            .as_ref()
            .map(|caps| caps.output.dir_fd().as_raw_fd()),
    );
    let tracer = detach::spawn(&keep, move |ready| tracer::run(job, ready))?;
    if let Err(e) = tracer.wait_attached(options.timeout) {
        // The tracer is gone and the container will not start: nothing to leave for poststop.
        outcome::discard(Path::new(RUN_DIR), state.id());
        return Err(e.into());
    }
    Ok(())
}

/// What the state asks for and the container's init, read from the state alone (a pure
/// step, fuzzed: the state comes from the runtime, its annotation from the pod's author).
pub fn request_of(state: &State) -> Result<(annotation::Request, i32), HookError> {
    let value = state
        .annotations()
        .as_ref()
        .and_then(|a| a.get(ANNOTATION))
        .ok_or(HookError::NoAnnotation)?;
    let request = annotation::parse(value)?;
    let pid = state
        .pid()
        .filter(|&pid| pid > 0)
        .ok_or(HookError::NoPid(*state.pid()))?;
    Ok((request, pid))
}

/// Everything that can be wrong is refused here, before the container runs.
fn check(state: &State, options: &Options) -> Result<Job, HookError> {
    let (request, pid) = request_of(state)?;
    // Whatever PID namespace it shares (a pod's, the host's): the container is its init's
    // tasks, followed from the filter install (see `contract::MAP_TRACED`).
    let container = Container {
        arg_values: !options.names_only,
        ..Container::of_runtime(pid, state.bundle())?
    };
    let inputs = AllowedDirs::resolve("--allowed-input-dir", &options.allowed_input_dirs)?;
    let baseline = request
        .input
        .as_deref()
        .map(|path| baseline::read(path, &inputs))
        .transpose()?;
    let outputs = AllowedDirs::resolve("--allowed-output-dir", &options.allowed_output_dirs)?;
    let output = Output::open(&request.output, &outputs)?;
    // Refused exactly as an of: path would be.
    let caps = match &request.caps {
        Some(path) => Some(CapsJob::of_bundle(
            Output::open(path, &outputs)?,
            state.bundle(),
        )),
        None => None,
    };
    Ok(Job {
        id: state.id().clone(),
        bundle: state.bundle().to_owned(),
        container,
        output,
        baseline,
        caps,
        errno: options.errno,
        log_level: options.log_level,
        runtime: runtime_running_us(),
    })
}

/// The OCI runtime that runs this hook: its parent process (runc and crun run hooks
/// themselves; the runtime wrapper has exec'd the real runtime by then).
fn runtime_running_us() -> Runtime {
    let parent = std::os::unix::process::parent_id();
    let runtime = std::fs::read_link(format!("/proc/{parent}/exe"))
        .map(|exe| Runtime::of_executable(&exe.to_string_lossy()))
        .unwrap_or(Runtime::Unknown);
    log::debug!("run by {} (process {parent})", runtime.name());
    runtime
}

/// Succeeds only when this run's profile was written; otherwise the tracer's own reason, which
/// the runtime logs (podman: its log and syslog).
fn poststop(state: &State, options: &Options) -> Result<(), HookError> {
    match outcome::collect(Path::new(RUN_DIR), state.id(), options.timeout)? {
        Outcome::Written(_) => Ok(()),
        Outcome::Failed(reason) => Err(HookError::NotWritten {
            id: state.id().clone(),
            reason,
        }),
    }
}
