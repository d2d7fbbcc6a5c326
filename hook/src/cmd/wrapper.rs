//! `oci-seccomp-bpf-runtime`: the same binary started as an OCI runtime (the life itself is
//! [`hook::wrapper`]). Its only output is on failure: one line on stderr, and in the runtime's
//! `--log` file in its format, which containerd reports.

use std::{ffi::OsString, io::Write};

use hook::{
    sys::errors,
    wrapper::{self, argv::Invocation},
};

/// Becomes the real runtime, or exits 1 with the reason.
pub fn run(args: &[OsString]) -> ! {
    let invocation = wrapper::invocation(args);
    let Err(err) = wrapper::run(args, &invocation);
    let line = errors::one_line(&err);
    eprintln!("{}: {line}", wrapper::WRAPPER_NAME);
    log_to_runtime_log(&invocation, &line);
    std::process::exit(1);
}

/// Appends `line` to the runtime's `--log` file, as runc writes it (JSON or logfmt).
fn log_to_runtime_log(invocation: &Invocation, line: &str) {
    let Some(path) = &invocation.log else {
        return;
    };
    // RFC 3339 in UTC, to the second: what runc's log lines carry.
    let time = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let message = format!("{}: {line}", wrapper::WRAPPER_NAME);
    let record = match invocation.log_json {
        true => serde_json::json!({ "level": "error", "msg": message, "time": time }).to_string(),
        false => format!("time={time:?} level=error msg={message:?}"),
    };
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
    {
        let _ = writeln!(file, "{record}");
    }
}
