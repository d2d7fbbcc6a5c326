//! Project chores: `cargo xtask <command>`. See `cargo xtask --help`.

mod apt;
mod cross;
mod debian;
mod deps;
mod dist;
mod ebpf;
mod fuzz;
mod install;
mod leftovers;
#[allow(dead_code)] // ebpf_sources is for hook's build script
mod paths;
mod setup;
mod tally;
mod test;
mod util;
mod variants;
mod vm;

use std::path::PathBuf;

use anyhow::{Context, Result};
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
    /// Everything a fresh machine needs, then build and (as root) install: nightly's rust-src,
    /// LLVM, bpf-linker, the release build, the binary, hooks.d JSON and man page in place
    Setup,
    /// Build the eBPF object (nightly, bpfel-unknown-none, -Z build-std=core)
    BuildEbpf {
        /// Release profile (what `build` and `test` use)
        #[arg(long)]
        release: bool,
    },
    /// Build the eBPF object and the hook binary, both release
    Build,
    /// Build release and install the binary, the hooks.d JSON, the man page and the bash, zsh
    /// and fish completions
    Install {
        /// Prefix: the binary goes to PREFIX/libexec/oci/hooks.d, the man page to
        /// PREFIX/share/man/man1, the completions under PREFIX/share
        #[arg(long, default_value = install::PREFIX)]
        prefix: PathBuf,
        /// Directory for the hook JSON (podman and CRI-O read this one by default)
        #[arg(long, default_value = install::HOOKS_DIR)]
        hooks_dir: PathBuf,
        /// Staging root prepended to every destination (packaging)
        #[arg(long)]
        destdir: Option<PathBuf>,
    },
    /// Under target/dist/: for x86_64 and arm64, a static (musl) release binary in a tarball of
    /// what `install` puts in place, and a Debian package of the same (made by cargo-deb, which
    /// is installed when missing)
    Dist,
    /// Run every fuzz target of hook/fuzz (cargo-fuzz, libFuzzer; nightly) for N seconds each,
    /// from its corpus; print each one's executions, fail on a crash (kept for replay)
    Fuzz {
        /// Seconds per target
        #[arg(long, default_value_t = 60)]
        seconds: u32,
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
    /// Install what the tests drive when missing (podman, runc, crun, busybox, gcc, qemu, ...),
    /// build, run every test, then the kernel matrix; close with `N passed, M failed, K
    /// skipped` and each skip's reason (as root; under CI=true a skip is a failure)
    Test {
        /// Leave out the kernel matrix (`vm-test`)
        #[arg(long)]
        no_vm: bool,
        /// Passed on to `cargo test` (e.g. a test name filter, or `-- --nocapture`)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Boot Debian's kernels under qemu (downloaded once into target/vm) and run a `record`
    /// smoke and the privileged `record` tests in each; the newest again under lockdown
    VmTest {
        /// 5.10 (Debian 11; x86_64 only), 6.1 (Debian 12), 6.12 (Debian 13), or all
        #[arg(long, default_value = "all")]
        kernel: String,
        /// The machine emulated: x86_64, aarch64 (arm64: binaries cross-built static, the
        /// AArch32 test), or all; this host's by default
        #[arg(long)]
        arch: Option<String>,
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
        Command::Dist => dist::run(),
        Command::Fuzz { seconds } => fuzz::run(seconds),
        Command::Bench { quick, json } => bench(quick, json),
        Command::Test { no_vm, args } => test::run(&test::Options {
            vm: !no_vm,
            cargo_args: args,
        }),
        Command::VmTest { kernel, arch } => vm_test(&kernel, arch.as_deref()),
    }
}

fn vm_test(kernel: &str, arch: Option<&str>) -> Result<()> {
    let arches = match arch {
        None => vec![vm::Arch::host()],
        Some("all") => vm::Arch::ALL.to_vec(),
        Some(name) => vec![vm::Arch::by_name(name)
            .with_context(|| format!("no machine {name}: use x86_64, aarch64 or all"))?],
    };
    ebpf::build(true)?;
    util::cargo(&["build", "-p", "hook", "--bins"])?;
    let mut outcomes = Vec::new();
    for arch in arches {
        let kernels = match kernel {
            "all" => arch.kernels().to_vec(),
            name => vec![vm::Kernel::by_name(name, arch).with_context(|| {
                let names: Vec<&str> = arch.kernels().iter().map(|k| k.name).collect();
                format!(
                    "no kernel {name} in the {} matrix: use {} or all",
                    arch.name(),
                    names.join(", ")
                )
            })?],
        };
        outcomes.extend(vm::run_matrix(arch, &vm::matrix(&kernels))?);
    }
    println!();
    for outcome in &outcomes {
        println!("{outcome}");
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    if failed > 0 {
        anyhow::bail!("{failed} of {} boots failed", outcomes.len());
    }
    Ok(())
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
