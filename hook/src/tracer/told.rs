//! Where a user learns how a run ended without poststop (upstream's prestart-only hooks JSON)
//! and without syslog: beside the `of:` file. `NAME.failed` holds the reason of a run that
//! wrote no profile (an incomplete one also leaves `NAME.incomplete`, the partial profile); a
//! run that wrote its profile removes both, so what is there is always about the last run.

use std::time::SystemTime;

use super::{Job, TracerError};
use crate::{
    profile::write::{FAILED_SUFFIX, INCOMPLETE_SUFFIX},
    sys::errors::one_line,
};

/// Leaves the reason of a failed run beside its output, or clears an earlier run's.
pub fn beside(job: &Job, written: &Result<String, TracerError>) {
    let stale: &[&str] = match written {
        Ok(_) => &[FAILED_SUFFIX, INCOMPLETE_SUFFIX],
        Err(TracerError::Incomplete { .. }) => &[],
        Err(_) => &[INCOMPLETE_SUFFIX],
    };
    for suffix in stale {
        if let Ok(file) = job.output.sibling(suffix) {
            file.remove();
        }
    }
    let Err(e) = written else {
        return;
    };
    let when = humantime::format_rfc3339_seconds(SystemTime::now());
    let line = format!("{when} container {}: {}\n", job.id, one_line(e));
    let told = job
        .output
        .sibling(FAILED_SUFFIX)
        .and_then(|file| file.write(line.as_bytes()));
    if let Err(e) = told {
        log::error!("container {}: {}", job.id, one_line(&e));
    }
}
