//! `cargo xtask vm-test`: boots Debian's kernels under qemu (pure emulation: this machine's KVM
//! cannot run stock kernels) with the host's root shared read-only, and runs a `record` smoke
//! and the privileged tests that need no container runtime inside. One line per kernel.

mod initramfs;
mod kernel;

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use wait_timeout::ChildExt;

pub use kernel::{Kernel, MATRIX};

use crate::{deps, util};

/// The test binaries run inside: `record` itself, and the shared programs.
const TESTS: [&str; 3] = ["record", "programs", "caps"];

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

/// Builds what the VMs run, then boots each of `boots` in turn.
pub fn run_matrix(boots: &[Boot]) -> Result<Vec<Outcome>> {
    deps::ensure_lean(&deps::for_vm_tests(), "the kernel matrix")?;
    let work = util::target_dir().join("vm");
    std::fs::create_dir_all(&work)?;
    let script = work.join("run.sh");
    std::fs::write(&script, script_text(&test_binaries()?))?;
    let busybox =
        deps::which("busybox").context("busybox (static) is needed for the VM's initramfs")?;
    let mut outcomes = Vec::new();
    for boot in boots {
        let unpacked = boot.kernel.unpacked(&work.join("kernels"))?;
        let initrd = work.join(format!("{}.cpio", boot.kernel.suite));
        initramfs::write(&initrd, &busybox, &unpacked.modules, &script)?;
        let outcome = run_one(boot, &unpacked.vmlinuz, &initrd, &work)?;
        eprintln!("{outcome}");
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// The shell script the VM's init switches to (with the host's /bin/sh).
fn script_text(tests: &[PathBuf]) -> String {
    let hook = util::target_dir().join("debug/oci-seccomp-bpf-hook");
    let tests: Vec<String> = tests.iter().map(|t| format!("'{}'", t.display())).collect();
    format!(
        r#"# The host's /tmp stays visible (the workspace may be there); scratch goes to /run's tmpfs.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/run/tmp TMPDIR=/run/tmp CI=true RUST_BACKTRACE=1
mkdir -p /run/tmp
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
    "$t" --test-threads=2 --color=never
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
        hook = hook.display(),
        tests = tests.join(" "),
    )
}

/// Paths of the `TESTS` binaries, built if needed (`cargo test --no-run`).
fn test_binaries() -> Result<Vec<PathBuf>> {
    let mut cmd = util::cargo_command();
    cmd.args(["test", "--no-run", "--message-format=json", "-p", "hook"]);
    for test in TESTS {
        cmd.args(["--test", test]);
    }
    let out = cmd
        .current_dir(util::workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo test --no-run")?;
    if !out.status.success() {
        bail!("building the tests for the VM failed");
    }
    let binaries: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| TESTS.iter().any(|t| m["target"]["name"] == *t))
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .collect();
    if binaries.len() != TESTS.len() {
        bail!(
            "expected {} test binaries from cargo, found {binaries:?}",
            TESTS.len()
        );
    }
    Ok(binaries)
}

/// Boots `vmlinuz` with `initrd`, keeps the console in WORK/<kernel>.log, reads the result.
fn run_one(boot: &Boot, vmlinuz: &Path, initrd: &Path, work: &Path) -> Result<Outcome> {
    let mut append = String::from("console=ttyS0 panic=-1 quiet");
    if boot.lockdown {
        append.push_str(" lockdown=confidentiality");
    }
    let label = match boot.lockdown {
        false => format!("kernel {}", boot.kernel.name),
        true => format!("kernel {} lockdown=confidentiality", boot.kernel.name),
    };
    let log_path = work.join(format!(
        "{}{}.log",
        boot.kernel.name,
        if boot.lockdown { "-lockdown" } else { "" }
    ));
    let started = Instant::now();
    let mut child = Command::new(deps::qemu_system())
        .args(["-accel", "tcg", "-cpu", "max", "-smp", "2", "-m", "1536"])
        .args(["-nographic", "-no-reboot", "-nic", "none"])
        .arg("-kernel")
        .arg(vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(&append)
        .arg("-virtfs")
        .arg(format!(
            "local,path=/,mount_tag={},security_model=none,readonly=on",
            initramfs::MOUNT_TAG
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", deps::qemu_system()))?;
    // The console goes to the log as it comes, so a hang can be watched.
    let log = std::sync::Arc::new(std::sync::Mutex::new(std::fs::File::create(&log_path)?));
    let (send, lines) = mpsc::channel();
    let stdout = child.stdout.take().context("qemu's stdout is piped")?;
    let stderr = child.stderr.take().context("qemu's stderr is piped")?;
    for pipe in [
        Box::new(stdout) as Box<dyn std::io::Read + Send>,
        Box::new(stderr),
    ] {
        let (send, log) = (send.clone(), log.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Ok(mut file) = log.lock() {
                    let _ = writeln!(file, "{line}");
                }
                let _ = send.send(line);
            }
        });
    }
    drop(send);
    let finished = child.wait_timeout(BOOT_DEADLINE)?.is_some();
    if !finished {
        let _ = child.kill();
        let _ = child.wait();
    }
    // The readers end with qemu's pipes; a few seconds at most after it is gone.
    let mut console = Vec::new();
    let until = Instant::now() + Duration::from_secs(5);
    while let Ok(line) = lines.recv_timeout(until.saturating_duration_since(Instant::now())) {
        console.push(line);
    }
    let seconds = started.elapsed().as_secs();
    let mut outcome = judge(boot, &console);
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
fn judge(boot: &Boot, console: &[String]) -> Outcome {
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
        && tests.len() == TESTS.len()
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
