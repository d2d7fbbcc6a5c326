//! One qemu run: the kernel and initramfs under pure emulation, with the host's root shared
//! read-only over virtio-9p, and its console read line by line.

use std::{
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use wait_timeout::ChildExt;

use super::{initramfs, Arch};

/// Starts `arch`'s qemu on `vmlinuz` and `initrd`, under `lockdown=confidentiality` if asked.
pub fn start(arch: Arch, lockdown: bool, vmlinuz: &Path, initrd: &Path) -> Result<Child> {
    let mut append = format!("console={} panic=-1 quiet", arch.console());
    if lockdown {
        append.push_str(" lockdown=confidentiality");
    }
    Command::new(arch.qemu())
        // One host thread for both vCPUs: with multi-threaded TCG a vCPU can run code another
        // one is patching (a static key flipped when a tracepoint gets its first program),
        // seen once as an `int3` Oops in `syscall_trace_enter` (x86_64 6.12). The arm64 empty
        // recordings (tasks whose syscalls no program saw, private programs included) fit the
        // same race; they have not come back since, under one host thread (20 boots) nor in 10
        // boots under multi-threaded TCG, so that part stays a likely cause, not a proven one.
        .args(["-accel", "tcg,thread=single"])
        .args(arch.machine())
        .args(["-smp", "2", "-m", "1536"])
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
        .with_context(|| format!("cannot start {}", arch.qemu()))
}

/// The console of `child` until it ends or `deadline` passes (then it is killed): whether it
/// ended by itself, and its lines. They go to `log_path` as they come, so a hang can be watched.
pub fn console(
    mut child: Child,
    log_path: &Path,
    deadline: Duration,
) -> Result<(bool, Vec<String>)> {
    let log = std::sync::Arc::new(std::sync::Mutex::new(std::fs::File::create(log_path)?));
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
    let finished = child.wait_timeout(deadline)?.is_some();
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
    Ok((finished, console))
}
