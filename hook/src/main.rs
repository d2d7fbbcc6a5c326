//! `oci-seccomp-bpf-hook`: the binary edge. Parses arguments, sets up logging, runs the
//! command and turns errors into one clear line and an exit status. Started under the name
//! `oci-seccomp-bpf-runtime` it is the runtime wrapper instead ([`cmd::wrapper`]).

mod cmd;

use clap::CommandFactory;
use hook::{cli, oci, sys::logging, wrapper};

/// Exit status when the tool itself failed (bad usage, no privileges, no BPF, I/O).
const EXIT_FAILURE: i32 = 2;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if wrapper::invoked_as_wrapper(&args) {
        cmd::wrapper::run(&args);
    }
    let mut cli = cli::Cli::parse_from_args(args).unwrap_or_else(|e| e.exit());
    logging::init(cli.log_level);
    let status = match cli.command.take() {
        Some(cli::Command::Record(args)) => cmd::record::run(args),
        Some(cli::Command::Status(args)) => cmd::status::run(&args),
        Some(cli::Command::Snapshot(args)) => cmd::profiles::snapshot(&args),
        Some(cli::Command::Diff(args)) => cmd::profiles::diff(&args),
        Some(cli::Command::Merge(args)) => cmd::profiles::merge(&args),
        Some(cli::Command::Convert(args)) => cmd::profiles::convert(&args),
        Some(cli::Command::Caps(args)) => cmd::status::caps(&args),
        Some(cli::Command::Nri(args)) => cmd::nri::run(&args, cmd::nri::hook_args(&cli)),
        None if cli.start => cmd::oci::run(oci::Options {
            timeout: cli.timeout,
            errno: cli.errno,
            names_only: cli.names_only,
            log_level: cli.log_level,
            allowed_output_dirs: cli.allowed_output_dir,
            allowed_input_dirs: cli.allowed_input_dir,
        }),
        None => {
            let _ = cli::Cli::command().print_help();
            std::process::exit(EXIT_FAILURE);
        }
    };
    match status {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            let line = cmd::describe(&err);
            eprintln!("oci-seccomp-bpf-hook: {line}");
            if cli.start {
                // runc puts a failing hook's stderr in its error; crun drops it, so the
                // reason also goes where an operator looks next.
                logging::to_syslog(cli.log_level);
                log::error!("{line}");
            }
            std::process::exit(cmd::exit_code(&err).unwrap_or(EXIT_FAILURE));
        }
    }
}
