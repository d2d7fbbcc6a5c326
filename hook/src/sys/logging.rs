//! Where log lines go: stderr while a person or the runtime is listening (podman shows a
//! hook's stderr), syslog (ident `oci-seccomp-bpf-hook`) once the tracer has detached.

use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};
use syslog::{Facility, Formatter3164, Logger, LoggerBackend};

enum Sink {
    Stderr,
    Syslog(Logger<LoggerBackend, Formatter3164>),
    /// No syslog socket on this host: a detached tracer has nowhere to write.
    Nowhere,
}

static SINK: Mutex<Sink> = Mutex::new(Sink::Stderr);

struct HookLogger;

impl Log for HookLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        // aya's own debug output (every relocation) drowns ours: only at trace level.
        let noisy = metadata.target().starts_with("aya") && log::max_level() < LevelFilter::Trace;
        let limit = if noisy {
            LevelFilter::Warn
        } else {
            log::max_level()
        };
        metadata.level() <= limit
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = record.args().to_string();
        let mut sink = SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match &mut *sink {
            Sink::Stderr => {
                let level = record.level().as_str().to_ascii_lowercase();
                eprintln!("oci-seccomp-bpf-hook: {level}: {message}");
            }
            Sink::Syslog(syslog) => {
                let _ = match record.level() {
                    Level::Error => syslog.err(message),
                    Level::Warn => syslog.warning(message),
                    Level::Info => syslog.info(message),
                    Level::Debug | Level::Trace => syslog.debug(message),
                };
            }
            Sink::Nowhere => {}
        }
    }

    fn flush(&self) {}
}

static LOGGER: HookLogger = HookLogger;

/// Logs to stderr at `level` (warnings and errors when not given).
pub fn init(level: Option<LevelFilter>) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level.unwrap_or(LevelFilter::Warn));
}

/// From now on, logs to syslog at `level` (info and up when not given).
pub fn to_syslog(level: Option<LevelFilter>) {
    let formatter = Formatter3164 {
        facility: Facility::LOG_DAEMON,
        hostname: None,
        process: "oci-seccomp-bpf-hook".into(),
        pid: std::process::id(),
    };
    let sink = match syslog::unix(formatter) {
        Ok(logger) => Sink::Syslog(logger),
        Err(_) => Sink::Nowhere,
    };
    *SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = sink;
    log::set_max_level(level.unwrap_or(LevelFilter::Info));
}
