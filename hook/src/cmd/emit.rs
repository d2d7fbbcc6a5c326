//! Writing a profile where and as the user asked: JSON or a SeccompProfile resource, to a file
//! (atomically) or stdout. Shared by `record`, `snapshot`, `merge` and `convert`.

use std::{io::Write, path::Path};

use anyhow::{Context, Result};
use hook::{
    cli::{Format, FormatArgs},
    profile::{allowed::AllowedDirs, write::Output, Profile},
    tools::spo,
};

/// Opens `path` for writing, checked before any work is done.
pub fn open(path: Option<&Path>) -> Result<Option<Output>> {
    path.map(|path| Output::open(path, &AllowedDirs::default()))
        .transpose()
        .map_err(Into::into)
}

/// `profile` in `format`, to `output` or stdout.
pub fn write(profile: &Profile, format: &FormatArgs, output: Option<&Output>) -> Result<()> {
    let bytes = match format.format {
        Format::Json => profile.to_bytes(),
        Format::Spo => {
            let name = match (&format.name, output) {
                (Some(name), _) => name.clone(),
                (None, Some(output)) => spo::name_from(output.path()),
                (None, None) => "recorded".into(),
            };
            let converted = spo::convert(profile.as_json(), &name)?;
            for warning in &converted.warnings {
                eprintln!("oci-seccomp-bpf-hook: warning: {warning}");
            }
            converted.yaml.into_bytes()
        }
    };
    match output {
        Some(output) => output.write(&bytes)?,
        None => std::io::stdout()
            .write_all(&bytes)
            .context("cannot write the profile to stdout")?,
    }
    Ok(())
}
