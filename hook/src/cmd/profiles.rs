//! `snapshot`, `diff`, `merge`, `convert`: working with profiles after (or while) recording.

use std::path::Path;

use anyhow::{Context, Result};
use hook::{
    caps::report::Report,
    cli::{ConvertArgs, DiffArgs, MergeArgs, SnapshotArgs},
    profile::write::Output,
    profile::{read::read_profile, Profile},
    tools::{
        caps,
        diff::{self, Allowance},
        merge::{self, Input},
        snapshot,
    },
};

use serde_json::Value;

use super::emit;

pub fn snapshot(args: &SnapshotArgs) -> Result<i32> {
    let output = emit::open(args.output.as_deref())?;
    let caps_output = emit::open(args.caps.as_deref())?;
    let taken = snapshot::take(&args.container, caps_output.is_some())
        .with_context(|| format!("cannot snapshot container {}", args.container))?;
    log::info!("snapshot of container {}", taken.id);
    if let Some(notes) = &taken.notes {
        eprintln!("oci-seccomp-bpf-hook: warning: {notes}");
    }
    emit::write(&taken.profile, &args.format, output.as_ref())?;
    if let (Some(report), Some(out)) = (&taken.caps, &caps_output) {
        for why in report.warnings() {
            eprintln!("oci-seccomp-bpf-hook: warning: {why}");
        }
        out.write(&report.to_bytes())?;
    }
    // As `record` says it: the profile so far is partial, and the final one will not be written.
    if let Some(losses) = &taken.losses {
        eprintln!(
            "oci-seccomp-bpf-hook: the recording of {} is incomplete so far: {losses}",
            taken.id
        );
        return Ok(hook::record::EXIT_INCOMPLETE);
    }
    Ok(0)
}

/// 0: the same; 1: they differ; errors (2) when an input is not a profile.
pub fn diff(args: &DiffArgs) -> Result<i32> {
    if let (Some(a), Some(b)) = (report_at(&args.a)?, report_at(&args.b)?) {
        let (a_name, b_name) = (args.a.display().to_string(), args.b.display().to_string());
        let diff = caps::diff(&a, &b).map_err(anyhow::Error::msg)?;
        if args.json {
            println!("{}", caps::diff_json(&diff, &a_name, &b_name));
        } else {
            print!("{}", caps::diff_text(&diff, &a_name, &b_name));
        }
        return Ok(i32::from(!diff.is_empty()));
    }
    let a = Allowance::of(&read_profile(&args.a)?);
    let b = Allowance::of(&read_profile(&args.b)?);
    let difference = diff::diff(&a, &b);
    let (a_name, b_name) = (args.a.display().to_string(), args.b.display().to_string());
    if args.json {
        println!("{}", diff::to_json(&difference, &a_name, &b_name));
    } else {
        print!("{}", diff::to_text(&difference, &a_name, &b_name));
    }
    Ok(i32::from(
        !difference.values().all(diff::ArchDiff::is_empty),
    ))
}

pub fn merge(args: &MergeArgs) -> Result<i32> {
    let output = emit::open(Some(&args.output))?;
    if let Some(first) = args.inputs.first() {
        if report_at(first)?.is_some() {
            return merge_reports(args, output.as_ref());
        }
    }
    let inputs = args
        .inputs
        .iter()
        .map(|path| {
            Ok(Input {
                path: path.clone(),
                profile: read_profile(path)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let merged = merge::merge(&inputs, args.prefer)?;
    emit::write(&Profile::from_json(merged), &args.format, output.as_ref())?;
    Ok(0)
}

pub fn convert(args: &ConvertArgs) -> Result<i32> {
    let output = emit::open(args.output.as_deref())?;
    let profile = Profile::from_json(read_profile(&args.input)?);
    emit::write(&profile, &args.format, output.as_ref())?;
    Ok(0)
}

/// The capability report at `path`, when the file holds one (else it is read as a profile).
fn report_at(path: &Path) -> Result<Option<Report>> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(None);
    };
    let Ok(doc) = serde_json::from_slice::<Value>(&bytes) else {
        return Ok(None);
    };
    if !Report::looks_like(&doc) {
        return Ok(None);
    }
    Report::from_json(&doc).map(Some).with_context(|| {
        format!(
            "{} is a capability report with unknown names",
            path.display()
        )
    })
}

/// One report needing what any input needs: every input must be a report.
fn merge_reports(args: &MergeArgs, output: Option<&Output>) -> Result<i32> {
    let mut reports = Vec::new();
    for path in &args.inputs {
        let report = report_at(path)?.with_context(|| {
            format!(
                "{} is not a capability report: merge reports with reports",
                path.display()
            )
        })?;
        reports.push(report);
    }
    let merged = Report::union(&reports).map_err(anyhow::Error::msg)?;
    let output = output.context("merge needs -o FILE")?;
    output.write(&merged.to_bytes())?;
    Ok(0)
}
