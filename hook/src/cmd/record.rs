//! `record`: run a command in a new PID namespace, record it, write its profile.

use std::time::Instant;

use anyhow::{Context, Result};
use hook::{
    container::Container,
    launch::{self, Exit, GatedChild, Running},
    output::Output,
    profile::Recipe,
    recorder::{Recorder, Window},
    slot::Label,
    syscall_table::Arch,
};
use rustix::process::Signal;
use tokio::signal::unix::{signal, SignalKind};

use hook::cli::RecordArgs;

use super::emit;

pub fn run(args: RecordArgs) -> Result<i32> {
    // Checked before the command runs; written through the directory opened here.
    let output = emit::open(args.output.as_deref())?;
    // Fork before the runtime starts any thread: see `launch::spawn_gated`.
    let child = launch::spawn_gated(&args.command).context("cannot start the command")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(record(child, &args, output))
}

async fn record(child: GatedChild, args: &RecordArgs, output: Option<Output>) -> Result<i32> {
    let target = Container::command(child.pid());
    let attach_started = Instant::now();
    let label = Label {
        id: format!(
            "record {}",
            args.command
                .first()
                .map_or("".into(), |c| c.to_string_lossy())
        ),
        output: args
            .output
            .as_ref()
            .map_or("-".into(), |path| path.display().to_string()),
        recipe: recipe(args),
    };
    let recorder = Recorder::attach(&target, Window::Everything, args.attach, &label)
        .context("cannot attach the eBPF recorder")?;
    log::debug!(
        "recorder attached in {} us for PID namespace {target:?} ({:?})",
        attach_started.elapsed().as_micros(),
        recorder.timings()
    );
    let running = child.release()?;
    let exit = wait_forwarding_signals(&running).await?;
    let snapshot = recorder.snapshot()?;
    recorder.release()?;

    let profile = recipe(args).build(&snapshot.names(Arch::NATIVE));
    emit::write(&profile, &args.format, output.as_ref())?;
    Ok(exit.shell_code())
}

/// A command's recording becomes its profile as it is: no runtime, so no runtime floor.
fn recipe(args: &RecordArgs) -> Recipe {
    Recipe {
        errno: args.errno,
        baseline: None,
        runtime_floor: false,
    }
}

/// The command is PID 1 of its namespace and ignores signals it has no handler for, so a
/// first SIGINT/SIGTERM/SIGHUP is passed on (a handler may act on it) and a second one kills.
async fn wait_forwarding_signals(running: &Running) -> Result<Exit> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut forwarded = false;
    loop {
        let sig = tokio::select! {
            exit = running.wait() => return Ok(exit?),
            _ = int.recv() => Signal::INT,
            _ = term.recv() => Signal::TERM,
            _ = hup.recv() => Signal::HUP,
        };
        let sig = if forwarded { Signal::KILL } else { sig };
        forwarded = true;
        running.signal(sig)?;
    }
}
