//! `cargo xtask test`: the README's second command. Installs what the tests drive when it is
//! missing, builds what they run, runs every test binary to the end, every fuzz target for a
//! while, then the kernel matrix, and closes with `N passed, M failed, K skipped` and every
//! skip's reason.

use std::{
    collections::BTreeSet,
    io::{BufRead, BufReader, Write},
    path::Path,
    process::Stdio,
};

use anyhow::{bail, Context, Result};

use crate::{debian, deps, dist, ebpf, fuzz, leftovers, tally::Tally, util, variants, vm};

pub struct Options {
    /// Run the kernel matrix after the tests.
    pub vm: bool,
    /// Passed on to `cargo test`.
    pub cargo_args: Vec<String>,
}

pub fn run(options: &Options) -> Result<()> {
    deps::ensure(&deps::for_tests(), "the tests")?;
    deps::ensure_lean(&deps::for_tests_lean(), "the tests")?;
    if options.vm {
        for arch in vm::Arch::ALL {
            deps::ensure_lean(&arch.needs(), "the kernel matrix")?;
        }
    }
    ebpf::build(true)?;
    debian::ensure()?;
    debian::ensure_sid()?;
    debian::ensure_containerd_trixie()?;
    // The package test installs the .deb into a clean root; both machines' packages are
    // built, so a broken arm64 build fails here rather than at release.
    dist::run()?;
    // The end-to-end tests drive this binary through podman, runc and crun, and run the
    // benchmark example once (--quick); the version-skew test needs a second binary with
    // another object.
    variants::build(&[
        "build",
        "-p",
        "hook",
        "--bins",
        "--examples",
        "--features",
        "bench",
    ])?;
    let skip_log = crate::paths::skip_log(&util::target_dir());
    let _ = std::fs::remove_file(&skip_log);
    let mut tally = Tally::default();
    let started = std::time::SystemTime::now();
    let mounted = leftovers::mounts_under(&std::env::temp_dir());
    let cargo_ok = cargo_test(&options.cargo_args, &skip_log, &mut tally)?;
    let mut skipped = read_skips(&skip_log)?;
    after_suite((started, &mounted), &mut tally, &mut skipped);
    fuzzed(&mut tally)?;
    let mut kernels = Vec::new();
    if options.vm {
        for arch in vm::Arch::ALL {
            kernels.extend(vm::run_matrix(arch, &vm::matrix(arch.kernels()))?);
        }
        println!();
        for line in &kernels {
            println!("{line}");
        }
    }
    close(&tally, &skipped, &kernels, cargo_ok)
}

/// `cargo test --no-fail-fast ARGS`, echoing its output and counting its result lines.
fn cargo_test(args: &[String], skip_log: &Path, tally: &mut Tally) -> Result<bool> {
    let mut cmd = util::cargo_command();
    cmd.args(["test", "--no-fail-fast"])
        .args(args)
        .env(crate::paths::SKIP_LOG_VAR, skip_log)
        .current_dir(util::workspace_root())
        .stdout(Stdio::piped());
    eprintln!("+ {cmd:?}");
    let mut child = cmd.spawn().context("cannot run cargo test")?;
    let stdout = child.stdout.take().context("cargo's stdout is piped")?;
    let mut echo = std::io::stdout();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        tally.add_result_line(&line);
        let _ = writeln!(echo, "{line}");
    }
    Ok(child.wait()?.success())
}

/// One more result: nothing of the suite's containers is left behind (see [`leftovers`]), given
/// when it started and what was mounted then. Only root can look; elsewhere it is a skip (a
/// failure under CI=true, like any skip).
fn after_suite(
    before: (std::time::SystemTime, &BTreeSet<String>),
    tally: &mut Tally,
    skipped: &mut Vec<String>,
) {
    let name = "after the suite: nothing of gone containers left in /run/oci-seccomp-bpf-hook \
                or mounted under the temporary directory";
    tally.passed += 1;
    if !deps::is_root() {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            println!("test {name} ... FAILED (needs root, and CI is set)");
            tally.passed -= 1;
            tally.failed += 1;
        } else {
            skipped.push(format!("{name}: needs root"));
        }
        return;
    }
    let left = leftovers::after_suite(before.0, before.1);
    println!(
        "test {name} ... {}",
        if left.is_empty() { "ok" } else { "FAILED" }
    );
    for what in &left {
        println!("  {what}");
    }
    if !left.is_empty() {
        tally.passed -= 1;
        tally.failed += 1;
    }
}

/// Seconds each fuzz target runs in `cargo xtask test` (`cargo xtask fuzz` for longer).
const FUZZ_SECONDS: u32 = 15;

/// Every fuzz target for [`FUZZ_SECONDS`], one result each: passed with its executions, or
/// failed with the input that crashed it.
fn fuzzed(tally: &mut Tally) -> Result<()> {
    for outcome in fuzz::run_all(FUZZ_SECONDS)? {
        let verdict = match outcome.crash {
            None => "ok",
            Some(_) => "FAILED",
        };
        println!("test {} ... {verdict}", fuzz::line(&outcome, FUZZ_SECONDS));
        match outcome.crash {
            None => tally.passed += 1,
            Some(_) => tally.failed += 1,
        }
    }
    Ok(())
}

/// The skip log's lines (`TEST: REASON`), if any test wrote one.
fn read_skips(path: &Path) -> Result<Vec<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.lines().map(str::to_owned).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The closing line, each skip's reason after it; an error when anything failed.
fn close(tally: &Tally, skipped: &[String], kernels: &[vm::Outcome], cargo_ok: bool) -> Result<()> {
    let kernel_failures = kernels.iter().filter(|k| !k.passed).count() as u64;
    let (line, failed) = closing_line(
        tally,
        skipped.len() as u64,
        kernels.len() as u64,
        kernel_failures,
    );
    println!();
    println!("{line}");
    for skip in skipped {
        println!("  skipped {skip}");
    }
    if tally.ignored > 0 {
        println!(
            "  ({} ignored: workloads that other tests run)",
            tally.ignored
        );
    }
    if failed > 0 {
        bail!("{failed} failed");
    }
    if !cargo_ok {
        bail!("cargo test failed without a failing test (a build error or a crashed test binary: see above)");
    }
    Ok(())
}

/// `N passed, M failed, K skipped` over the test binaries and the boots, and M.
fn closing_line(tally: &Tally, skips: u64, boots: u64, boot_failures: u64) -> (String, u64) {
    // A skipped test returned early, so libtest counted it as passed.
    let passed = tally.passed.saturating_sub(skips) + boots - boot_failures;
    let failed = tally.failed + boot_failures;
    (
        format!("{passed} passed, {failed} failed, {skips} skipped"),
        failed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_are_not_passes_and_boots_count() {
        let tally = Tally {
            passed: 10,
            failed: 1,
            ignored: 0,
        };
        let (line, failed) = closing_line(&tally, 3, 4, 1);
        assert_eq!(line, "10 passed, 2 failed, 3 skipped");
        assert_eq!(failed, 2);
    }
}
