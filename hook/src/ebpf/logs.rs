//! The programs' rare log records (aya-log over a ring buffer), forwarded to `log`.

use aya::Ebpf;
use aya_log::EbpfLogger;
use tokio::{io::unix::AsyncFd, task::JoinHandle};

/// Forwards the programs' rare log records (out-of-range numbers, a full task map) to `log`.
/// Only the loading tracer does, for every container (records name the container's init):
/// a ring buffer has one reader. Best effort: a failure here is reported and recording goes on.
pub fn spawn_log_forwarder(ebpf: &mut Ebpf) -> Option<JoinHandle<()>> {
    let logger = match EbpfLogger::init(ebpf) {
        Ok(logger) => logger,
        Err(e) => {
            log::warn!("eBPF log records will not be shown: {e}");
            return None;
        }
    };
    // SAFETY: the logger owns its ring buffer fd, which stays open until the logger drops.
    let registered =
        unsafe { AsyncFd::register_with_interest(logger, tokio::io::Interest::READABLE) };
    let mut logger = match registered {
        Ok(fd) => fd,
        Err(e) => {
            log::warn!("eBPF log records will not be shown: {e}");
            return None;
        }
    };
    Some(tokio::spawn(async move {
        while let Ok(mut guard) = logger.readable_mut().await {
            guard.get_inner_mut().flush();
            guard.clear_ready();
        }
    }))
}
