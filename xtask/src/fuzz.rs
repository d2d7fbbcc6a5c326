//! `cargo xtask fuzz [--seconds N]`: every target of `hook/fuzz` (cargo-fuzz, libFuzzer, with
//! nightly's AddressSanitizer) for N seconds each, from its corpus in the repository plus
//! what earlier runs found (`target/fuzz/corpus/TARGET`, the one libFuzzer writes to). Each
//! target's executions are counted; a crash is kept under `target/fuzz/artifacts/TARGET/` and
//! named with the command that replays it. `cargo xtask test` runs them too.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{bail, Context, Result};

use crate::{ebpf, util};

/// The cargo-fuzz `fuzz` is written for; installed when missing (about a minute, once).
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// What one target did.
pub struct Outcome {
    pub target: String,
    pub executions: u64,
    /// The input that crashed it, if one did.
    pub crash: Option<PathBuf>,
}

/// Builds the targets, then runs each for `seconds`; their outcomes, in order.
pub fn run_all(seconds: u32) -> Result<Vec<Outcome>> {
    ensure_cargo_fuzz()?;
    ebpf::build(true)?;
    util::run(fuzz_command().args(["build", "--fuzz-dir", "hook/fuzz"]))
        .context("the fuzz targets did not build")?;
    targets()?
        .into_iter()
        .map(|target| run_one(&target, seconds))
        .collect()
}

/// `cargo +nightly fuzz`, outside any rustup override that would pick stable.
fn fuzz_command() -> Command {
    let mut cmd = Command::new("rustup");
    cmd.args(["run", ebpf::TOOLCHAIN, "cargo", "fuzz"]);
    for var in ["RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "CARGO"] {
        cmd.env_remove(var);
    }
    cmd.current_dir(util::workspace_root());
    cmd
}

fn ensure_cargo_fuzz() -> Result<()> {
    let found = util::output("cargo", &["fuzz", "--version"]);
    if found.is_some_and(|v| v.contains(CARGO_FUZZ_VERSION)) {
        return Ok(());
    }
    util::cargo(&[
        "install",
        "cargo-fuzz",
        "--version",
        CARGO_FUZZ_VERSION,
        "--locked",
    ])
    .with_context(|| {
        format!("cannot install cargo-fuzz {CARGO_FUZZ_VERSION}: see cargo's message above")
    })
}

/// The targets `hook/fuzz/Cargo.toml` declares, as cargo-fuzz lists them.
fn targets() -> Result<Vec<String>> {
    let listed = util::output_of(fuzz_command().args(["list", "--fuzz-dir", "hook/fuzz"]))
        .context("cargo fuzz list failed: is hook/fuzz/Cargo.toml intact?")?;
    let targets: Vec<String> = listed.lines().map(str::to_owned).collect();
    if targets.is_empty() {
        bail!("hook/fuzz declares no targets");
    }
    Ok(targets)
}

/// One target for `seconds`, from its corpora; its executions counted from libFuzzer's final
/// statistics.
fn run_one(target: &str, seconds: u32) -> Result<Outcome> {
    let found = util::target_dir().join("fuzz/corpus").join(target);
    let artifacts = util::target_dir().join("fuzz/artifacts").join(target);
    for dir in [&found, &artifacts] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let seeds = util::workspace_root().join("hook/fuzz/corpus").join(target);
    let out = fuzz_command()
        .args(["run", "--fuzz-dir", "hook/fuzz", target])
        .arg(&found)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .stdout(Stdio::null())
        .output()
        .with_context(|| format!("cannot run the fuzz target {target}"))?;
    let log = String::from_utf8_lossy(&out.stderr);
    let executions = executions(&log);
    let crash = (!out.status.success()).then(|| crash_input(&log, &artifacts));
    if crash.is_some() {
        eprintln!("{log}");
    }
    Ok(Outcome {
        target: target.to_owned(),
        executions,
        crash,
    })
}

/// `stat::number_of_executed_units: N` from libFuzzer's final statistics; 0 when absent.
fn executions(log: &str) -> u64 {
    log.lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// The artifact libFuzzer wrote (`Test unit written to PATH`), else its directory.
fn crash_input(log: &str, artifacts: &Path) -> PathBuf {
    log.lines()
        .find_map(|l| l.split("Test unit written to ").nth(1))
        .map(|p| PathBuf::from(p.trim()))
        .unwrap_or_else(|| artifacts.to_owned())
}

/// `cargo xtask fuzz`: each target's line, then an error when any crashed.
pub fn run(seconds: u32) -> Result<()> {
    let outcomes = run_all(seconds)?;
    let mut crashed = 0;
    for outcome in &outcomes {
        println!("{}", line(outcome, seconds));
        crashed += usize::from(outcome.crash.is_some());
    }
    if crashed > 0 {
        bail!("{crashed} fuzz target(s) crashed: replay each with the command above");
    }
    Ok(())
}

/// One target's result as a line.
pub fn line(outcome: &Outcome, seconds: u32) -> String {
    match &outcome.crash {
        None => format!(
            "fuzz {}: {} executions in {seconds} s, 0 crashes",
            outcome.target, outcome.executions
        ),
        Some(input) => format!(
            "fuzz {}: CRASHED after {} executions on {}; replay: cargo +nightly fuzz run --fuzz-dir hook/fuzz {} {}",
            outcome.target,
            outcome.executions,
            input.display(),
            outcome.target,
            input.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executions_and_the_crashing_input_are_read_from_libfuzzers_log() {
        let log =
            "#2 INITED\nDone 1234 runs in 5 second(s)\nstat::number_of_executed_units: 1234\n";
        assert_eq!(executions(log), 1234);
        assert_eq!(executions("nothing"), 0);
        let crashed = "==1== ERROR\nartifact_prefix='/a/'; Test unit written to /a/crash-ab12\n";
        assert_eq!(
            crash_input(crashed, Path::new("/a")),
            PathBuf::from("/a/crash-ab12")
        );
    }
}
