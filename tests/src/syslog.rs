//! What the detached tracer tells syslog. Where no syslog daemon listens (CI machines, this
//! one), the test binds `/dev/log` itself for its duration; where one does, the journal is
//! asked. One capture at a time per test process.

use crate::child::Finish;
use std::{
    os::unix::net::UnixDatagram,
    path::Path,
    sync::{Mutex, MutexGuard},
    time::Duration,
};

const DEV_LOG: &str = "/dev/log";

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

pub struct SyslogCapture {
    socket: Option<UnixDatagram>,
    since: std::time::SystemTime,
    _turn: MutexGuard<'static, ()>,
}

impl SyslogCapture {
    pub fn start() -> Self {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let socket = if Path::new(DEV_LOG).exists() {
            assert!(
                crate::which("journalctl").is_some(),
                "{DEV_LOG} belongs to a syslog daemon that is not journald; read its log by hand"
            );
            None
        } else {
            let socket = UnixDatagram::bind(DEV_LOG).expect("bind /dev/log (root)");
            socket
                .set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            Some(socket)
        };
        Self {
            socket,
            since: std::time::SystemTime::now(),
            _turn: turn,
        }
    }

    /// Every line the hook sent since the capture started, waiting up to `timeout` for one
    /// that contains `needle`.
    pub fn lines_until(&self, needle: &str, timeout: Duration) -> Vec<String> {
        let mut lines = Vec::new();
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            match &self.socket {
                Some(socket) => lines.extend(received(socket)),
                None => {
                    std::thread::sleep(Duration::from_millis(200));
                    lines = self.journal();
                }
            }
            if lines.iter().any(|l| l.contains(needle)) {
                break;
            }
        }
        lines
    }

    fn journal(&self) -> Vec<String> {
        let since = self
            .since
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let out = std::process::Command::new("journalctl")
            .args(["-t", "oci-seccomp-bpf-hook", "-o", "cat", "--since"])
            .arg(format!("@{since}"))
            .finish("journalctl");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// The hook's datagrams waiting on `socket` (read until a 100 ms lull).
fn received(socket: &UnixDatagram) -> Vec<String> {
    let mut buf = vec![0u8; 8192];
    let mut lines = Vec::new();
    while let Ok(n) = socket.recv(&mut buf) {
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        if line.contains("oci-seccomp-bpf-hook") {
            lines.push(line);
        }
    }
    lines
}

impl Drop for SyslogCapture {
    fn drop(&mut self) {
        if self.socket.take().is_some() {
            let _ = std::fs::remove_file(DEV_LOG);
        }
    }
}
