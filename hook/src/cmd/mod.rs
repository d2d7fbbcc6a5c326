//! The subcommands, and how their errors reach the user.

mod emit;
pub mod nri;
pub mod oci;
pub mod profiles;
pub mod record;
pub mod status;
pub mod wrapper;

use hook::{
    record::{launch::LaunchError, RecordError},
    sys::errors,
};

/// One line: the outermost context plus its causes (see [`errors::one_line`]).
pub fn describe(err: &anyhow::Error) -> String {
    errors::one_line(err.as_ref())
}

/// A specific exit status for errors that have one (127: the command could not be run).
pub fn exit_code(err: &anyhow::Error) -> Option<i32> {
    err.chain().find_map(|e| {
        let launch = match e.downcast_ref::<RecordError>() {
            Some(RecordError::Run(launch)) => Some(launch),
            _ => e.downcast_ref::<LaunchError>(),
        };
        matches!(launch, Some(LaunchError::Exec { .. })).then_some(127)
    })
}
