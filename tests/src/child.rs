//! Every child a test waits on has a deadline: a hook that never returns, a container that
//! never starts or a command that never ends fails the test with what it was waiting for,
//! instead of hanging the suite.

use std::{
    io::Read,
    process::{Child, Command, Output, Stdio},
    sync::mpsc::{self, Receiver},
    time::Duration,
};

use wait_timeout::ChildExt;

/// What a test waits for a runtime or a recorded command at most: generous for a shared,
/// noisy machine, short enough that a hang is reported within the CI limit.
pub const DEADLINE: Duration = Duration::from_secs(180);

/// `Command::output`, with [`DEADLINE`].
pub trait Finish {
    /// Runs to completion (stdin null, output captured) or fails the test naming `what`.
    fn finish(&mut self, what: &str) -> Output;
}

impl Finish for Command {
    fn finish(&mut self, what: &str) -> Output {
        let child = self
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: cannot start {:?}: {e}", self.get_program()));
        output_within(child, DEADLINE, what)
    }
}

/// Waits for `child` (whose stdout and stderr are piped, or not captured) for at most
/// `limit`; kills it then and fails the test with what it printed so far.
pub fn output_within(mut child: Child, limit: Duration, what: &str) -> Output {
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let waited = child.wait_timeout(limit).expect("waitpid on a child");
    let status = waited.unwrap_or_else(|| {
        let _ = child.kill();
        child.wait().expect("waitpid on a killed child")
    });
    // A grandchild may hold the pipes open after the child is gone: take what came by then.
    let rest = Duration::from_secs(10);
    let output = Output {
        status,
        stdout: stdout.recv_timeout(rest).unwrap_or_default(),
        stderr: stderr.recv_timeout(rest).unwrap_or_default(),
    };
    assert!(
        waited.is_some(),
        "{what} did not finish within {limit:?} (killed)\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Reads a pipe to its end on a thread of its own, so a child never blocks on a full pipe.
fn drain(pipe: Option<impl Read + Send + 'static>) -> Receiver<Vec<u8>> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        let _ = send.send(bytes);
    });
    receive
}
