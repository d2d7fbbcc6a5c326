//! `status`: the traced containers on this node and the shared programs.

use anyhow::{Context, Result};
use hook::{cli::StatusArgs, tools::status};

pub fn run(args: &StatusArgs) -> Result<i32> {
    let objects = status::read().context("cannot read the node's tracing status")?;
    if args.json {
        println!("{}", status::to_json(&objects));
    } else {
        print!("{}", status::to_text(&objects));
    }
    Ok(0)
}
