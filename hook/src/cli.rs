//! The command-line interface, here in the library so the man page can be generated from it.

use std::{ffi::OsString, path::PathBuf, time::Duration};

use crate::{ebpf::programs::AttachPoint, profile::DEFAULT_ERRNO};
use clap::{Args, Parser, Subcommand};
use log::LevelFilter;

#[derive(Debug, Parser)]
#[command(
    name = "oci-seccomp-bpf-hook",
    version,
    about = "Record the system calls of a container or command with eBPF and write a seccomp profile",
    after_help = HOOK_HELP,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Run as an OCI hook (prestart/createRuntime and poststop): read the container's state
    /// from stdin and act on its io.containers.trace-syscall annotation
    #[arg(short = 's', long = "start")]
    pub start: bool,

    /// Hook mode: how long to wait for the tracer to attach (prestart) or to write the
    /// profile (poststop)
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    pub timeout: Duration,

    /// Hook mode: errno returned for syscalls the profile does not allow, unless the if:
    /// baseline sets defaultErrnoRet (38 is ENOSYS)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ERRNO)]
    pub errno: u32,

    /// Hook mode: write every syscall as one rule of names, without the argument rules that
    /// allow only the socket families, clone/unshare flags, namespace types and personalities
    /// the container used (see the README's "Argument rules")
    #[arg(long)]
    pub names_only: bool,

    /// Hook mode: write profiles only inside DIR (repeatable). Set it in the hooks.d JSON
    /// args: the of: path comes from whoever may create a container
    #[arg(long, value_name = "DIR")]
    pub allowed_output_dir: Vec<PathBuf>,

    /// Hook mode: also accept if: baselines inside DIR that not every user may read
    /// (repeatable). Elsewhere a baseline must be world-readable: its content ends up in a
    /// file the requester chooses
    #[arg(long, value_name = "DIR")]
    pub allowed_input_dir: Vec<PathBuf>,

    /// Log level: error, warn, info, debug or trace (stderr: warn, syslog: info by default)
    #[arg(
        long,
        value_name = "LEVEL",
        env = "OCI_SECCOMP_BPF_HOOK_LOG",
        global = true
    )]
    pub log_level: Option<LevelFilter>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Parses `args`; `-s` (hook mode) and a subcommand exclude each other.
    pub fn parse_from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        use clap::{error::ErrorKind, CommandFactory};
        let cli = Self::try_parse_from(args)?;
        if cli.start && cli.command.is_some() {
            return Err(Self::command().error(
                ErrorKind::ArgumentConflict,
                "-s/--start (hook mode) cannot be combined with a subcommand",
            ));
        }
        Ok(cli)
    }
}

const HOOK_HELP: &str = "\
As an OCI hook, installed for the prestart and poststop stages with
  \"args\": [\"oci-seccomp-bpf-hook\", \"-s\"]
it traces every container started with the annotation
  io.containers.trace-syscall=of:/ABSOLUTE/output.json[;if:/ABSOLUTE/baseline.json][;caps:/ABSOLUTE/caps.json]
and writes the profile (and with caps:, the capability report) when the container's init
exits. Example:
  podman run --annotation io.containers.trace-syscall=of:/tmp/ls.json alpine ls /
  podman run --security-opt seccomp=/tmp/ls.json alpine ls /

Run as root: loading the eBPF program needs CAP_BPF and CAP_PERFMON, and record's PID namespace
needs CAP_SYS_ADMIN. After the hook returns, the tracer logs to syslog.";

fn seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err("the timeout must be between 0 and 3600 seconds".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command, record every system call it and its children make, write the profile
    #[command(after_help = RECORD_EXAMPLES)]
    Record(RecordArgs),
    /// Show the containers traced on this node and the shared eBPF programs (root)
    Status(StatusArgs),
    /// Write the profile recorded so far for a running traced container (root)
    Snapshot(SnapshotArgs),
    /// Compare two profiles: per architecture, what each allows that the other does not
    #[command(after_help = DIFF_HELP)]
    Diff(DiffArgs),
    /// Merge profiles: allow what any of them allows, keep every rule that blocks or restricts
    Merge(MergeArgs),
    /// Rewrite a profile in another format (a Kubernetes SeccompProfile resource)
    Convert(ConvertArgs),
    /// Decode a capability mask, show a process's capability sets, or what a traced container
    /// has used of its capabilities so far
    #[command(after_help = CAPS_HELP)]
    Caps(CapsArgs),
    /// Run as an NRI plugin (containerd 2.0+, CRI-O 1.30+; root): add the hook to each
    /// container whose pod asks, with no change to the runtime's configuration. The hook
    /// options given before `nri` (--allowed-output-dir, --errno, ...) are the hook's
    #[command(after_help = NRI_HELP)]
    Nri(NriArgs),
}

const NRI_HELP: &str = "\
One plugin per node, started before the pods it should see (a systemd unit or a DaemonSet:
see the README). A pod asks for a container with the annotation
  io.containers.trace-syscall/CONTAINER=of:/ABSOLUTE/output.json
(or for all its containers with io.containers.trace-syscall=...). Example:
  oci-seccomp-bpf-hook --allowed-output-dir /var/lib/seccomp-profiles nri";

#[derive(Debug, Args)]
pub struct NriArgs {
    /// The runtime's NRI socket
    #[arg(long, value_name = "PATH", default_value = crate::nri::DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// The name the plugin registers under
    #[arg(long, value_name = "NAME", default_value = "oci-seccomp-bpf-hook")]
    pub plugin_name: String,
    /// Its index: plugins are called in ascending order (two digits)
    #[arg(long, value_name = "NN", default_value = "10", value_parser = plugin_index)]
    pub plugin_index: String,
    /// Where the hook binary is on the node, as the runtime runs it (default: this binary;
    /// set it when the plugin runs in a container)
    #[arg(long, value_name = "PATH")]
    pub hook_path: Option<PathBuf>,
}

fn plugin_index(text: &str) -> Result<String, String> {
    match text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()) {
        true => Ok(text.to_owned()),
        false => Err(format!("{text:?} is not two digits (00 to 99)")),
    }
}

const CAPS_HELP: &str = "\
Examples:
  oci-seccomp-bpf-hook caps 00000000a80425fb         (as capsh --decode, one line each)
  oci-seccomp-bpf-hook caps --pid 1234               (the five sets of process 1234)
  oci-seccomp-bpf-hook caps --container 3f2a         (a traced container: held, used, droppable)";

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct CapsArgs {
    /// A capability mask in hex, as /proc/PID/status and `capsh --decode` show it
    #[arg(value_name = "HEX")]
    pub mask: Option<String>,

    /// Show the capability sets of process PID
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,

    /// Show what a traced container holds, has used so far and could drop (its ID, or a unique
    /// beginning of it)
    #[arg(long, value_name = "ID")]
    pub container: Option<String>,
}

const DIFF_HELP: &str = "\
Exit status: 0 when both allow the same, 1 when they differ, 2 when an input is not a profile.
Example, a CI gate on a recording's growth:
  oci-seccomp-bpf-hook diff approved.json recorded.json";

/// What profiles are written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A seccomp profile (podman, CRI-O, runc, crun, the kubelet's localhost profiles)
    Json,
    /// A security-profiles-operator SeccompProfile resource, in YAML (kubectl apply -f)
    Spo,
}

#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,

    /// With --format spo: the resource's metadata.name (default: from the output file's name)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The container's ID, or a unique beginning of it (as `status` lists it)
    #[arg(value_name = "CONTAINER")]
    pub container: String,

    /// Write to FILE (atomically) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also write its capability report so far to FILE (JSON)
    #[arg(long, value_name = "FILE")]
    pub caps: Option<PathBuf>,

    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The reference profile
    #[arg(value_name = "A")]
    pub a: PathBuf,

    /// The profile compared with it
    #[arg(value_name = "B")]
    pub b: PathBuf,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The profiles to merge
    #[arg(value_name = "PROFILE", required = true)]
    pub inputs: Vec<PathBuf>,

    /// Write to FILE (atomically)
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// When one input allows a syscall that another blocks outright: keep the allow or the block
    #[arg(long, value_enum)]
    pub prefer: Option<crate::tools::merge::Prefer>,

    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The profile to convert
    #[arg(value_name = "FILE")]
    pub input: PathBuf,

    /// Write to FILE (atomically) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
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

    #[command(flatten)]
    pub format: FormatArgs,

    /// Write every syscall as one rule of names, without argument rules (see the README's
    /// "Argument rules")
    #[arg(long)]
    pub names_only: bool,

    /// Also write the capability report to FILE: the capabilities the command needed, those
    /// it tried without, and the flags to run it with exactly those (JSON)
    #[arg(long, value_name = "FILE")]
    pub caps: Option<PathBuf>,

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
        let cli = Cli::parse_from_args([
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
        let Some(Command::Record(args)) = cli.command else {
            panic!("record parsed")
        };
        assert_eq!(args.output, Some(PathBuf::from("/tmp/p.json")));
        assert_eq!(args.errno, 1);
        assert_eq!(args.command, ["sh", "-c", "true"]);
        assert_eq!(args.attach, AttachPoint::RawTracepoint);
    }

    #[test]
    fn hook_mode_takes_upstreams_flag() {
        let cli = Cli::parse_from_args(["oci-seccomp-bpf-hook", "-s"]).unwrap();
        assert!(cli.start && cli.command.is_none());
        assert_eq!(cli.timeout, Duration::from_secs(10));
        let cli = Cli::parse_from_args(["x", "--start", "--timeout", "2.5"]).unwrap();
        assert_eq!(cli.timeout, Duration::from_millis(2500));
        assert!(Cli::parse_from_args(["x", "-s", "--timeout", "0"]).is_err());
        assert!(Cli::parse_from_args(["x", "-s", "record", "--", "true"]).is_err());
        let cli = Cli::parse_from_args(["x", "--log-level", "debug", "record", "--", "true"]);
        assert_eq!(cli.unwrap().log_level, Some(LevelFilter::Debug));
    }

    #[test]
    fn status_takes_json() {
        let cli = Cli::parse_from_args(["oci-seccomp-bpf-hook", "status", "--json"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Status(StatusArgs { json: true }))
        ));
        assert!(Cli::parse_from_args(["x", "-s", "status"]).is_err());
    }

    #[test]
    fn record_requires_a_command() {
        assert!(Cli::parse_from_args(["oci-seccomp-bpf-hook", "record"]).is_err());
    }
}
