//! A profile as a security-profiles-operator `SeccompProfile` resource
//! (`security-profiles-operator.x-k8s.io/v1beta1`), in YAML: how profiles recorded on many
//! nodes are handed to a cluster (`kubectl apply -f`), the operator then writing them where the
//! kubelet's `localhost` profiles are read.
//!
//! The resource has fewer fields than a containers-common profile, and nothing is translated
//! into something looser:
//! - `archMap` becomes the flat `architectures` list (each entry and its sub-architectures);
//! - `defaultErrnoRet` has no field: where it is set (ENOSYS for our recordings, so libc falls
//!   back from clone3, statx, ...), an explicit rule returns it for every syscall of the
//!   listed architectures that no other rule names;
//! - a rule with `includes`/`excludes` (capabilities, host architecture, kernel version) has
//!   no condition field: a blocking one is kept without its condition (stricter), an allowing
//!   one is left out (stricter), and the caller is told which names that concerns.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::profile::{
    arch::Arch,
    rules::{arches_of, has_host_conditions, rule_names, ALLOW},
};

pub const API_VERSION: &str = "security-profiles-operator.x-k8s.io/v1beta1";
pub const KIND: &str = "SeccompProfile";

#[derive(Debug, thiserror::Error)]
pub enum SpoError {
    #[error(
        "{0:?} is not a Kubernetes resource name: use at most 253 lowercase letters, digits, \
         '-' and '.', starting and ending with a letter or digit"
    )]
    Name(String),
    #[error("cannot write YAML: {0}")]
    Yaml(String),
}

/// The resource, and a warning per thing that could not be carried over as it was.
pub struct Converted {
    pub yaml: String,
    pub warnings: Vec<String>,
}

/// `profile` (validated) as a `SeccompProfile` named `name`.
pub fn convert(profile: &Value, name: &str) -> Result<Converted, SpoError> {
    check_name(name)?;
    let mut warnings = Vec::new();
    let mut spec = Map::new();
    spec.insert("defaultAction".into(), profile["defaultAction"].clone());
    let arches: Vec<String> = arches_of(profile).into_iter().collect();
    spec.insert("architectures".into(), json!(arches));
    let mut syscalls = Vec::new();
    for rule in profile["syscalls"].as_array().into_iter().flatten() {
        if let Some(rule) = convert_rule(rule, &mut warnings) {
            syscalls.push(rule);
        }
    }
    if let Some(rule) = default_errno_rule(profile, &arches, &syscalls) {
        syscalls.push(rule);
    }
    spec.insert("syscalls".into(), Value::Array(syscalls));
    for key in ["flags", "listenerPath", "listenerMetadata"] {
        if let Some(value) = profile.get(key).filter(|v| !v.is_null()) {
            spec.insert(key.into(), value.clone());
        }
    }
    let resource = json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": { "name": name },
        "spec": spec,
    });
    let yaml = serde_yaml::to_string(&resource).map_err(|e| SpoError::Yaml(e.to_string()))?;
    Ok(Converted { yaml, warnings })
}

/// A `Syscall` of the resource: `names`, `action`, `errnoRet` (a string there), `args`.
fn convert_rule(rule: &Value, warnings: &mut Vec<String>) -> Option<Value> {
    let names = rule_names(rule);
    let conditional = has_host_conditions(rule);
    if conditional && rule["action"] == ALLOW {
        warnings.push(format!(
            "left out (allowed there only under includes/excludes conditions): {}",
            names.join(" ")
        ));
        return None;
    }
    if conditional {
        warnings.push(format!(
            "blocked whatever the includes/excludes conditions: {}",
            names.join(" ")
        ));
    }
    let mut out = Map::new();
    out.insert("names".into(), json!(names));
    out.insert("action".into(), rule["action"].clone());
    if let Some(errno) = rule["errnoRet"].as_u64() {
        out.insert("errnoRet".into(), json!(errno.to_string()));
    }
    if let Some(args) = rule["args"].as_array().filter(|a| !a.is_empty()) {
        out.insert("args".into(), Value::Array(args.clone()));
    }
    Some(Value::Object(out))
}

/// The rule standing in for `defaultErrnoRet`: every known syscall of `arches` that no rule
/// names, failing with that errno.
fn default_errno_rule(profile: &Value, arches: &[String], rules: &[Value]) -> Option<Value> {
    let errno = profile["defaultErrnoRet"].as_u64()?;
    // EPERM is what runtimes return for SCMP_ACT_ERRNO without an errno: nothing to add.
    if profile["defaultAction"] != "SCMP_ACT_ERRNO" || errno == 1 {
        return None;
    }
    let named: BTreeSet<String> = rules.iter().flat_map(rule_names).collect();
    let arches = arches.iter().filter_map(|a| Arch::from_seccomp_name(a));
    let names: BTreeSet<&str> = arches
        .flat_map(Arch::names)
        .filter(|n| !named.contains(*n))
        .collect();
    (!names.is_empty()).then(
        || json!({ "names": names, "action": "SCMP_ACT_ERRNO", "errnoRet": errno.to_string() }),
    )
}

/// A DNS subdomain name (RFC 1123), as `metadata.name` must be.
fn check_name(name: &str) -> Result<(), SpoError> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.chars().all(ok_char)
        && edge(name.chars().next())
        && edge(name.chars().last());
    if valid {
        Ok(())
    } else {
        Err(SpoError::Name(name.to_owned()))
    }
}

/// A resource name from a file name: its stem, lowercased, other characters as '-'.
pub fn name_from(path: &std::path::Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = stem
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = name
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned();
    if name.is_empty() {
        "recorded".into()
    } else {
        name
    }
}

#[cfg(test)]
mod tests;
