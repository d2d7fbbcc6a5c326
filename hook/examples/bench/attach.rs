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
    record::launch,
};

use crate::{
    report::{ms_since, Report, Samples},
    Plan,
};

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Needs a tokio runtime entered (the loading recorder forwards its logs on it).
pub fn measure(plan: &Plan, report: &mut Report) -> Result<()> {
    let first_init = launch::spawn_gated(&["/bin/true".into()])?;
    let later_init = launch::spawn_gated(&["/bin/true".into()])?;
    let label = crate::label("bench");
    let attach = |init: &launch::GatedChild| {
        Recorder::attach(
            &Container::command(init.pid()),
            Window::Workload,
            AttachPoint::RawTracepoint,
            &label,
        )
    };
    let [mut aya_default, mut loader, mut offsets, mut object, mut verify, mut links, mut register, mut total] =
        std::array::from_fn(|_| Samples::default());
    let [mut join_total, mut join, mut join_register] = std::array::from_fn(|_| Samples::default());
    let mut memory = Vec::new();
    let mut programs = 3;
    let mut scan = Samples::default();
    for _ in 0..plan.attach_runs {
        let started = Instant::now();
        drop(EbpfLoader::new());
        aya_default.push(ms_since(started));
        let started = Instant::now();
        hook::ebpf::offsets::scan_kernel_btf().map_err(anyhow::Error::msg)?;
        scan.push(ms_since(started));

        let started = Instant::now();
        let first = attach(&first_init)?;
        total.push(ms_since(started));
        anyhow::ensure!(
            first.loaded_programs(),
            "another tracer runs: stop it first"
        );
        if !matches!(first.caps(), CapWatch::Unavailable(_)) {
            programs = 5;
        }
        let t = first.timings();
        for (samples, d) in [
            (&mut loader, t.loader),
            (&mut offsets, t.offsets),
            (&mut object, t.object),
            (&mut verify, t.verify),
            (&mut links, t.attach),
            (&mut register, t.register),
        ] {
            samples.push(ms(d));
        }

        if memory.is_empty() {
            memory = first.kernel_memory();
        }
        let started = Instant::now();
        let later = attach(&later_init)?;
        join_total.push(ms_since(started));
        let t = later.timings();
        join.push(ms(t.join));
        join_register.push(ms(t.register));
        drop(later);
        drop(first);
    }
    let all = Some(("first container, whole", &total));
    let figure = "2 attach";
    report.add(figure, "first container, whole", "ms", total.clone(), None);
    report.add(
        figure,
        "create loader, kernel BTF hidden",
        "ms",
        loader,
        Some(("aya EbpfLoader::new() (parses BTF)", &aya_default)),
    );
    report.add(
        figure,
        "aya EbpfLoader::new() (parses BTF)",
        "ms",
        aya_default.clone(),
        None,
    );
    report.add(
        figure,
        "kernel struct offsets (4 fields, kept per boot)",
        "ms",
        offsets,
        all,
    );
    report.add(
        figure,
        "kernel struct offsets: the BTF scan, first load after boot",
        "ms",
        scan,
        Some(("aya EbpfLoader::new() (parses BTF)", &aya_default)),
    );
    report.add(figure, "parse object, create maps", "ms", object, all);
    report.add(
        figure,
        format!("program load (verifier), {programs} programs"),
        "ms",
        verify,
        all,
    );
    report.add(
        figure,
        format!("attach, {programs} links"),
        "ms",
        links,
        all,
    );
    report.add(figure, "register the container", "ms", register, all);
    report.add(
        figure,
        "later container, whole (joins running programs)",
        "ms",
        join_total.clone(),
        all,
    );
    let joined = Some(("later container, whole", &join_total));
    report.add(
        figure,
        "later: open programs and maps by ID",
        "ms",
        join,
        joined,
    );
    report.add(
        figure,
        "later: register the container",
        "ms",
        join_register,
        joined,
    );
    drop((first_init, later_init));
    report_memory(report, &memory);
    Ok(())
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
