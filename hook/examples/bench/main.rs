//! What tracing costs: hook start, attach breakdown, tracer memory, per-syscall tax (host and
//! traced), scaling with N recorders, exit-to-file delay, the runtime wrapper's create. Run it as `cargo xtask bench [--quick]
//! [--json FILE]` (root); it prints a markdown table whose every ratio compares two things
//! measured in this one run, interleaved so machine noise hits both alike.

mod attach;
mod hook_run;
mod report;
mod tax;
mod wrapper;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// How many repeats each figure gets.
pub struct Plan {
    pub hook_runs: usize,
    pub attach_runs: usize,
    pub rounds: usize,
    pub getppid_calls: u64,
    pub scaling: Vec<usize>,
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Plan {
                hook_runs: 10,
                attach_runs: 10,
                rounds: 3,
                getppid_calls: 300_000,
                scaling: vec![1, 5, 20, 50],
            }
        } else {
            Plan {
                hook_runs: 30,
                attach_runs: 30,
                // Many short rounds: each paired difference is taken over seconds, not minutes.
                rounds: 24,
                getppid_calls: 500_000,
                scaling: vec![1, 5, 20, 50],
            }
        }
    }
}

/// How the bench's own recorders are named in `status` (they never write a profile).
pub fn label(id: &str) -> hook::node::label::Label {
    hook::node::label::Label {
        id: id.to_owned(),
        output: "-".into(),
        recipe: hook::profile::Recipe {
            errno: hook::profile::DEFAULT_ERRNO,
            baseline: None,
            runtime: None,
        },
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--loop-server") {
        return tax::loop_server(&args[2..]);
    }
    let (quick, json_path) = parse_args(&args[1..])?;
    let plan = Plan::new(quick);
    let hook = hook_binary()?;
    // Tracers outlive the hook that forks them; as a subreaper we inherit them and can find,
    // measure and reap them.
    // SAFETY: a plain prctl on this process.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) } != 0 {
        return Err(std::io::Error::last_os_error()).context("PR_SET_CHILD_SUBREAPER");
    }
    let dir = hook_run::scratch_dir()?;
    let small_file = dir.join("small");
    std::fs::write(&small_file, [b'x'; 64])?;

    let mut report = report::Report::default();
    // One runtime for the whole run: recorders and released processes wait on pidfds through it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let _enter = runtime.enter();
    hook_run::measure(&plan, &mut report, &runtime, &hook, &dir)?;
    attach::measure(&plan, &mut report)?;
    tax::measure(&plan, &mut report, &small_file)?;
    tax::scaling(&plan, &mut report, &small_file)?;
    wrapper::measure(&plan, &mut report, &hook, &dir)?;
    let header = machine();
    println!("{}\n", describe(&header, quick));
    print!("{}", report.markdown());
    if let Some(path) = json_path {
        std::fs::write(&path, serde_json::to_vec_pretty(&report.json(header))?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn parse_args(args: &[String]) -> Result<(bool, Option<PathBuf>)> {
    let mut quick = false;
    let mut json = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--json" => json = Some(PathBuf::from(rest.next().context("--json needs a FILE")?)),
            other => bail!("unknown argument {other:?}; usage: bench [--quick] [--json FILE]"),
        }
    }
    Ok((quick, json))
}

/// The release hook binary next to this example, or `$OSBH_BIN`.
fn hook_binary() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("OSBH_BIN") {
        return Ok(bin.into());
    }
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("no target directory")?;
    let bin = dir.join("oci-seccomp-bpf-hook");
    if !bin.exists() {
        bail!(
            "{} is missing: run `cargo xtask bench`, which builds it",
            bin.display()
        );
    }
    Ok(bin)
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_owned())
        .unwrap_or_default();
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    json!({ "cpu": cpu, "cpus": cpus, "kernel": kernel, "date": date })
}

fn describe(header: &Value, quick: bool) -> String {
    format!(
        "Machine: {} x {}; kernel {}; {}; {} run.",
        header["cpus"],
        header["cpu"].as_str().unwrap_or("?"),
        header["kernel"].as_str().unwrap_or("?"),
        header["date"].as_str().unwrap_or("?"),
        if quick { "--quick" } else { "full" }
    )
}
