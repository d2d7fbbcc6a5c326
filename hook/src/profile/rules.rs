//! Reading a profile's rules and architectures, the one way every part does: the names a rule
//! gives, whether it holds only under conditions, and which architectures a profile applies
//! to (`architectures`, or `archMap` entries with their sub-architectures), united across
//! profiles in the form podman accepts.

use std::collections::BTreeSet;

use serde_json::{json, Value};

/// The action written for an unconditional allow.
pub const ALLOW: &str = "SCMP_ACT_ALLOW";

/// The names a rule gives, in `names` or the older single `name`.
pub fn rule_names(rule: &Value) -> Vec<String> {
    let mut names = strings(&rule["names"]);
    names.extend(rule["name"].as_str().map(str::to_owned));
    names
}

/// Whether a rule applies only under conditions: argument filters, or host conditions (see
/// [`has_host_conditions`]).
pub fn is_conditional(rule: &Value) -> bool {
    rule["args"].as_array().is_some_and(|a| !a.is_empty()) || has_host_conditions(rule)
}

/// Whether a rule has `includes`/`excludes` conditions (capabilities, the host's
/// architecture, a minimum kernel) that are set.
pub fn has_host_conditions(rule: &Value) -> bool {
    ["includes", "excludes"].iter().any(|key| {
        rule[*key].as_object().is_some_and(|o| {
            o.values()
                .any(|v| !v.is_null() && v != &json!([]) && v != &json!(""))
        })
    })
}

/// Every `SCMP_ARCH_*` name `profile` applies to; `SCMP_ARCH_NATIVE` when it lists none.
pub fn arches_of(profile: &Value) -> BTreeSet<String> {
    let mut arches: BTreeSet<String> = strings(&profile["architectures"]).into_iter().collect();
    for entry in arch_map(profile) {
        arches.extend(entry["architecture"].as_str().map(str::to_owned));
        arches.extend(strings(&entry["subArchitectures"]));
    }
    if arches.is_empty() {
        arches.insert("SCMP_ARCH_NATIVE".into());
    }
    arches
}

/// The architectures of all `profiles`, as the field to write and its value: `archMap` entries
/// merged by architecture (sub-architectures unioned, other fields of the first entry kept)
/// when any profile has an `archMap` (podman refuses both fields in one profile, so plain
/// `architectures` then join the entry they are a sub-architecture of, or become entries);
/// else the `architectures` lists unioned in order. `None` when no profile lists any.
pub fn union_arches(profiles: &[&Value]) -> (Option<&'static str>, Value) {
    let mut plain: Vec<String> = Vec::new();
    for arch in profiles.iter().flat_map(|p| strings(&p["architectures"])) {
        if !plain.contains(&arch) {
            plain.push(arch);
        }
    }
    if profiles.iter().all(|p| arch_map(p).is_empty()) {
        return match plain.is_empty() {
            true => (None, Value::Null),
            false => (Some("architectures"), json!(plain)),
        };
    }
    let mut entries: Vec<Value> = Vec::new();
    for entry in profiles.iter().flat_map(|p| arch_map(p)) {
        let Some(arch) = entry["architecture"].as_str() else {
            continue;
        };
        match entries.iter().position(|e| e["architecture"] == arch) {
            Some(i) => add_subs(&mut entries[i], &strings(&entry["subArchitectures"])),
            None => entries.push(entry.clone()),
        }
    }
    for arch in plain {
        let covered = |e: &Value| {
            e["architecture"] == *arch || strings(&e["subArchitectures"]).contains(&arch)
        };
        if entries.iter().any(covered) {
            continue;
        }
        let parent = entries.iter().position(|e| {
            e["architecture"]
                .as_str()
                .is_some_and(|main| is_sub(main, &arch))
        });
        match parent {
            Some(i) => add_subs(&mut entries[i], &[arch]),
            None => entries.push(json!({ "architecture": arch, "subArchitectures": [] })),
        }
    }
    (Some("archMap"), Value::Array(entries))
}

/// A profile's `archMap` entries; none when it has no (or an empty) `archMap`.
fn arch_map(profile: &Value) -> &[Value] {
    profile["archMap"].as_array().map_or(&[], Vec::as_slice)
}

/// Appends to `entry`'s `subArchitectures` each of `subs` it lacks.
fn add_subs(entry: &mut Value, subs: &[String]) {
    if !entry["subArchitectures"].is_array() {
        entry["subArchitectures"] = json!([]);
    }
    if let Value::Array(list) = &mut entry["subArchitectures"] {
        for sub in subs {
            if !list.iter().any(|s| s == sub.as_str()) {
                list.push(json!(sub));
            }
        }
    }
}

/// Whether `sub` runs under `main` on one machine (containers-common's default `archMap`).
fn is_sub(main: &str, sub: &str) -> bool {
    matches!(
        (main, sub),
        ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86" | "SCMP_ARCH_X32")
            | ("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM")
    )
}

/// The strings of a JSON array (nothing when it is not one).
fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_are_unioned_respecting_archmap() {
        let plain = json!({ "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"] });
        let mapped = json!({ "archMap": [{ "architecture": "SCMP_ARCH_X86_64",
                                           "subArchitectures": ["SCMP_ARCH_X32"] }] });
        let (key, arches) = union_arches(&[&plain, &mapped]);
        assert_eq!(key, Some("archMap"));
        assert_eq!(
            arches,
            json!([{ "architecture": "SCMP_ARCH_X86_64",
                     "subArchitectures": ["SCMP_ARCH_X32", "SCMP_ARCH_X86"] }])
        );
        let other = json!({ "architectures": ["SCMP_ARCH_AARCH64"] });
        let (key, arches) = union_arches(&[&plain, &other]);
        assert_eq!(key, Some("architectures"));
        assert_eq!(
            arches,
            json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"])
        );
    }
}
