//! Figures 4 and 5: what every syscall pays while we are attached, on a process outside the
//! recorded namespace (host tax) and inside it (traced tax), against an empty program on the
//! same attach point (the floor any design pays), and how that grows with N recorders.
//!
//! "traced" loops run in a helper that is PID 1 of a recorded namespace; it is this same
//! binary started with `--loop-server` and answers one line per request.

use std::{
    ffi::{CString, OsString},
    io::{BufRead, BufReader, Write},
    os::fd::{FromRawFd, OwnedFd},
    path::Path,
    time::Instant,
};

use anyhow::{bail, Context, Result};
use hook::{
    ebpf::{
        container::Container,
        programs::{AttachPoint, Programs},
        recorder::Recorder,
        slot::Window,
    },
    record::launch::{self, GatedChild, Running},
};

use crate::{
    report::{Report, Samples},
    Plan,
};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// `getppid()` in a tight loop: the cheapest syscall, so the tax shows at its largest.
    Getppid,
    /// `open`/`read`/`close` of a small file: a realistic mix.
    Mix,
    /// `setuid(getuid())` as root: one granted capability check (CAP_SETUID) per syscall, so
    /// the capability program shows beside the syscall one.
    Setuid,
    /// `personality(0xffffffff)`, the query: as cheap as getppid, and one of the calls whose
    /// argument values a traced container's recording keeps.
    Personality,
}

impl Workload {
    const ALL: [Workload; 4] = [
        Workload::Getppid,
        Workload::Mix,
        Workload::Setuid,
        Workload::Personality,
    ];

    fn label(self) -> &'static str {
        match self {
            Workload::Getppid => "getppid",
            Workload::Mix => "open/read/close",
            Workload::Setuid => "setuid(getuid())",
            Workload::Personality => "personality(query)",
        }
    }

    fn iterations(self, plan: &Plan) -> u64 {
        match self {
            Workload::Getppid | Workload::Personality => plan.getppid_calls,
            // Three syscalls per iteration, each several times dearer than getppid.
            Workload::Mix => plan.getppid_calls / 10,
            // New credentials each time: dearer still.
            Workload::Setuid => plan.getppid_calls / 10,
        }
    }

    fn from_code(code: &str) -> Self {
        match code {
            "0" => Workload::Getppid,
            "1" => Workload::Mix,
            "2" => Workload::Setuid,
            _ => Workload::Personality,
        }
    }
}

/// The traced loop runner: PID 1 of its own PID namespace.
pub struct LoopServer {
    to: std::fs::File,
    from: BufReader<std::fs::File>,
    pub target: Container,
    _running: Running,
}

impl LoopServer {
    pub fn start(small_file: &Path) -> Result<Self> {
        // Pipes without O_CLOEXEC, so the helper inherits them across its execve.
        let (to_r, to_w) = raw_pipe()?;
        let (from_r, from_w) = raw_pipe()?;
        let exe: OsString = std::env::current_exe()?.into();
        let argv = [
            exe,
            "--loop-server".into(),
            to_r.to_string().into(),
            from_w.to_string().into(),
            small_file.as_os_str().to_owned(),
        ];
        let server = launch::spawn_gated(&argv)?;
        let target = Container::command(server.pid());
        let running = server.release()?;
        // SAFETY: fresh descriptors from pipe(2), owned here from now on.
        let to = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(to_w) });
        // SAFETY: as above.
        let from = BufReader::new(std::fs::File::from(unsafe { OwnedFd::from_raw_fd(from_r) }));
        Ok(Self {
            to,
            from,
            target,
            _running: running,
        })
    }

    fn run(&mut self, workload: Workload, iterations: u64) -> Result<f64> {
        writeln!(self.to, "{} {iterations}", workload as u8)?;
        let mut line = String::new();
        self.from.read_line(&mut line)?;
        line.trim()
            .parse()
            .with_context(|| format!("loop server answered {line:?}"))
    }
}

impl Drop for LoopServer {
    fn drop(&mut self) {
        let _ = writeln!(self.to, "quit");
    }
}

/// `--loop-server READ_FD WRITE_FD FILE`: loops on request, answers ns per syscall.
pub fn loop_server(args: &[String]) -> Result<()> {
    let [read_fd, write_fd, file] = args else {
        bail!("usage: --loop-server READ_FD WRITE_FD FILE");
    };
    // SAFETY: the descriptors were inherited from the parent for exactly this use.
    let input = unsafe { OwnedFd::from_raw_fd(read_fd.parse()?) };
    // SAFETY: as above.
    let mut output = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(write_fd.parse()?) });
    let file = CString::new(file.as_str())?;
    for line in BufReader::new(std::fs::File::from(input)).lines() {
        let line = line?;
        let mut words = line.split_whitespace();
        let (Some(kind), Some(n)) = (words.next(), words.next()) else {
            break;
        };
        let n: u64 = n.parse()?;
        writeln!(output, "{}", run_loop(Workload::from_code(kind), n, &file))?;
    }
    Ok(())
}

/// ns per syscall of `n` iterations of `workload`, in this process.
fn run_loop(workload: Workload, n: u64, file: &CString) -> f64 {
    let start = Instant::now();
    let syscalls = match workload {
        Workload::Getppid => {
            for _ in 0..n {
                // SAFETY: getppid has no arguments and cannot fail.
                unsafe { libc::syscall(libc::SYS_getppid) };
            }
            n
        }
        Workload::Mix => {
            let mut buf = [0u8; 256];
            for _ in 0..n {
                // SAFETY: a valid C string and buffer; the fd is closed right after.
                unsafe {
                    let fd = libc::open(file.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
                    libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
                    libc::close(fd);
                }
            }
            3 * n
        }
        Workload::Setuid => {
            for _ in 0..n {
                // SAFETY: setuid to the uid this thread has changes nothing (raw: this thread
                // alone), and getuid cannot fail.
                unsafe { libc::syscall(libc::SYS_setuid, libc::getuid()) };
            }
            n
        }
        Workload::Personality => {
            for _ in 0..n {
                // SAFETY: 0xffffffff only asks for the current persona; nothing changes.
                unsafe { libc::personality(0xffff_ffff) };
            }
            n
        }
    };
    start.elapsed().as_nanos() as f64 / syscalls as f64
}

/// What is attached during one measurement.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attached {
    Nothing,
    Empty,
    Ours,
    /// Ours, the containers registered without argument values (`--names-only`).
    OursNamesOnly,
}

/// ns per syscall for (workload, traced?) under one configuration, one sample per round.
#[derive(Default, Clone)]
struct Cell([[Samples; 2]; Workload::ALL.len()]);

pub fn measure(plan: &Plan, report: &mut Report, small_file: &Path) -> Result<()> {
    let mut server = LoopServer::start(small_file)?;
    let file = CString::new(small_file.as_os_str().as_encoded_bytes())?;
    let configs = [
        Attached::Nothing,
        Attached::Empty,
        Attached::Ours,
        Attached::OursNamesOnly,
    ];
    let mut cells = vec![Cell::default(); configs.len()];
    for round in 0..plan.rounds {
        // A B C, then C B A: a drift of the machine within a round hits every variant alike.
        for c in in_round_order(round, configs.len()) {
            let (config, cell) = (configs[c], &mut cells[c]);
            let _attached = attach_n(config, &[server.target])?;
            for (w, workload) in Workload::ALL.iter().enumerate() {
                let n = workload.iterations(plan);
                cell.0[w][0].push(run_loop(*workload, n, &file));
                cell.0[w][1].push(server.run(*workload, n)?);
            }
        }
    }
    for (w, workload) in Workload::ALL.iter().enumerate() {
        for (p, place) in ["host", "traced"].iter().enumerate() {
            let [nothing, empty, ours, names_only] = [0, 1, 2, 3].map(|c| cells[c].0[w][p].clone());
            let label = |what: &str| format!("{}, {place}: {what}", workload.label());
            report.add(
                "4 tax",
                label("nothing attached"),
                "ns/syscall",
                nothing.clone(),
                None,
            );
            report.add(
                "4 tax",
                label("empty program"),
                "ns/syscall",
                empty.clone(),
                Some(("nothing", &nothing)),
            );
            report.add(
                "4 tax",
                label("ours"),
                "ns/syscall",
                ours.clone(),
                Some(("nothing", &nothing)),
            );
            // The same programs: only a traced table call's argument value is kept or not.
            report.add(
                "4 tax",
                label("ours, no argument values kept (--names-only)"),
                "ns/syscall",
                names_only,
                Some(("ours", &ours)),
            );
            let floor = empty.minus(&nothing);
            report.add(
                "4 tax",
                label("ours - nothing (goal <= 1.2x floor)"),
                "ns/syscall",
                ours.minus(&nothing),
                Some(("empty - nothing", &floor)),
            );
        }
    }
    Ok(())
}

/// Figure 5: N containers traced at once, all by the node's one set of programs; the first is
/// the loop server, the others are held processes that never run. The floor is ONE empty
/// program, whatever N: what any design that attaches once pays.
pub fn scaling(plan: &Plan, report: &mut Report, small_file: &Path) -> Result<()> {
    let mut server = LoopServer::start(small_file)?;
    let file = CString::new(small_file.as_os_str().as_encoded_bytes())?;
    let max_n = plan.scaling.iter().copied().max().unwrap_or(1);
    let held: Vec<GatedChild> = (1..max_n)
        .map(|_| launch::spawn_gated(&["/bin/true".into()]))
        .collect::<Result<_, _>>()?;
    let mut targets = vec![server.target];
    for child in &held {
        targets.push(Container::command(child.pid()));
    }
    let n_calls = plan.getppid_calls / 2;
    // [n index][config: nothing, empty, ours][place]
    let empty = || -> [[Samples; 2]; 3] { Default::default() };
    let mut samples: Vec<_> = plan.scaling.iter().map(|_| empty()).collect();
    let configs = [Attached::Nothing, Attached::Empty, Attached::Ours];
    for round in 0..plan.rounds {
        for (i, &n) in plan.scaling.iter().enumerate() {
            for c in in_round_order(round, configs.len()) {
                let _attached = attach_n(configs[c], &targets[..n])?;
                samples[i][c][0].push(run_loop(Workload::Getppid, n_calls, &file));
                samples[i][c][1].push(server.run(Workload::Getppid, n_calls)?);
            }
        }
    }
    let added = |i: usize, p: usize| samples[i][2][p].minus(&samples[i][0][p]);
    for (i, &n) in plan.scaling.iter().enumerate() {
        for (p, place) in ["host", "traced"].iter().enumerate() {
            let floor = samples[i][1][p].minus(&samples[i][0][p]);
            report.add(
                "5 scaling",
                format!("N={n}, getppid, {place}: ours - nothing (goal <= 1.2x floor)"),
                "ns/syscall",
                added(i, p),
                Some(("one empty - nothing", &floor)),
            );
            if i > 0 {
                report.add(
                    "5 scaling",
                    format!("N={n}, getppid, {place}: against N=1 (goal <= 1.15x)"),
                    "ns/syscall",
                    added(i, p),
                    Some(("N=1", &added(0, p))),
                );
            }
        }
    }
    drop(held);
    Ok(())
}

/// Indices `0..n`, reversed on odd rounds.
fn in_round_order(round: usize, n: usize) -> Vec<usize> {
    let forward = 0..n;
    if round.is_multiple_of(2) {
        forward.collect()
    } else {
        forward.rev().collect()
    }
}

/// What `config` attaches: one empty program, or every target registered with the node's
/// shared programs. Everything detaches when the value drops.
fn attach_n(config: Attached, targets: &[Container]) -> Result<(Option<Programs>, Vec<Recorder>)> {
    let label = |n: usize| crate::label(&format!("bench {n}"));
    match config {
        Attached::Nothing => Ok((None, Vec::new())),
        Attached::Empty => Ok((
            Some(Programs::empty(AttachPoint::RawTracepoint)?),
            Vec::new(),
        )),
        Attached::Ours | Attached::OursNamesOnly => {
            let values = config == Attached::Ours;
            let recorders = targets.iter().enumerate().map(|(n, target)| {
                let target = &Container {
                    arg_values: values,
                    ..*target
                };
                let (window, point) = (Window::Everything, AttachPoint::RawTracepoint);
                Recorder::attach(target, window, point, &label(n)).context("cannot attach")
            });
            Ok((None, recorders.collect::<Result<_>>()?))
        }
    }
}

fn raw_pipe() -> Result<(i32, i32)> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok((fds[0], fds[1]))
}
