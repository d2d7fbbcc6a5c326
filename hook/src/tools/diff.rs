//! What a profile does with each syscall, per architecture, and how two profiles differ: the CI
//! gate "did my application's syscall surface grow?" (`oci-seccomp-bpf-hook diff`).
//!
//! A profile's rules name syscalls for every architecture it lists (runc and crun resolve each
//! name on each one), so two profiles differ on an architecture either by their rules or
//! because only one of them lists it (an unlisted ABI is refused whole).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::profile::rules::{arches_of, has_host_conditions, is_conditional, rule_names, ALLOW};

/// A profile as `diff` sees it: validated JSON (see [`validate`](crate::profile::validate())).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    /// `SCMP_ARCH_*` names it applies to (`architectures`, or every `archMap` entry and its
    /// sub-architectures); `SCMP_ARCH_NATIVE` when it lists none.
    pub arches: BTreeSet<String>,
    /// What happens to a syscall no rule names.
    pub default: String,
    /// For each syscall a rule names, what its rules do: `SCMP_ACT_ALLOW` when one of them
    /// allows it without conditions, else a description of every rule.
    pub named: BTreeMap<String, String>,
}

impl Allowance {
    pub fn of(profile: &Value) -> Self {
        let default = action_of(profile, "defaultAction", "defaultErrnoRet");
        let mut per_name: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for rule in profile["syscalls"].as_array().into_iter().flatten() {
            let what = describe_rule(rule);
            for name in rule_names(rule) {
                per_name.entry(name).or_default().insert(what.clone());
            }
        }
        let named = per_name
            .into_iter()
            .map(|(name, whats)| {
                let what = if whats.contains(ALLOW) {
                    ALLOW.to_owned()
                } else {
                    whats.into_iter().collect::<Vec<_>>().join(RULES)
                };
                (name, what)
            })
            .collect();
        Self {
            arches: arches_of(profile),
            default,
            named,
        }
    }

    /// What happens to `name` on `arch`.
    pub fn action(&self, arch: &str, name: &str) -> String {
        if !self.arches.contains(arch) {
            return "refused (architecture not listed)".into();
        }
        self.named
            .get(name)
            .cloned()
            .unwrap_or_else(|| format!("{} (default)", self.default))
    }

    /// Whether `name` is allowed on `arch` without conditions.
    pub fn allows(&self, arch: &str, name: &str) -> bool {
        let action = self.action(arch, name);
        action == ALLOW || action == format!("{ALLOW} (default)")
    }
}

/// How `b` differs from `a` on one architecture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchDiff {
    pub only_a: Vec<String>,
    pub only_b: Vec<String>,
    /// Neither allows it outright, but they treat it differently: (name, in a, in b).
    pub changed: Vec<(String, String, String)>,
}

impl ArchDiff {
    pub fn is_empty(&self) -> bool {
        self.only_a.is_empty() && self.only_b.is_empty() && self.changed.is_empty()
    }
}

/// Per architecture of either profile, what each allows that the other does not. The default
/// actions are compared through the names: a name neither mentions is treated alike unless the
/// defaults differ, which is reported as the name `*`.
pub fn diff(a: &Allowance, b: &Allowance) -> BTreeMap<String, ArchDiff> {
    let names: BTreeSet<&String> = a.named.keys().chain(b.named.keys()).collect();
    let mut arches = BTreeMap::new();
    for arch in a.arches.union(&b.arches) {
        let mut d = ArchDiff::default();
        for name in &names {
            classify(
                &mut d,
                name,
                (a.allows(arch, name), b.allows(arch, name)),
                || (a.action(arch, name), b.action(arch, name)),
            );
        }
        let defaults = (a.action(arch, "*"), b.action(arch, "*"));
        let allowed = (a.allows(arch, "*"), b.allows(arch, "*"));
        classify(&mut d, "*", allowed, || defaults.clone());
        arches.insert(arch.clone(), d);
    }
    arches
}

fn classify(
    d: &mut ArchDiff,
    name: &str,
    allowed: (bool, bool),
    actions: impl FnOnce() -> (String, String),
) {
    match allowed {
        (true, false) => d.only_a.push(name.to_owned()),
        (false, true) => d.only_b.push(name.to_owned()),
        (true, true) => {}
        (false, false) => {
            let (in_a, in_b) = actions();
            if in_a != in_b {
                let (in_a, in_b) = only_in_each(&in_a, &in_b);
                d.changed.push((name.to_owned(), in_a, in_b));
            }
        }
    }
}

/// Of two descriptions made of rules joined by `RULES`, the rules only each one has: the
/// argument values one profile allows and the other does not.
fn only_in_each(a: &str, b: &str) -> (String, String) {
    let rules = |s: &str| {
        s.split(RULES)
            .map(str::to_owned)
            .collect::<BTreeSet<String>>()
    };
    let (a_rules, b_rules) = (rules(a), rules(b));
    let only = |x: &BTreeSet<String>, y: &BTreeSet<String>| {
        let left: Vec<&str> = x.difference(y).map(String::as_str).collect();
        match left.is_empty() {
            true => "nothing more".to_owned(),
            false => left.join(RULES),
        }
    };
    (only(&a_rules, &b_rules), only(&b_rules, &a_rules))
}

/// Between the rules of one name in a description.
const RULES: &str = " + ";

/// The diff for people: one block per architecture that differs.
pub fn to_text(diff: &BTreeMap<String, ArchDiff>, a: &str, b: &str) -> String {
    let mut text = String::new();
    for (arch, d) in diff.iter().filter(|(_, d)| !d.is_empty()) {
        text.push_str(&format!("{arch}:\n"));
        if !d.only_a.is_empty() {
            text.push_str(&format!("  allowed only in {a}: {}\n", d.only_a.join(" ")));
        }
        if !d.only_b.is_empty() {
            text.push_str(&format!("  allowed only in {b}: {}\n", d.only_b.join(" ")));
        }
        for (name, in_a, in_b) in &d.changed {
            text.push_str(&format!("  {name}: {in_a} in {a}, {in_b} in {b}\n"));
        }
    }
    if text.is_empty() {
        text.push_str(&format!("{a} and {b} allow the same\n"));
    }
    text
}

pub fn to_json(diff: &BTreeMap<String, ArchDiff>, a: &str, b: &str) -> Value {
    let arches: serde_json::Map<String, Value> = diff
        .iter()
        .map(|(arch, d)| {
            let changed: Vec<Value> = d
                .changed
                .iter()
                .map(|(name, in_a, in_b)| json!({ "name": name, "a": in_a, "b": in_b }))
                .collect();
            let value = json!({ "only_a": d.only_a, "only_b": d.only_b, "changed": changed });
            (arch.clone(), value)
        })
        .collect();
    let same = diff.values().all(ArchDiff::is_empty);
    json!({ "a": a, "b": b, "same": same, "architectures": arches })
}

/// A rule's action in words, with its errno and its conditions: `SCMP_ACT_ALLOW if arg0 &
/// 0xffffffff == 0x2`.
fn describe_rule(rule: &Value) -> String {
    let action = action_of(rule, "action", "errnoRet");
    if !is_conditional(rule) {
        return action;
    }
    let mut conditions: Vec<String> = rule["args"]
        .as_array()
        .into_iter()
        .flatten()
        .map(describe_arg)
        .collect();
    if has_host_conditions(rule) {
        conditions.push("host conditions".into());
    }
    format!("{action} if {}", conditions.join(" and "))
}

/// One `args` entry in words, in libseccomp's reading (MASKED_EQ's mask is `value`).
fn describe_arg(arg: &Value) -> String {
    let index = arg["index"].as_u64().unwrap_or(0);
    let (value, two) = (arg["value"].as_u64(), arg["valueTwo"].as_u64().unwrap_or(0));
    let value = value.map_or("?".into(), |v| format!("{v:#x}"));
    match arg["op"].as_str().unwrap_or("?") {
        "SCMP_CMP_MASKED_EQ" => format!("arg{index} & {value} == {two:#x}"),
        op => {
            let op = op.strip_prefix("SCMP_CMP_").unwrap_or(op);
            format!("arg{index} {op} {value}")
        }
    }
}

/// `doc[action]`, with `doc[errno]` when set: `SCMP_ACT_ERRNO(1)`.
fn action_of(doc: &Value, action: &str, errno: &str) -> String {
    let name = doc[action].as_str().unwrap_or("?");
    match doc[errno].as_u64() {
        Some(n) => format!("{name}({n})"),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests;
