//! What our program adds to every syscall, against an empty program on the same attach point.
//!
//! `cargo run --release --example syscall_tax -- [ITERATIONS] [ROUNDS]` (as root).
//!
//! A tight `getppid` loop is timed with: nothing attached, the empty program, and ours, on both
//! attach points. "host" loops run in this process, outside the recorded PID namespace (the tax
//! every other process on the node pays); "traced" loops run in a helper that is PID 1 of the
//! recorded namespace. Variants are interleaved round by round so machine noise hits all alike.

use std::{
    ffi::OsString,
    io::{BufRead, BufReader, Write},
    os::fd::{FromRawFd, OwnedFd},
    time::Instant,
};

use osbh::{
    launch,
    pidns::PidNamespace,
    recorder::{AttachPoint, Program, Recorder, Window},
};

#[derive(Clone, Copy)]
enum Where {
    Host,
    Traced,
}

/// A measured configuration: its label, what is attached (if anything), where the loop runs.
type Variant = (&'static str, Option<(AttachPoint, Program)>, Where);

const VARIANTS: &[Variant] = &[
    ("nothing attached", None, Where::Host),
    (
        "empty raw_tp",
        Some((AttachPoint::RawTracepoint, Program::Empty)),
        Where::Host,
    ),
    (
        "ours raw_tp, host",
        Some((AttachPoint::RawTracepoint, Program::Recorder)),
        Where::Host,
    ),
    (
        "ours raw_tp, traced",
        Some((AttachPoint::RawTracepoint, Program::Recorder)),
        Where::Traced,
    ),
    (
        "empty tp",
        Some((AttachPoint::Tracepoint, Program::Empty)),
        Where::Host,
    ),
    (
        "ours tp, host",
        Some((AttachPoint::Tracepoint, Program::Recorder)),
        Where::Host,
    ),
    (
        "ours tp, traced",
        Some((AttachPoint::Tracepoint, Program::Recorder)),
        Where::Traced,
    ),
];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--loop-server") {
        return loop_server(&args[2], &args[3]);
    }
    let iterations: u64 = args.get(1).map_or(Ok(2_000_000), |a| a.parse())?;
    let rounds: usize = args.get(2).map_or(Ok(5), |a| a.parse())?;

    // Two pipes without O_CLOEXEC, so the helper inherits them across its execve.
    let (to_server_r, to_server_w) = raw_pipe()?;
    let (from_server_r, from_server_w) = raw_pipe()?;
    let exe: OsString = std::env::current_exe()?.into();
    let argv = [
        exe,
        "--loop-server".into(),
        to_server_r.to_string().into(),
        from_server_w.to_string().into(),
    ];
    let server = launch::spawn_gated(&argv)?;
    let target = PidNamespace::of_pid(server.pid())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let _enter = runtime.enter();
    let _running = server.release()?;
    // SAFETY: fresh descriptors from pipe(2), owned here from now on.
    let mut to_server = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(to_server_w) });
    let mut from_server = BufReader::new(std::fs::File::from(unsafe {
        OwnedFd::from_raw_fd(from_server_r)
    }));

    let mut samples = vec![Vec::new(); VARIANTS.len()];
    for _ in 0..rounds {
        for (i, (_, attach, place)) in VARIANTS.iter().enumerate() {
            let _recorder = match attach {
                Some((point, program)) => Some(Recorder::attach(
                    target,
                    Window::Everything,
                    *point,
                    *program,
                )?),
                None => None,
            };
            let ns = match place {
                Where::Host => getppid_loop(iterations),
                Where::Traced => {
                    writeln!(to_server, "{iterations}")?;
                    let mut line = String::new();
                    from_server.read_line(&mut line)?;
                    line.trim().parse()?
                }
            };
            samples[i].push(ns);
        }
    }
    writeln!(to_server, "0")?;
    report(&samples, iterations, rounds);
    Ok(())
}

/// Runs in the recorded namespace: loops on request, answers ns per call; 0 ends it.
fn loop_server(read_fd: &str, write_fd: &str) -> anyhow::Result<()> {
    // SAFETY: the descriptors were inherited from the parent for exactly this use.
    let input = unsafe { OwnedFd::from_raw_fd(read_fd.parse()?) };
    let mut output = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(write_fd.parse()?) });
    for line in BufReader::new(std::fs::File::from(input)).lines() {
        let n: u64 = line?.trim().parse()?;
        if n == 0 {
            break;
        }
        writeln!(output, "{}", getppid_loop(n))?;
    }
    Ok(())
}

fn getppid_loop(n: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        // SAFETY: getppid has no arguments and cannot fail.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn raw_pipe() -> anyhow::Result<(i32, i32)> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok((fds[0], fds[1]))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn report(samples: &[Vec<f64>], iterations: u64, rounds: usize) {
    println!("getppid loop, {iterations} calls x {rounds} rounds, ns per call\n");
    println!("| variant | min | median | max |");
    println!("|---|---|---|---|");
    let mut medians = Vec::new();
    for ((name, _, _), s) in VARIANTS.iter().zip(samples) {
        let mut s = s.clone();
        let min = s.iter().copied().fold(f64::INFINITY, f64::min);
        let max = s.iter().copied().fold(0.0, f64::max);
        let med = median(&mut s);
        medians.push(med);
        println!("| {name} | {min:.1} | {med:.1} | {max:.1} |");
    }
    let base = medians[0];
    println!("\nadded over nothing attached (medians), and ours vs the empty program:\n");
    for (floor, ours) in [(1, 2), (1, 3), (4, 5), (4, 6)] {
        let (f, o) = (medians[floor] - base, medians[ours] - base);
        println!(
            "- {}: +{o:.1} ns; {}: +{f:.1} ns; ours - empty = {:.1} ns; added-cost ratio {:.2}x",
            VARIANTS[ours].0,
            VARIANTS[floor].0,
            o - f,
            o / f
        );
    }
}
