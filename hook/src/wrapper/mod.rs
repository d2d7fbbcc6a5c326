//! The runtime wrapper's life (`oci-seccomp-bpf-runtime`), for engines that never read hooks.d
//! (containerd, Docker, Kubernetes on containerd). Started as the OCI runtime, it reads what
//! it was asked ([`argv`]); on `create` or `run` of a bundle that asks for tracing it adds this
//! hook to the bundle's `config.json` ([`bundle`]); then it replaces itself with the real
//! runtime ([`runtime`]): argv, stdio, descriptors, signals and exit status untouched.

pub mod argv;
pub mod bundle;
pub mod runtime;

use std::{convert::Infallible, ffi::OsString, os::unix::process::CommandExt, path::Path};

use argv::Invocation;
use bundle::BundleError;
use runtime::RuntimeError;

/// The name the wrapper is installed under (a link to this binary): containerd's
/// `BinaryName` and Docker's `runtimes` take a path and no arguments.
pub const WRAPPER_NAME: &str = "oci-seccomp-bpf-runtime";

#[derive(Debug, thiserror::Error)]
pub enum WrapperError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("cannot find this binary to name it as the hook")]
    Hook(#[source] std::io::Error),
    #[error("cannot run the real runtime {path}")]
    Exec {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Whether `args[0]` names the wrapper rather than the hook.
pub fn invoked_as_wrapper(args: &[OsString]) -> bool {
    args.first()
        .and_then(|arg0| Path::new(arg0).file_name())
        .is_some_and(|name| name == WRAPPER_NAME)
}

/// What the runtime was asked, as far as the wrapper cares (for its error reports too).
pub fn invocation(args: &[OsString]) -> Invocation {
    argv::parse(args.get(1..).unwrap_or_default())
}

/// Adds the hook where asked, then becomes the real runtime; returns only on failure.
pub fn run(args: &[OsString], invocation: &Invocation) -> Result<Infallible, WrapperError> {
    let real = runtime::real_runtime()?;
    if invocation.creates() {
        let hook = std::env::current_exe().map_err(WrapperError::Hook)?;
        let bundle = invocation.bundle_dir().map_err(BundleError::Cwd)?;
        bundle::prepare(&bundle, &hook)?;
    }
    let source = std::process::Command::new(&real)
        .args(args.get(1..).unwrap_or_default())
        .exec();
    Err(WrapperError::Exec { path: real, source })
}
