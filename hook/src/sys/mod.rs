//! Process plumbing every life uses: [`fork`] (only while single-threaded), [`detach`] (a
//! child in its own session that reports readiness through a pipe), [`watch`] (a pidfd to
//! await an exit), [`logging`] (stderr or syslog) and [`errors`] (one line per error).

pub mod detach;
pub mod errors;
pub mod fork;
pub mod logging;
pub mod watch;
