//! `snapshot`, `diff`, `merge`, `convert`: working with profiles after (or while) recording.

use anyhow::{Context, Result};
use hook::{
    cli::{ConvertArgs, DiffArgs, MergeArgs, SnapshotArgs},
    profile::{read::read_profile, Profile},
    tools::{
        diff::{self, Allowance},
        merge::{self, Input},
        snapshot,
    },
};

use super::emit;

pub fn snapshot(args: &SnapshotArgs) -> Result<i32> {
    let output = emit::open(args.output.as_deref())?;
    let (id, profile) = snapshot::take(&args.container)
        .with_context(|| format!("cannot snapshot container {}", args.container))?;
    log::info!("snapshot of container {id}");
    emit::write(&profile, &args.format, output.as_ref())?;
    Ok(0)
}

/// 0: the same; 1: they differ; errors (2) when an input is not a profile.
pub fn diff(args: &DiffArgs) -> Result<i32> {
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
