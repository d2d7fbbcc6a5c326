//! `record`: run a command in a new PID namespace, record it, write its profile (the life
//! itself is [`hook::record`]).

use anyhow::Result;
use hook::{cli::RecordArgs, record};

use super::emit;

pub fn run(args: RecordArgs) -> Result<i32> {
    // Checked before the command runs; written through the directory opened here.
    let output = emit::open(args.output.as_deref())?;
    let plan = record::Plan {
        command: args.command.clone(),
        output: args
            .output
            .as_ref()
            .map_or("-".into(), |path| path.display().to_string()),
        errno: args.errno,
        attach: args.attach,
    };
    let recording = record::run(&plan)?;
    emit::write(&recording.profile, &args.format, output.as_ref())?;
    Ok(recording.exit.shell_code())
}
