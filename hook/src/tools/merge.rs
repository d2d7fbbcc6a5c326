//! `oci-seccomp-bpf-hook merge`: one profile allowing what any of several allows (runs of one
//! application on several nodes, or with several inputs), without losing any rule that blocks
//! or restricts.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

use serde_json::{json, Map, Value};

use crate::profile::rules::{has_host_conditions, is_conditional, rule_names, union_arches, ALLOW};

/// What wins when one input allows a syscall that another blocks outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Prefer {
    Allow,
    Deny,
}

/// One input: its file (for messages) and its validated content.
pub struct Input {
    pub path: PathBuf,
    pub profile: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: give at least one profile")]
    Empty,
    #[error(
        "{a} and {b} have different default actions ({a_default}, {b_default}); merge profiles \
         of one kind"
    )]
    Defaults {
        a: PathBuf,
        b: PathBuf,
        a_default: String,
        b_default: String,
    },
    #[error(
        "{name} is allowed by {allowed} and blocked by {blocked}; choose with --prefer allow \
         or --prefer deny"
    )]
    Conflict {
        name: String,
        allowed: PathBuf,
        blocked: PathBuf,
    },
}

/// The union of what `inputs` allow. Every rule of any input that is not a plain allow (an
/// argument filter, a capability condition, an errno, a kill) is kept as it is, and a name
/// that an errno or kill rule restricts is not allowed outright. A conditional allow only
/// allows: where another input allows its name outright, it is moot and goes, and allows
/// that refuse unseen bits of one argument (`MASKED_EQ(mask, 0)`, as recorded bitmasks are
/// written) become one refusing only the bits every input refuses. The other top-level
/// fields come from the first input; architectures are unioned (see [`union_arches`]).
pub fn merge(inputs: &[Input], prefer: Option<Prefer>) -> Result<Value, MergeError> {
    let first = inputs.first().ok_or(MergeError::Empty)?;
    for other in &inputs[1..] {
        let (a, b) = (
            &first.profile["defaultAction"],
            &other.profile["defaultAction"],
        );
        if a != b {
            return Err(MergeError::Defaults {
                a: first.path.clone(),
                b: other.path.clone(),
                a_default: a.as_str().unwrap_or("?").into(),
                b_default: b.as_str().unwrap_or("?").into(),
            });
        }
    }
    let mut allowed: Vec<(String, &Path)> = Vec::new();
    let mut kept: Vec<(Value, &Path)> = Vec::new();
    for input in inputs {
        for rule in input.profile["syscalls"].as_array().into_iter().flatten() {
            if rule["action"] == ALLOW && !is_conditional(rule) {
                allowed.extend(
                    rule_names(rule)
                        .into_iter()
                        .map(|n| (n, input.path.as_path())),
                );
            } else if kept.iter().all(|(k, _)| k != rule) {
                kept.push((rule.clone(), input.path.as_path()));
            }
        }
    }
    resolve_conflicts(&mut allowed, &mut kept, prefer)?;
    union_bitmasks(&mut kept, &mut allowed);
    drop_moot_allows(&mut kept, &allowed);
    let restricted: BTreeSet<String> = kept.iter().flat_map(|(r, _)| rule_names(r)).collect();
    let names: BTreeSet<String> = allowed
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| !restricted.contains(name))
        .collect();
    let mut rules: Vec<Value> = kept.into_iter().map(|(rule, _)| rule).collect();
    if !names.is_empty() {
        rules.push(json!({ "names": names, "action": ALLOW }));
    }
    let mut doc: Map<String, Value> = first.profile.as_object().cloned().unwrap_or_default();
    doc.remove("architectures");
    doc.remove("archMap");
    let profiles: Vec<&Value> = inputs.iter().map(|i| &i.profile).collect();
    let (key, arches) = union_arches(&profiles);
    if let Some(key) = key {
        doc.insert(key.into(), arches);
    }
    doc.insert("syscalls".into(), Value::Array(rules));
    Ok(Value::Object(doc))
}

/// Removes from conditional allows the names `allowed` allows outright (and rules left with
/// none).
fn drop_moot_allows(kept: &mut Vec<(Value, &Path)>, allowed: &[(String, &Path)]) {
    let outright: BTreeSet<&str> = allowed.iter().map(|(n, _)| n.as_str()).collect();
    for (rule, _) in kept.iter_mut().filter(|(r, _)| r["action"] == ALLOW) {
        let names = rule_names(rule);
        if names.iter().any(|n| outright.contains(n.as_str())) {
            let left: Vec<String> = names
                .into_iter()
                .filter(|n| !outright.contains(n.as_str()))
                .collect();
            if let Some(rule) = rule.as_object_mut() {
                rule.remove("name");
                rule.insert("names".into(), json!(left));
            }
        }
    }
    kept.retain(|(rule, _)| !rule_names(rule).is_empty());
}

/// `(name, argument index, mask)` of an allow whose one condition refuses the mask's bits.
fn bitmask_allow(rule: &Value) -> Option<(Vec<String>, u64, u64)> {
    let args = rule["args"].as_array().filter(|a| a.len() == 1)?;
    let arg = &args[0];
    let plain = rule["action"] == ALLOW && !has_host_conditions(rule);
    let refusing = arg["op"] == "SCMP_CMP_MASKED_EQ" && arg["valueTwo"].as_u64().unwrap_or(0) == 0;
    (plain && refusing).then_some((
        rule_names(rule),
        arg["index"].as_u64()?,
        arg["value"].as_u64()?,
    ))
}

/// Bitmask allows of the same names and index, one per input, become one refusing the bits
/// all of them refuse (a union of the bits allowed); refusing none, the names are allowed
/// outright.
fn union_bitmasks<'a>(kept: &mut Vec<(Value, &'a Path)>, allowed: &mut Vec<(String, &'a Path)>) {
    let mut i = 0;
    while i < kept.len() {
        let Some((names, index, mut mask)) = bitmask_allow(&kept[i].0) else {
            i += 1;
            continue;
        };
        let mut j = i + 1;
        while j < kept.len() {
            match bitmask_allow(&kept[j].0) {
                Some((n, x, m)) if n == names && x == index => {
                    mask &= m;
                    kept.remove(j);
                }
                _ => j += 1,
            }
        }
        if mask == 0 {
            let (_, from) = kept.remove(i);
            allowed.extend(names.into_iter().map(|n| (n, from)));
            continue;
        }
        kept[i].0["args"][0]["value"] = json!(mask);
        i += 1;
    }
}

/// A name allowed outright by one input and blocked outright (a kept rule without conditions)
/// by another: an error, or settled by `prefer`.
fn resolve_conflicts(
    allowed: &mut Vec<(String, &Path)>,
    kept: &mut Vec<(Value, &Path)>,
    prefer: Option<Prefer>,
) -> Result<(), MergeError> {
    let blocked = |rule: &Value| !is_conditional(rule) && rule["action"] != ALLOW;
    let conflict = allowed.iter().find_map(|(name, allowed_by)| {
        kept.iter()
            .find(|(rule, _)| blocked(rule) && rule_names(rule).contains(name))
            .map(|(_, blocked_by)| (name.clone(), *allowed_by, *blocked_by))
    });
    let Some((name, allowed_by, blocked_by)) = conflict else {
        return Ok(());
    };
    match prefer {
        None => Err(MergeError::Conflict {
            name,
            allowed: allowed_by.to_owned(),
            blocked: blocked_by.to_owned(),
        }),
        Some(Prefer::Deny) => {
            let blocked_names: BTreeSet<String> = kept
                .iter()
                .filter(|(rule, _)| blocked(rule))
                .flat_map(|(rule, _)| rule_names(rule))
                .collect();
            allowed.retain(|(name, _)| !blocked_names.contains(name));
            Ok(())
        }
        Some(Prefer::Allow) => {
            let allowed_names: BTreeSet<&String> = allowed.iter().map(|(n, _)| n).collect();
            for (rule, _) in kept.iter_mut().filter(|(rule, _)| blocked(rule)) {
                let names: Vec<String> = rule_names(rule)
                    .into_iter()
                    .filter(|n| !allowed_names.contains(n))
                    .collect();
                if let Some(rule) = rule.as_object_mut() {
                    rule.remove("name");
                    rule.insert("names".into(), json!(names));
                }
            }
            kept.retain(|(rule, _)| !rule_names(rule).is_empty());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
