//! `cargo xtask vm-test`: boots Debian's kernels under qemu (pure emulation: this machine's KVM
//! cannot run stock kernels) with the host's root shared read-only, and runs a `record` smoke
//! and the privileged tests that need no container runtime inside; on a foreign machine
//! (arm64), cross-built static binaries on that machine's busybox and runc, and the AArch32
//! test. One line per kernel.

mod arch;
mod binaries;
mod initramfs;
mod kernel;
mod qemu;
mod userland;

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};

pub use arch::Arch;
pub use kernel::Kernel;

use crate::{deps, util};

/// A boot, its tests included, takes 20-60 s under emulation; a hang ends here.
const BOOT_DEADLINE: Duration = Duration::from_secs(300);

/// How one boot went, as its line says.
pub struct Outcome {
    pub passed: bool,
    line: String,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.line)
    }
}

/// One boot: a kernel, and whether it runs in lockdown (where `record` must refuse in one
/// line naming the mode) or normally (smoke and tests).
#[derive(Clone, Copy)]
pub struct Boot {
    pub kernel: Kernel,
    pub lockdown: bool,
}

/// Every kernel of the matrix, and the newest again under `lockdown=confidentiality`.
pub fn matrix(kernels: &[Kernel]) -> Vec<Boot> {
    let mut boots: Vec<Boot> = kernels
        .iter()
        .map(|&kernel| Boot {
            kernel,
            lockdown: false,
        })
        .collect();
    if let Some(&kernel) = kernels.last() {
        boots.push(Boot {
            kernel,
            lockdown: true,
        });
    }
    boots
}

/// Builds what the VMs of `arch` run, then boots each of `boots` in turn.
pub fn run_matrix(arch: Arch, boots: &[Boot]) -> Result<Vec<Outcome>> {
    deps::ensure_lean(&arch.needs(), "the kernel matrix")?;
    let work = util::target_dir().join("vm");
    std::fs::create_dir_all(&work)?;
    let built = binaries::build(arch, &work)?;
    let script = work.join(format!("run-{}.sh", arch.name()));
    std::fs::write(&script, script_text(&built))?;
    let tree;
    let binds = binaries::binds();
    let userland = match arch.is_host() {
        true => initramfs::Userland::Host {
            busybox: &deps::which("busybox")
                .context("busybox (static) is needed for the VM's initramfs")?,
        },
        false => {
            tree = userland::tree(&work, arch)?;
            initramfs::Userland::Foreign {
                tree: &tree,
                binds: &binds,
            }
        }
    };
    let mut outcomes = Vec::new();
    for boot in boots {
        let unpacked = boot.kernel.unpacked(&work.join("kernels"), arch)?;
        let initrd = work.join(format!("{}-{}.cpio", boot.kernel.suite, arch.debian()));
        initramfs::write(&initrd, &userland, &unpacked.modules, &script)?;
        let outcome = run_one(arch, boot, &built, &unpacked.vmlinuz, &initrd, &work)?;
        eprintln!("{outcome}");
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// The shell script the VM's init runs (with the host's /bin/sh, or the foreign busybox's).
fn script_text(built: &binaries::Built) -> String {
    let hook = built.hook.display();
    let tests: Vec<String> = built
        .tests
        .iter()
        .map(|t| format!("'{}'", t.display()))
        .collect();
    let exports: String = built
        .env
        .iter()
        .map(|(k, v)| format!("export {k}='{v}'\n"))
        .collect();
    format!(
        r#"# The host's /tmp stays visible (the workspace may be there); scratch goes to /run's tmpfs.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/run/tmp TMPDIR=/run/tmp CI=true RUST_BACKTRACE=1
export OSBH_BIN='{hook}'
{exports}mkdir -p /run/tmp
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
cd /run/tmp
echo "OSBH-VM kernel $(uname -r)"
if grep -q lockdown= /proc/cmdline; then
  out=$('{hook}' record -o /run/tmp/l.json -- /bin/true 2>&1)
  echo "OSBH-VM refusal $? $(printf '%s\n' "$out" | wc -l) $out"
else
  '{hook}' record -o /run/tmp/smoke.json -- /bin/true && grep -q '"execve"' /run/tmp/smoke.json
  echo "OSBH-VM smoke $?"
  for t in {tests}; do
    "$t" --test-threads={threads} --color=never
    echo "OSBH-VM tests $? $t"
  done
  # A kernel whose BTF cannot be read: no capability program, said in one line, the profile
  # still written. (The offsets kept from the tests' loads go first.)
  rm -f /run/oci-seccomp-bpf-hook/@kernel-offsets
  mount --bind /dev/null /sys/kernel/btf/vmlinux
  err=$('{hook}' record -o /run/tmp/nobtf.json --caps /run/tmp/nobtf-caps.json -- /bin/true 2>&1 >/dev/null)
  rc=$?
  umount /sys/kernel/btf/vmlinux
  grep -q '"execve"' /run/tmp/nobtf.json && grep -q '"needed": null' /run/tmp/nobtf-caps.json \
    && grep -q 'capability checks are not recorded' /run/tmp/nobtf-caps.json
  echo "OSBH-VM nobtf $rc $? $(printf '%s\n' "$err" | grep -c .)"
fi
echo "OSBH-VM done"
poweroff -f
"#,
        tests = tests.join(" "),
        threads = built.test_threads,
    )
}

/// Boots `vmlinuz` with `initrd`, keeps the console in WORK/<kernel>.log, reads the result.
fn run_one(
    arch: Arch,
    boot: &Boot,
    built: &binaries::Built,
    vmlinuz: &Path,
    initrd: &Path,
    work: &Path,
) -> Result<Outcome> {
    let prefix = match arch.is_host() {
        true => String::new(),
        false => format!("{} ", arch.name()),
    };
    let label = match boot.lockdown {
        false => format!("{prefix}kernel {}", boot.kernel.name),
        true => format!(
            "{prefix}kernel {} lockdown=confidentiality",
            boot.kernel.name
        ),
    };
    let log_path = work.join(format!(
        "{}-{}{}.log",
        arch.name(),
        boot.kernel.name,
        if boot.lockdown { "-lockdown" } else { "" }
    ));
    let started = Instant::now();
    let child = qemu::start(arch, boot.lockdown, vmlinuz, initrd)?;
    let (finished, console) = qemu::console(child, &log_path, BOOT_DEADLINE)?;
    let seconds = started.elapsed().as_secs();
    let mut outcome = judge(boot, built.tests.len(), &console);
    if !finished {
        outcome.passed = false;
        outcome.line = format!("did not finish within {BOOT_DEADLINE:?}; {}", outcome.line);
    }
    outcome.line = format!(
        "{label}: {} {} ({seconds} s; console in {})",
        if outcome.passed { "ok:" } else { "FAILED:" },
        outcome.line,
        log_path.display()
    );
    Ok(outcome)
}

/// Reads the `OSBH-VM` lines the script printed.
fn judge(boot: &Boot, expected_tests: usize, console: &[String]) -> Outcome {
    let marks: Vec<&str> = console
        .iter()
        .filter_map(|l| l.split_once("OSBH-VM ").map(|(_, rest)| rest.trim_end()))
        .collect();
    let release = marks
        .iter()
        .find_map(|m| m.strip_prefix("kernel "))
        .unwrap_or("never reached the test script");
    let done = marks.contains(&"done");
    if boot.lockdown {
        return judge_refusal(release, done, &marks);
    }
    let smoke = marks.contains(&"smoke 0");
    let tests: Vec<&str> = marks
        .iter()
        .filter_map(|m| m.strip_prefix("tests "))
        .collect();
    let failed: Vec<&str> = tests
        .iter()
        .filter(|t| !t.starts_with("0 "))
        .copied()
        .collect();
    let mut tally = crate::tally::Tally::default();
    console.iter().for_each(|l| tally.add_result_line(l));
    // Exit 0, the files as expected, one line on stderr.
    let no_btf = marks.contains(&"nobtf 0 0 1");
    let passed = done
        && smoke
        && no_btf
        && tests.len() == expected_tests
        && failed.is_empty()
        && tally.failed == 0;
    let line = format!(
        "{release}: record smoke {}, without BTF {}, {} tests passed, {} failed{}",
        if smoke { "ok" } else { "FAILED" },
        if no_btf { "ok" } else { "FAILED" },
        tally.passed,
        tally.failed,
        if failed.is_empty() {
            String::new()
        } else {
            format!(" (in {failed:?})")
        },
    );
    Outcome { passed, line }
}

/// Under lockdown `record` must fail with one line that names the mode.
fn judge_refusal(release: &str, done: bool, marks: &[&str]) -> Outcome {
    let refusal = marks.iter().find_map(|m| m.strip_prefix("refusal "));
    let passed = done
        && refusal.is_some_and(|r| {
            let mut parts = r.splitn(3, ' ');
            let (status, lines, text) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
            status != Some("0") && lines == Some("1") && text.contains("confidentiality")
        });
    let said = refusal
        .and_then(|r| r.splitn(3, ' ').nth(2))
        .unwrap_or("nothing");
    Outcome {
        passed,
        line: format!("{release}: record refused with: {said}"),
    }
}
