//! `status`: the traced containers on this node and the shared programs; `caps`: capability
//! masks, a process's sets, a traced container's use.

use anyhow::{Context, Result};
use hook::{
    caps::set::CapSet,
    cli::{CapsArgs, StatusArgs},
    node::plugin,
    tools::{caps, status},
};

pub fn run(args: &StatusArgs) -> Result<i32> {
    let objects = status::read().context("cannot read the node's tracing status")?;
    let plugin = plugin::read();
    if args.json {
        let mut json = status::to_json(&objects);
        json["nri_plugin"] = plugin
            .as_ref()
            .map_or(serde_json::Value::Null, status::plugin_json);
        println!("{json}");
    } else {
        print!("{}", status::to_text(&objects));
        print!(
            "{}",
            plugin.as_ref().map(status::plugin_text).unwrap_or_default()
        );
    }
    Ok(0)
}

/// `caps HEX`, `caps --pid PID`, `caps --container ID`.
pub fn caps(args: &CapsArgs) -> Result<i32> {
    let text = match (&args.mask, args.pid, &args.container) {
        (Some(mask), ..) => {
            let set = CapSet::parse_hex(mask).with_context(|| {
                format!("{mask:?} is not a capability mask: give hex digits, e.g. 00000000a80425fb")
            })?;
            caps::decode(set)
        }
        (None, Some(pid), _) => caps::of_process(pid)
            .with_context(|| format!("cannot read the capability sets of process {pid}"))?,
        (None, None, Some(id)) => caps::of_container(id)
            .with_context(|| format!("cannot show the capabilities of container {id}"))?,
        (None, None, None) => unreachable!("clap requires one of HEX, --pid, --container"),
    };
    print!("{text}");
    Ok(0)
}
