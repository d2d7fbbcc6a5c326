//! `oci-seccomp-bpf-hook`: the binary edge. Parses arguments, sets up logging, runs the
//! command and turns errors into one clear line and an exit status.

mod cli;
mod cmd;

use clap::Parser;

/// Exit status when the tool itself failed (bad usage, no privileges, no BPF, I/O).
const EXIT_FAILURE: i32 = 2;

fn main() {
    let cli = cli::Cli::parse();
    init_logging(cli.verbose);
    let status = match cli.command {
        cli::Command::Record(args) => cmd::record::run(args),
    };
    match status {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("oci-seccomp-bpf-hook: {}", cmd::describe(&err));
            std::process::exit(cmd::exit_code(&err).unwrap_or(EXIT_FAILURE));
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .format_timestamp(None)
        .init();
}
