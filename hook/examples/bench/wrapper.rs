//! Figure 7: what the runtime wrapper adds to a container create: `runc create` of one bundle
//! through the wrapper against runc itself, untraced (goal: within 1 ms of runc) and traced
//! (the hook's own start added). Each create is deleted at once; variants interleave.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::{
    report::{ms_since, Report, Samples},
    Plan,
};

/// One way of creating the container: the runtime run, and the bundle.
struct Variant {
    runtime: PathBuf,
    bundle: PathBuf,
}

pub fn measure(plan: &Plan, report: &mut Report, hook: &Path, dir: &Path) -> Result<()> {
    let rootfs = busybox_rootfs(&dir.join("wrapper-rootfs"))?;
    let wrapper = dir.join("oci-seccomp-bpf-runtime");
    let _ = std::fs::remove_file(&wrapper);
    std::os::unix::fs::symlink(hook, &wrapper)?;
    let profile = dir.join("wrapper-profile.json");
    let annotation = json!({ "io.containers.trace-syscall": format!("of:{}", profile.display()) });
    let variants = [
        Variant {
            runtime: "runc".into(),
            bundle: bundle(dir, "plain", &rootfs, None)?,
        },
        Variant {
            runtime: wrapper.clone(),
            bundle: bundle(dir, "plain", &rootfs, None)?,
        },
        Variant {
            runtime: wrapper,
            bundle: bundle(dir, "traced", &rootfs, Some(annotation))?,
        },
    ];
    let state = dir.join("wrapper-state");
    let mut samples: [Samples; 3] = Default::default();
    for round in 0..plan.hook_runs {
        for (v, variant) in variants.iter().enumerate() {
            let id = format!("osbh-bench-wrapper-{round}-{v}");
            samples[v].push(create_and_delete(variant, &state, &id)?);
            reap_orphans();
        }
    }
    let [runc, untraced, traced] = samples;
    let figure = "7 wrapper";
    report.add(figure, "runc create (reference)", "ms", runc.clone(), None);
    let over = Some(("runc create", &runc));
    report.add(
        figure,
        "create through the wrapper, untraced",
        "ms",
        untraced.clone(),
        over,
    );
    report.add(
        figure,
        "create through the wrapper, traced (the hook starts)",
        "ms",
        traced,
        over,
    );
    report.add(
        figure,
        "wrapper untraced - runc (goal <= 1 ms)",
        "ms",
        untraced.minus(&runc),
        None,
    );
    Ok(())
}

/// ms of `create` of `variant` as `id`; the container is deleted afterwards.
fn create_and_delete(variant: &Variant, state: &Path, id: &str) -> Result<f64> {
    let runtime = |args: &[&str]| {
        Command::new(&variant.runtime)
            .arg("--root")
            .arg(state)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
    };
    let bundle = variant.bundle.to_string_lossy();
    let started = Instant::now();
    let created = runtime(&["create", "--bundle", &bundle, id])?;
    let ms = ms_since(started);
    let _ = runtime(&["delete", "--force", id]);
    if !created.success() {
        bail!("{} create failed for {id}", variant.runtime.display());
    }
    Ok(ms)
}

/// A bundle named `name` in `dir` running `/bin/true` on `rootfs`, with `annotations`.
fn bundle(dir: &Path, name: &str, rootfs: &Path, annotations: Option<Value>) -> Result<PathBuf> {
    let bundle = dir.join(format!("bundle-{name}"));
    if !bundle.join("config.json").exists() {
        std::fs::create_dir_all(&bundle)?;
        let spec = Command::new("runc")
            .args(["spec", "--bundle"])
            .arg(&bundle)
            .status()?;
        anyhow::ensure!(spec.success(), "runc spec failed");
    }
    let path = bundle.join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path)?)?;
    config["root"] = json!({ "path": rootfs, "readonly": true });
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(["/bin/true"]);
    if let Some(annotations) = annotations {
        config["annotations"] = annotations;
    }
    std::fs::write(&path, config.to_string())?;
    Ok(bundle)
}

/// busybox (static) and `true`, with the mount points runc needs.
fn busybox_rootfs(root: &Path) -> Result<PathBuf> {
    for sub in ["bin", "proc", "sys", "dev", "tmp"] {
        std::fs::create_dir_all(root.join(sub))?;
    }
    let busybox = which("busybox").context("busybox (static) is needed for figure 7")?;
    std::fs::copy(busybox, root.join("bin/busybox"))?;
    let _ = std::os::unix::fs::symlink("busybox", root.join("bin/true"));
    Ok(root.to_owned())
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// Reaps the traced variant's tracers, which the bench (their subreaper) inherits.
fn reap_orphans() {
    let mut status = 0;
    // SAFETY: waitpid on any child without blocking; `status` is a live local.
    while unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } > 0 {}
}
