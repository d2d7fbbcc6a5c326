//! Command-line interface.

use std::{ffi::OsString, path::PathBuf};

use clap::{Args, Parser, Subcommand};
use osbh::{profile::DEFAULT_ERRNO, recorder::AttachPoint};

#[derive(Debug, Parser)]
#[command(
    name = "oci-seccomp-bpf-hook",
    version,
    about = "Record the system calls of a process tree with eBPF and write a seccomp profile",
    after_help = "Run as root: loading the eBPF program needs CAP_BPF and CAP_PERFMON, and \
                  creating the PID namespace needs CAP_SYS_ADMIN."
)]
pub struct Cli {
    /// More log output on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command, record every system call it and its children make, write the profile
    #[command(after_help = RECORD_EXAMPLES)]
    Record(RecordArgs),
}

const RECORD_EXAMPLES: &str = "\
Examples:
  oci-seccomp-bpf-hook record -o ls.json -- ls -l /
  oci-seccomp-bpf-hook record --errno 1 -- sh -c 'mkdir /tmp/x && rmdir /tmp/x'

The command runs as PID 1 of a new PID namespace, so only it and its descendants are recorded,
from before its first instruction until it exits. The exit status is the command's own
(128 + N when signal N killed it); 2 means the recording itself failed, 127 that the command
could not be run.";

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Write the profile to FILE (atomically, mode 0644) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// errno returned for syscalls the profile does not allow (defaultErrnoRet);
    /// 38 is ENOSYS, which lets libc fall back from newer syscalls
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ERRNO)]
    pub errno: u32,

    /// Kernel hook to record from; both see every syscall
    #[arg(long, value_enum, default_value_t = AttachPoint::RawTracepoint)]
    pub attach: AttachPoint,

    /// The command to run, with its arguments
    #[arg(
        value_name = "CMD",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn record_takes_command_after_double_dash() {
        let cli = Cli::try_parse_from([
            "oci-seccomp-bpf-hook",
            "record",
            "-o",
            "/tmp/p.json",
            "--errno",
            "1",
            "--",
            "sh",
            "-c",
            "true",
        ])
        .unwrap();
        let Command::Record(args) = cli.command;
        assert_eq!(args.output, Some(PathBuf::from("/tmp/p.json")));
        assert_eq!(args.errno, 1);
        assert_eq!(args.command, ["sh", "-c", "true"]);
        assert_eq!(args.attach, AttachPoint::RawTracepoint);
    }

    #[test]
    fn record_requires_a_command() {
        assert!(Cli::try_parse_from(["oci-seccomp-bpf-hook", "record"]).is_err());
    }
}
