//! Figure 2: where the attach time goes, so the next optimisation is visible: the first
//! tracer on the node (loads and verifies the shared programs) against one that joins them.
//! The reference for creating the loader is aya's own `EbpfLoader::new()`, which parses the
//! kernel's BTF.

use std::time::Instant;

use anyhow::Result;
use aya::EbpfLoader;
use hook::{
    ebpf::{
        caps::CapWatch, container::Container, programs::AttachPoint, recorder::Recorder,
        slot::Window,
    },
    record::launch::{self, GatedChild},
};

use crate::{
    report::{ms_since, Report, Samples},
    Plan,
};

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Every phase's samples, over the runs.
#[derive(Default)]
struct Phases {
    aya_default: Samples,
    scan: Samples,
    total: Samples,
    loader: Samples,
    offsets: Samples,
    object: Samples,
    verify: Samples,
    links: Samples,
    register: Samples,
    join_total: Samples,
    join: Samples,
    join_register: Samples,
    /// How many programs the first tracer attached (5 with the capability programs).
    programs: usize,
    memory: Vec<(String, u64)>,
}

/// Needs a tokio runtime entered (the loading recorder forwards its logs on it).
pub fn measure(plan: &Plan, report: &mut Report) -> Result<()> {
    let first_init = launch::spawn_gated(&["/bin/true".into()])?;
    let later_init = launch::spawn_gated(&["/bin/true".into()])?;
    let mut phases = Phases::default();
    for _ in 0..plan.attach_runs {
        one_run(&mut phases, &first_init, &later_init)?;
    }
    drop((first_init, later_init));
    report_phases(report, phases);
    Ok(())
}

/// aya's own loader, the BTF scan, a first tracer (it loads), a later one (it joins).
fn one_run(phases: &mut Phases, first_init: &GatedChild, later_init: &GatedChild) -> Result<()> {
    let label = crate::label("bench");
    let attach = |init: &GatedChild| {
        let target = Container::command(init.pid());
        Recorder::attach(
            &target,
            Window::Workload,
            AttachPoint::RawTracepoint,
            &label,
        )
    };
    let started = Instant::now();
    drop(EbpfLoader::new());
    phases.aya_default.push(ms_since(started));
    let started = Instant::now();
    hook::ebpf::offsets::scan_kernel_btf().map_err(anyhow::Error::msg)?;
    phases.scan.push(ms_since(started));

    let started = Instant::now();
    let first = attach(first_init)?;
    phases.total.push(ms_since(started));
    anyhow::ensure!(
        first.loaded_programs(),
        "another tracer runs: stop it first"
    );
    phases.programs = match first.caps() {
        CapWatch::Unavailable(_) => 3,
        _ => 5,
    };
    let t = first.timings();
    for (samples, d) in [
        (&mut phases.loader, t.loader),
        (&mut phases.offsets, t.offsets),
        (&mut phases.object, t.object),
        (&mut phases.verify, t.verify),
        (&mut phases.links, t.attach),
        (&mut phases.register, t.register),
    ] {
        samples.push(ms(d));
    }
    if phases.memory.is_empty() {
        phases.memory = first.kernel_memory();
    }
    let started = Instant::now();
    let later = attach(later_init)?;
    phases.join_total.push(ms_since(started));
    let t = later.timings();
    phases.join.push(ms(t.join));
    phases.join_register.push(ms(t.register));
    Ok(())
}

fn report_phases(report: &mut Report, p: Phases) {
    let figure = "2 attach";
    let aya = Some(("aya EbpfLoader::new() (parses BTF)", &p.aya_default));
    let all = Some(("first container, whole", &p.total));
    let joined = Some(("later container, whole", &p.join_total));
    let programs = p.programs;
    let rows = [
        ("first container, whole".to_owned(), &p.total, None),
        ("create loader, kernel BTF hidden".into(), &p.loader, aya),
        (
            "aya EbpfLoader::new() (parses BTF)".into(),
            &p.aya_default,
            None,
        ),
        (
            // Every offset slot but the last, which says whether they were found.
            format!(
                "kernel struct offsets ({} fields, kept per boot)",
                hook::contract::OFFSET_SLOTS - 1
            ),
            &p.offsets,
            all,
        ),
        (
            "kernel struct offsets: the BTF scan, first load after boot".into(),
            &p.scan,
            aya,
        ),
        ("parse object, create maps".into(), &p.object, all),
        (
            format!("program load (verifier), {programs} programs"),
            &p.verify,
            all,
        ),
        (format!("attach, {programs} links"), &p.links, all),
        ("register the container".into(), &p.register, all),
        (
            "later container, whole (joins running programs)".into(),
            &p.join_total,
            all,
        ),
        (
            "later: open programs and maps by ID".into(),
            &p.join,
            joined,
        ),
        (
            "later: register the container".into(),
            &p.join_register,
            joined,
        ),
    ];
    for (name, samples, reference) in rows {
        report.add(figure, name, "ms", samples.clone(), reference);
    }
    report_memory(report, &p.memory);
}

/// Figure 3's kernel side: what the kernel charges for the shared maps, once per node, and the
/// share of the per-slot maps that one traced container holds.
fn report_memory(report: &mut Report, memory: &[(String, u64)]) {
    let kib = |bytes: u64| Samples(vec![bytes as f64 / 1024.0]);
    let total: u64 = memory.iter().map(|(_, bytes)| bytes).sum();
    use hook::contract;
    let per_slot_maps = [
        contract::MAP_CONTAINERS,
        contract::MAP_SEEN,
        contract::MAP_INITS,
        contract::MAP_CGROUPS,
        contract::MAP_LOST,
        contract::MAP_OUT_OF_RANGE,
        contract::MAP_CAPS,
    ];
    let per_slot: u64 = memory
        .iter()
        .filter(|(name, _)| per_slot_maps.contains(&name.as_str()))
        .map(|(_, bytes)| bytes)
        .sum::<u64>()
        / u64::from(hook::contract::CONTAINER_SLOTS);
    let whole = kib(total);
    report.add(
        "3 memory",
        format!(
            "kernel: every map, whole node, any N up to {}",
            hook::contract::CONTAINER_SLOTS
        ),
        "KiB",
        whole.clone(),
        None,
    );
    report.add(
        "3 memory",
        "kernel: one container's slot of the per-slot maps",
        "KiB",
        kib(per_slot),
        Some(("whole node", &whole)),
    );
}
