//! The detached tracer's whole life: attach the recorder for one container, tell the hook,
//! wait for the container's init to exit, write the profile, hand the outcome to poststop.
//! It outlives the hook that forked it, so it reports to syslog.

mod told;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use log::LevelFilter;
use serde_json::Value;

use crate::{
    ebpf::{
        container::Container,
        programs::AttachPoint,
        recorder::{Recorder, RecorderError},
        slot::Window,
    },
    node::{
        label::Label,
        outcome::{Claim, Outcome, OutcomeError},
        RUN_DIR,
    },
    profile::{
        arch::Arch,
        runtime::Runtime,
        write::{Output, OutputError, INCOMPLETE_SUFFIX},
        Recipe,
    },
    sys::{detach::Ready, errors::one_line, logging, watch::Watch},
};

/// Everything the tracer needs, checked by the hook before the container may start.
pub struct Job {
    pub id: String,
    /// The container's bundle directory, as the runtime gave it.
    pub bundle: PathBuf,
    pub container: Container,
    pub output: Output,
    pub baseline: Option<Value>,
    /// The capability report, when the annotation asks for one.
    pub caps: Option<CapsJob>,
    pub errno: u32,
    pub log_level: Option<LevelFilter>,
    /// The OCI runtime that ran the hook, whose own calls the profile allows.
    pub runtime: Runtime,
}

/// Where the capability report goes, and what it needs to know of the container.
pub struct CapsJob {
    pub output: Output,
    /// The container's root directory, where its executed files are looked up.
    pub root: PathBuf,
    /// Whether the container's process runs as root (`process.user.uid` 0).
    pub root_user: bool,
}

impl CapsJob {
    /// For the container of `bundle`: its root and user from its `config.json` (`/` and root
    /// when unreadable; a file then not found is listed as not inspected).
    pub fn of_bundle(output: Output, bundle: &Path) -> Self {
        let config: Value = std::fs::read(bundle.join("config.json"))
            .ok()
            .and_then(|text| serde_json::from_slice(&text).ok())
            .unwrap_or_default();
        let root = config["root"]["path"].as_str().unwrap_or("/");
        Self {
            output,
            root: bundle.join(root),
            root_user: config["process"]["user"]["uid"].as_u64().unwrap_or(0) == 0,
        }
    }
}

impl Job {
    /// How this container's recording becomes its profile.
    fn recipe(&self) -> Recipe {
        Recipe {
            errno: self.errno,
            baseline: self.baseline.clone(),
            runtime: Some(self.runtime),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TracerError {
    #[error("cannot start the tracer's async runtime")]
    Runtime(#[source] std::io::Error),
    #[error(transparent)]
    Claim(#[from] OutcomeError),
    #[error("cannot watch the container's process {pid}")]
    Watch {
        pid: i32,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot attach the eBPF recorder")]
    Attach(#[source] RecorderError),
    #[error("cannot read what the eBPF recorder saw")]
    Read(#[source] RecorderError),
    #[error(
        "the container exited before its workload started (no seccomp filter install or \
         execve seen); no profile written, {0} left as it was"
    )]
    NoWorkload(std::path::PathBuf),
    #[error("nothing the container did was recorded{0}; no profile written, {1} left as it was")]
    NothingSeen(String, PathBuf),
    #[error(
        "the recording is incomplete: {losses}; {path} left as it was, the partial profile is \
         in {partial}: record again with fewer tasks at once, or allow what is missing by hand"
    )]
    Incomplete {
        losses: String,
        path: PathBuf,
        partial: PathBuf,
    },
    #[error(transparent)]
    Write(#[from] OutputError),
}

/// Runs in the forked tracer; the return value is its exit status.
pub fn run(job: Job, ready: Ready) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            ready.failed(&one_line(&TracerError::Runtime(e)));
            return 1;
        }
    };
    runtime.block_on(async move {
        let (watch, recorder, claim) = match attach(&job) {
            Ok(attached) => attached,
            Err(e) => {
                ready.failed(&one_line(&e));
                return 1;
            }
        };
        ready.attached();
        logging::to_syslog(job.log_level);
        log::info!(
            "tracing container {} (PID {}, cgroup {:?}) into {}",
            job.id,
            job.container.init,
            job.container.cgroup,
            job.output.path().display()
        );
        if let Err(e) = watch.exited().await {
            log::error!("container {}: waiting for its exit failed: {e}", job.id);
        }
        let exited = Instant::now();
        let written = write_profile(&job, &recorder);
        told::beside(&job, &written);
        let outcome = match written {
            Ok(summary) => {
                let delay = exited.elapsed().as_micros();
                Outcome::Written(format!("{summary}, {delay} us after the container exited"))
            }
            Err(e) => Outcome::Failed(one_line(&e)),
        };
        match &outcome {
            Outcome::Written(summary) => log::info!("container {}: {summary}", job.id),
            Outcome::Failed(reason) => log::error!("container {}: {reason}", job.id),
        }
        let status = i32::from(matches!(outcome, Outcome::Failed(_)));
        let finished = claim.finish(&outcome);
        // The slot, the programs and the output directories are let go before the wait.
        drop((recorder, watch, job));
        finished.wait_for_reader(READER_WAIT);
        status
    })
}

/// How long a finished tracer waits for poststop to read its outcome (or for the runtime to
/// remove the container, when no poststop runs) before leaving the file to a later sweep.
const READER_WAIT: Duration = Duration::from_secs(30);

fn attach(job: &Job) -> Result<(Watch, Recorder, Claim), TracerError> {
    // Claimed first: once the hook returns, poststop must find it.
    let claim = Claim::new(Path::new(RUN_DIR), &job.id, &job.bundle)?;
    let pid = job.container.init as i32;
    let watch = Watch::pid(pid).map_err(|source| TracerError::Watch { pid, source })?;
    let label = Label {
        id: job.id.clone(),
        output: job.output.path().display().to_string(),
        recipe: job.recipe(),
    };
    let recorder = Recorder::attach(
        &job.container,
        Window::Workload,
        AttachPoint::RawTracepoint,
        &label,
    )
    .map_err(TracerError::Attach)?;
    Ok((watch, recorder, claim))
}

/// Writes the profile; returns a one-line summary.
fn write_profile(job: &Job, recorder: &Recorder) -> Result<String, TracerError> {
    let path = job.output.path();
    if !recorder.window_opened().map_err(TracerError::Read)? {
        return Err(TracerError::NoWorkload(path.to_owned()));
    }
    let snapshot = recorder.snapshot().map_err(TracerError::Read)?;
    let recorded = snapshot.names(Arch::NATIVE);
    let losses = snapshot.losses(Arch::NATIVE);
    if recorded.names.is_empty() {
        let why = losses.map_or(String::new(), |l| format!(" ({l})"));
        return Err(TracerError::NothingSeen(why, path.to_owned()));
    }
    let count = recorded.names.len();
    let profile = job.recipe().build(&recorded);
    if let Some(losses) = losses {
        let partial = job.output.sibling(INCOMPLETE_SUFFIX)?;
        partial.write(&profile.to_bytes())?;
        let (path, partial) = (path.to_owned(), partial.path().to_owned());
        return Err(TracerError::Incomplete {
            losses,
            path,
            partial,
        });
    }
    job.output.write(&profile.to_bytes())?;
    if let Some(notes) = recorded.args.notes() {
        log::warn!("container {}: {notes}", job.id);
    }
    let mut summary = format!("wrote {} ({count} syscalls seen)", path.display());
    if let Some(caps) = &job.caps {
        let report = recorder
            .capability_report(&caps.root, caps.root_user)
            .map_err(TracerError::Read)?;
        caps.output.write(&report.to_bytes())?;
        for why in report.warnings() {
            log::warn!("container {}: {why}", job.id);
        }
        let written = caps.output.path().display();
        summary.push_str(&format!(" and {written} ({})", report.summary()));
    }
    Ok(summary)
}
