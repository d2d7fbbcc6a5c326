//! `record`'s life: a command started as PID 1 of a new PID namespace, held before `execve`
//! ([`launch`]) while its recorder attaches, then released and waited for (signals passed
//! on), its recording made into a profile. No runtime starts it, so no runtime's calls are
//! added and everything it does counts from its first instruction.

pub mod launch;

use std::{ffi::OsString, path::Path, time::Instant};

use rustix::process::Signal;
use tokio::signal::unix::{signal, SignalKind};

use crate::{
    caps::report::Report,
    ebpf::{
        container::Container,
        programs::AttachPoint,
        recorder::{Recorder, RecorderError},
        slot::Window,
    },
    node::label::Label,
    profile::{arch::Arch, Profile, Recipe},
};
use launch::{Exit, GatedChild, LaunchError, Running};

/// What to record and how it becomes a profile.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The command and its arguments.
    pub command: Vec<OsString>,
    /// Where the profile goes, as `status` shows it (`-` for stdout).
    pub output: String,
    pub errno: u32,
    /// No argument rules: the argument values are not even kept.
    pub names_only: bool,
    pub attach: AttachPoint,
    /// Whether a capability report is wanted.
    pub caps: bool,
}

impl Plan {
    /// A command's recording becomes its profile as it is: no runtime, so no runtime calls.
    fn recipe(&self) -> Recipe {
        Recipe {
            errno: self.errno,
            baseline: None,
            runtime: None,
        }
    }

    fn label(&self) -> Label {
        let command = self.command.first();
        Label {
            id: format!(
                "record {}",
                command.map_or("".into(), |c| c.to_string_lossy())
            ),
            output: self.output.clone(),
            recipe: self.recipe(),
        }
    }
}

/// The command's profile, its capability report when asked for, and how it ended.
pub struct Recording {
    pub profile: Profile,
    pub caps: Option<Report>,
    pub exit: Exit,
    /// What the recording lacks (see `Snapshot::losses`): then the profile is partial.
    pub losses: Option<String>,
    /// Calls allowed for any argument value because too many were seen (`Args::notes`).
    pub notes: Option<String>,
}

/// `record`'s exit status when the recording is incomplete, whatever the command's own: the
/// profile is not written where asked (see the README, "When a recording is incomplete").
pub const EXIT_INCOMPLETE: i32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot start the command")]
    Start(#[source] LaunchError),
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    #[error("cannot attach the eBPF recorder")]
    Attach(#[source] RecorderError),
    #[error(transparent)]
    Run(LaunchError),
    #[error("cannot wait for signals to pass on")]
    Signals(#[source] std::io::Error),
    #[error(transparent)]
    Read(RecorderError),
}

/// Records `plan`'s command to its end. Call while the process has one thread: the command
/// is forked before the async runtime starts (see [`launch::spawn_gated`]).
pub fn run(plan: &Plan) -> Result<Recording, RecordError> {
    let child = launch::spawn_gated(&plan.command).map_err(RecordError::Start)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RecordError::Runtime)?;
    runtime.block_on(record(child, plan))
}

async fn record(child: GatedChild, plan: &Plan) -> Result<Recording, RecordError> {
    let target = Container {
        arg_values: !plan.names_only,
        ..Container::command(child.pid())
    };
    let attach_started = Instant::now();
    let recorder = Recorder::attach(&target, Window::Everything, plan.attach, &plan.label())
        .map_err(RecordError::Attach)?;
    log::debug!(
        "recorder attached in {} us for PID namespace {target:?} ({:?})",
        attach_started.elapsed().as_micros(),
        recorder.timings()
    );
    let running = child.release().map_err(RecordError::Run)?;
    let exit = wait_forwarding_signals(&running).await?;
    let snapshot = recorder.snapshot().map_err(RecordError::Read)?;
    // The command ran in this process's root, as this process's user.
    let root_user = rustix::process::geteuid().is_root();
    let caps = plan
        .caps
        .then(|| recorder.capability_report(Path::new("/"), root_user))
        .transpose()
        .map_err(RecordError::Read)?;
    recorder.release().map_err(RecordError::Read)?;
    let recorded = snapshot.names(Arch::NATIVE);
    // Not even the command's execve: a recording that saw nothing is no profile.
    let losses = match (recorded.names.is_empty(), snapshot.losses(Arch::NATIVE)) {
        (true, why) => Some(format!(
            "nothing the command did was recorded{}",
            why.map_or(String::new(), |l| format!(" ({l})"))
        )),
        (false, why) => why,
    };
    Ok(Recording {
        profile: plan.recipe().build(&recorded),
        caps,
        exit,
        losses,
        notes: recorded.args.notes(),
    })
}

/// The command is PID 1 of its namespace and ignores signals it has no handler for, so a
/// first SIGINT/SIGTERM/SIGHUP is passed on (a handler may act on it) and a second one kills.
async fn wait_forwarding_signals(running: &Running) -> Result<Exit, RecordError> {
    let listen = |kind| signal(kind).map_err(RecordError::Signals);
    let mut int = listen(SignalKind::interrupt())?;
    let mut term = listen(SignalKind::terminate())?;
    let mut hup = listen(SignalKind::hangup())?;
    let mut forwarded = false;
    loop {
        let sig = tokio::select! {
            exit = running.wait() => return exit.map_err(RecordError::Run),
            _ = int.recv() => Signal::INT,
            _ = term.recv() => Signal::TERM,
            _ = hup.recv() => Signal::HUP,
        };
        let sig = if forwarded { Signal::KILL } else { sig };
        forwarded = true;
        running.signal(sig).map_err(RecordError::Run)?;
    }
}
