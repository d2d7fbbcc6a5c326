//! Figure 2: where the attach time goes, so the next optimisation is visible. The reference for
//! creating the loader is aya's own `EbpfLoader::new()`, which parses the kernel's BTF.

use std::time::Instant;

use anyhow::Result;
use aya::EbpfLoader;
use hook::{
    container::Container,
    launch,
    recorder::{AttachPoint, Program, Recorder, Window},
};

use crate::{
    report::{ms_since, Report, Samples},
    Plan,
};

/// Needs a tokio runtime entered (recorders forward their logs on it).
pub fn measure(plan: &Plan, report: &mut Report) -> Result<()> {
    let held = launch::spawn_gated(&["/bin/true".into()])?;
    let target = Container::command(held.pid());
    let [mut aya_default, mut loader, mut object, mut verify, mut attach, mut total] =
        std::array::from_fn(|_| Samples::default());
    for _ in 0..plan.attach_runs {
        let started = Instant::now();
        drop(EbpfLoader::new());
        aya_default.push(ms_since(started));

        let started = Instant::now();
        let recorder = Recorder::attach(
            &target,
            Window::Workload,
            AttachPoint::RawTracepoint,
            Program::Recorder,
        )?;
        total.push(ms_since(started));
        let t = recorder.timings();
        loader.push(t.loader.as_secs_f64() * 1000.0);
        object.push(t.object.as_secs_f64() * 1000.0);
        verify.push(t.verify.as_secs_f64() * 1000.0);
        attach.push(t.attach.as_secs_f64() * 1000.0);
    }
    let all = Some(("whole attach", &total));
    report.add("2 attach", "whole attach", "ms", total.clone(), None);
    report.add(
        "2 attach",
        "create loader, kernel BTF hidden",
        "ms",
        loader,
        Some(("aya EbpfLoader::new() (parses BTF)", &aya_default)),
    );
    report.add(
        "2 attach",
        "aya EbpfLoader::new() (parses BTF)",
        "ms",
        aya_default,
        None,
    );
    report.add("2 attach", "parse object, create maps", "ms", object, all);
    report.add(
        "2 attach",
        "program load (verifier), 3 programs",
        "ms",
        verify,
        all,
    );
    report.add("2 attach", "attach, 3 links", "ms", attach, all);
    drop(held);
    Ok(())
}
