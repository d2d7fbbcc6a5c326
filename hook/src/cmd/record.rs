//! `record`: run a command in a new PID namespace, record it, write its profile (the life
//! itself is [`hook::record`]).

use anyhow::Result;
use hook::{cli::RecordArgs, record};

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
        attach: args.attach,
        caps: caps_output.is_some(),
    };
    let recording = record::run(&plan)?;
    emit::write(&recording.profile, &args.format, output.as_ref())?;
    if let (Some(report), Some(out)) = (&recording.caps, &caps_output) {
        if let Err(reason) = &report.observed_by {
            eprintln!("oci-seccomp-bpf-hook: warning: {reason}");
        }
        out.write(&report.to_bytes())?;
    }
    Ok(recording.exit.shell_code())
}
