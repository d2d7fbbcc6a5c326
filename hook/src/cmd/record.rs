//! `record`: run a command in a new PID namespace, record it, write its profile (the life
//! itself is [`hook::record`]).

use anyhow::Result;
use hook::{
    cli::RecordArgs,
    profile::write::{Output, INCOMPLETE_SUFFIX},
    record::{self, Recording},
};

use super::emit;

pub fn run(args: RecordArgs) -> Result<i32> {
    // Checked before the command runs; written through the directories opened here.
    let output = emit::open(args.output.as_deref())?;
    let caps_output = emit::open(args.caps.as_deref())?;
    let plan = record::Plan {
        command: args.command.clone(),
        output: args
            .output
            .as_ref()
            .map_or("-".into(), |path| path.display().to_string()),
        errno: args.errno,
        names_only: args.names_only,
        attach: args.attach,
        caps: caps_output.is_some(),
    };
    let recording = record::run(&plan)?;
    if let Some(notes) = &recording.notes {
        eprintln!("oci-seccomp-bpf-hook: warning: {notes}");
    }
    if let Some(losses) = &recording.losses {
        return incomplete(&recording, losses, &args, output.as_ref());
    }
    emit::write(&recording.profile, &args.format, output.as_ref())?;
    // What is beside the output is always about the last run: a whole one leaves no partial.
    if let Some(stale) = output
        .as_ref()
        .and_then(|o| o.sibling(INCOMPLETE_SUFFIX).ok())
    {
        stale.remove();
    }
    if let (Some(report), Some(out)) = (&recording.caps, &caps_output) {
        for why in report.warnings() {
            eprintln!("oci-seccomp-bpf-hook: warning: {why}");
        }
        out.write(&report.to_bytes())?;
    }
    Ok(recording.exit.shell_code())
}

/// An incomplete recording is never written as if whole: the partial profile goes beside the
/// output (stdout gets nothing), the reason to stderr, and the exit status says so.
fn incomplete(
    recording: &Recording,
    losses: &str,
    args: &RecordArgs,
    output: Option<&Output>,
) -> Result<i32> {
    let status = recording.exit.shell_code();
    let kept = match output {
        Some(output) => {
            let partial = output.sibling(INCOMPLETE_SUFFIX)?;
            emit::write(&recording.profile, &args.format, Some(&partial))?;
            format!(
                "{} left as it was, the partial profile is in {}",
                output.path().display(),
                partial.path().display()
            )
        }
        None => "nothing written to stdout".to_owned(),
    };
    eprintln!(
        "oci-seccomp-bpf-hook: the recording is incomplete: {losses}; {kept} (the command \
         exited with {status}); record again with fewer tasks at once"
    );
    Ok(record::EXIT_INCOMPLETE)
}
