//! What the runtime was asked, read as runc and crun read their command line: global flags,
//! then the subcommand, then its flags. Only what the wrapper needs is kept: whether it
//! creates a container, the bundle, and where the runtime's log goes (containerd reports it).

use std::{ffi::OsString, path::PathBuf};

/// Global flags that take a value as the next argument (without `=`): runc's, and crun's
/// `--cgroup-manager`.
const GLOBAL_WITH_VALUE: [&str; 6] = [
    "--root",
    "--log",
    "--log-format",
    "--criu",
    "--rootless",
    "--cgroup-manager",
];

/// The wrapper's view of one runtime invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    pub subcommand: Option<String>,
    /// The last `--bundle`, `-bundle` or `-b` of the subcommand.
    pub bundle: Option<PathBuf>,
    /// `--log FILE`.
    pub log: Option<PathBuf>,
    /// `--log-format json`.
    pub log_json: bool,
}

impl Invocation {
    /// `create` and `run` are the subcommands whose bundle gets the hook.
    pub fn creates(&self) -> bool {
        matches!(self.subcommand.as_deref(), Some("create" | "run"))
    }

    /// The bundle directory: as given, else the working directory (as runc does).
    pub fn bundle_dir(&self) -> std::io::Result<PathBuf> {
        match &self.bundle {
            Some(bundle) => Ok(bundle.clone()),
            None => std::env::current_dir(),
        }
    }
}

/// Reads `args` (without argv\[0\]).
pub fn parse(args: &[OsString]) -> Invocation {
    let mut invocation = Invocation::default();
    let mut args = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        if invocation.subcommand.is_none() {
            if !flag.starts_with('-') {
                invocation.subcommand = Some(arg);
                continue;
            }
            let value = match inline {
                Some(value) => Some(value),
                None if GLOBAL_WITH_VALUE.contains(&flag.as_str()) => args.next(),
                None => None,
            };
            match (flag.as_str(), value) {
                ("--log", Some(log)) => invocation.log = Some(log.into()),
                ("--log-format", Some(format)) => invocation.log_json = format == "json",
                _ => {}
            }
        } else if matches!(flag.as_str(), "--bundle" | "-bundle" | "-b") {
            if let Some(bundle) = inline.or_else(|| args.next()) {
                invocation.bundle = Some(bundle.into());
            }
        }
    }
    invocation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> Invocation {
        let args: Vec<OsString> = line.split(' ').map(OsString::from).collect();
        parse(&args)
    }

    /// containerd 1.6's runc v2 shim, as captured on this machine.
    #[test]
    fn what_containerd_sends() {
        let i = parsed(
            "--root /run/containerd/runc/k8s.io --log /b/log.json --log-format json create \
             --bundle /state/k8s.io/ID --pid-file /b/init.pid ID",
        );
        assert_eq!(i.subcommand.as_deref(), Some("create"));
        assert!(i.creates());
        assert_eq!(i.bundle, Some(PathBuf::from("/state/k8s.io/ID")));
        assert_eq!(i.log, Some(PathBuf::from("/b/log.json")));
        assert!(i.log_json);
    }

    #[test]
    fn bundle_flags_in_every_spelling_the_last_wins() {
        assert_eq!(parsed("run -b=/a ID").bundle, Some("/a".into()));
        assert_eq!(
            parsed("create -bundle /a --bundle=/b ID").bundle,
            Some("/b".into())
        );
        assert_eq!(parsed("--debug --rootless=true run ID").bundle, None);
        assert_eq!(
            parsed("--debug --rootless=true run ID")
                .subcommand
                .as_deref(),
            Some("run")
        );
        // A value of a global flag is not the subcommand, nor is `--bundle` before it.
        let i = parsed("--root create start ID");
        assert_eq!(i.subcommand.as_deref(), Some("start"));
        assert!(!i.creates());
        assert!(!parsed("--version").creates());
        // crun's global flag with its value apart is not the subcommand either.
        let crun = parsed("--cgroup-manager disabled run -b /a ID");
        assert_eq!(
            (crun.subcommand.as_deref(), crun.bundle),
            (Some("run"), Some("/a".into()))
        );
        assert!(!parsed("delete --force ID").creates());
    }
}
