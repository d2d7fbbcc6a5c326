//! Reading the profiles tests produce.

use std::path::Path;

/// The profile at `path` as JSON, and the names its SCMP_ACT_ALLOW rules allow.
pub fn allowed_names(path: &Path) -> (serde_json::Value, Vec<String>) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("profile {} not readable: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("profile is JSON");
    let names = json["syscalls"]
        .as_array()
        .expect("syscalls array")
        .iter()
        .filter(|rule| rule["action"] == "SCMP_ACT_ALLOW")
        .flat_map(|rule| rule["names"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect();
    (json, names)
}

/// The rules of `profile` (its JSON) that name `call` alone: an argument-recorded call's own
/// rules (one per value, or one for its flags, or one allowing any value).
pub fn rules_of<'a>(profile: &'a serde_json::Value, call: &str) -> Vec<&'a serde_json::Value> {
    profile["syscalls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rule| rule["names"] == serde_json::json!([call]))
        .collect()
}

/// The names a profile's SCMP_ACT_ALLOW rules allow (see [`allowed_names`]).
pub fn names(path: &Path) -> Vec<String> {
    allowed_names(path).1
}
