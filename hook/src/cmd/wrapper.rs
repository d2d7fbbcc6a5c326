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
    let time = humantime_now();
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

/// Now as RFC 3339 in UTC, to the second (what runc's log lines carry).
fn humantime_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_423), (2025, 12, 1));
        assert_eq!(humantime_now().len(), 20);
    }
}
