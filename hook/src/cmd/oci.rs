//! `-s`: the OCI hook. Reads the container's State from stdin; the stages are
//! [`hook::oci`]'s.

use anyhow::{Context, Result};
use hook::oci::{self, Options};
use oci_spec::runtime::State;

pub fn run(options: Options) -> Result<i32> {
    let state: State = serde_json::from_reader(std::io::stdin().lock())
        .context("cannot read the OCI state JSON from stdin (run it as an OCI hook)")?;
    oci::run(&state, &options)?;
    Ok(0)
}
