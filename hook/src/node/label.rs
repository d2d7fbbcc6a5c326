//! What a live slot's file says of its container, written by its tracer when it registers:
//! its ID, where its profile goes, its init PID, since when, and the [`Recipe`] that turns its
//! recording into its profile, so that `status` and `snapshot` can do what the tracer will.

use std::{
    fs::File,
    io::{Read, Seek, Write},
    time::{SystemTime, UNIX_EPOCH},
};

use serde_json::{json, Value};

use crate::profile::Recipe;

/// What `status` shows of a container and what `snapshot` needs to make its profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// The container's ID (or `record`'s command).
    pub id: String,
    /// Where the profile goes (`-` for stdout).
    pub output: String,
    pub recipe: Recipe,
}

/// A slot whose tracer lives, as its file describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSlot {
    pub slot: u32,
    pub label: Label,
    /// The container's init, as the host sees it.
    pub pid: u32,
    /// Unix seconds when the tracer registered.
    pub since: u64,
}

/// Replaces what `file` holds with `label` for a container whose init is `pid`, from now.
pub fn write(file: &mut File, label: &Label, pid: u32) -> std::io::Result<()> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let value = json!({
        "id": label.id,
        "pid": pid,
        "output": label.output,
        "since": since,
        "recipe": label.recipe.to_json(),
    });
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(value.to_string().as_bytes())
}

/// What [`write()`] left in the file of slot `slot`; `None` when it is empty or unreadable.
pub fn read(file: &mut File, slot: u32) -> Option<LiveSlot> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    let label = Label {
        id: value["id"].as_str()?.to_owned(),
        output: value["output"].as_str()?.to_owned(),
        recipe: Recipe::from_json(&value["recipe"])?,
    };
    Some(LiveSlot {
        slot,
        label,
        pid: u32::try_from(value["pid"].as_u64()?).ok()?,
        since: value["since"].as_u64()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_survives_its_file() {
        let mut file = tempfile::tempfile().unwrap();
        let label = Label {
            id: "abc".into(),
            output: "/tmp/p.json".into(),
            recipe: Recipe {
                errno: 38,
                baseline: Some(json!({ "defaultAction": "SCMP_ACT_ALLOW" })),
                runtime: Some(crate::profile::runtime::Runtime::Crun),
            },
        };
        write(&mut file, &label, 42).unwrap();
        let live = read(&mut file, 3).unwrap();
        assert_eq!((live.slot, live.pid, &live.label), (3, 42, &label));
        file.set_len(0).unwrap();
        assert_eq!(
            read(&mut file, 3),
            None,
            "an empty file is a slot left clean"
        );
    }
}
