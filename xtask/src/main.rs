//! Project chores: `cargo xtask <command>`. See `cargo xtask --help`.

mod ebpf;
mod install;
#[allow(dead_code)] // ebpf_sources is for hook's build script
mod paths;
mod setup;
mod skew;
mod util;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Build, set up and test oci-seccomp-bpf-hook"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what building the eBPF object needs: nightly's rust-src, LLVM, bpf-linker
    Setup,
    /// Build the eBPF object (nightly, bpfel-unknown-none, -Z build-std=core)
    BuildEbpf {
        /// Release profile (what `build` and `test` use)
        #[arg(long)]
        release: bool,
    },
    /// Build the eBPF object and the hook binary, both release
    Build,
    /// Build release and install the binary, the hooks.d JSON and the man page
    Install {
        /// Prefix: the binary goes to PREFIX/libexec/oci/hooks.d, the man page to
        /// PREFIX/share/man/man1
        #[arg(long, default_value = "/usr")]
        prefix: PathBuf,
        /// Directory for the hook JSON (podman and CRI-O read this one by default)
        #[arg(long, default_value = "/usr/share/containers/oci/hooks.d")]
        hooks_dir: PathBuf,
        /// Staging root prepended to every destination (packaging)
        #[arg(long)]
        destdir: Option<PathBuf>,
    },
    /// Measure what tracing costs (root): build release, run every figure once, print a
    /// markdown table of min/median/max with ratios to references measured in the same run
    Bench {
        /// A smoke run (well under 2 minutes); the full run takes several minutes
        #[arg(long)]
        quick: bool,
        /// Also write the figures as JSON to FILE
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Build the eBPF object, then run the test suite (extra arguments go to `cargo test`)
    Test {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Setup => setup::run(),
        Command::BuildEbpf { release } => ebpf::build(release).map(drop),
        Command::Build => {
            ebpf::build(true)?;
            util::cargo(&["build", "--release", "-p", "hook"])
        }
        Command::Install {
            prefix,
            hooks_dir,
            destdir,
        } => install::run(&install::Install {
            prefix,
            hooks_dir,
            destdir,
        }),
        Command::Bench { quick, json } => bench(quick, json),
        Command::Test { args } => {
            ebpf::build(true)?;
            // The end-to-end tests (tests/) drive this binary through podman and runc, and
            // run the benchmark example once (--quick) to keep it working.
            // ... and, for the version-skew test, a second binary with another object.
            skew::build(&[
                "build",
                "-p",
                "hook",
                "--bins",
                "--examples",
                "--features",
                "bench",
            ])?;
            let mut cmd = vec!["test"];
            cmd.extend(args.iter().map(String::as_str));
            util::cargo(&cmd)
        }
    }
}

fn bench(quick: bool, json: Option<PathBuf>) -> Result<()> {
    ebpf::build(true)?;
    util::cargo(&[
        "build",
        "--release",
        "-p",
        "hook",
        "--bins",
        "--example",
        "bench",
        "--features",
        "bench",
    ])?;
    let mut cmd = std::process::Command::new(util::target_dir().join("release/examples/bench"));
    if quick {
        cmd.arg("--quick");
    }
    if let Some(path) = json {
        // The bench runs from the workspace root; keep a relative FILE relative to the caller.
        cmd.arg("--json").arg(std::path::absolute(path)?);
    }
    util::run(&mut cmd)
}
