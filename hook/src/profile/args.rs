//! Argument rules: the values a container passed to the calls of `contract::ARG_CALLS`, and
//! the rules that allow those values and refuse every other (the README's "Argument rules").
//!
//! Written the way runc, crun and libseccomp read `args`: one condition per argument index in
//! a rule (a second one on the same index would become a separate, OR-ed rule), ints compared
//! as `MASKED_EQ(0xFFFFFFFF, v)` (a 64-bit ABI may carry garbage above them; 32-bit ABIs
//! compare the low word only), and `value` is the mask (a mask of 0 would match everything).
//! - Enumerations (socket and socketpair families, setns types, personalities): one ALLOW rule
//!   per value seen; AF_NETLINK's rule also holds the protocol (argument 2).
//! - Bitmasks (clone and unshare flags): one ALLOW rule refusing every bit never seen.
//! - clone3, whose flags sit in memory a filter cannot read: answered with ENOSYS, so glibc
//!   falls back to clone with the same flags, which the clone rule then checks. Unless a
//!   clone3 carried what clone cannot (flags above 32 bits) or its flags could not be read:
//!   then it stays allowed as before.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::contract::{AF_NETLINK, ARG_UNREADABLE, ARG_VALUE_CAP, CSIGNAL};

/// What a recording saw of each argument-recorded call, by name: absent when the call was not
/// made (or arguments were not recorded: a name-only profile).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args(pub BTreeMap<&'static str, Values>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Values {
    /// Every value seen (see `contract::ARG_CALLS` for what a value is).
    Seen(BTreeSet<u64>),
    /// More distinct values than `contract::ARG_VALUE_CAP`, or the node's map full: the call
    /// is allowed for any value.
    Any,
}

impl Args {
    /// Adds `value` of `call` (a name of `contract::ARG_CALLS`).
    pub fn add(&mut self, call: &'static str, value: u64) {
        let entry = self
            .0
            .entry(call)
            .or_insert_with(|| Values::Seen(BTreeSet::new()));
        if let Values::Seen(values) = entry {
            values.insert(value);
        }
    }

    /// `call` could not be kept whole: any value.
    pub fn overflow(&mut self, call: &'static str) {
        self.0.insert(call, Values::Any);
    }

    /// The calls allowed for any value because they were not kept whole, in one line.
    pub fn notes(&self) -> Option<String> {
        let any: Vec<&str> = self
            .0
            .iter()
            .filter(|(_, v)| **v == Values::Any)
            .map(|(name, _)| *name)
            .collect();
        (!any.is_empty()).then(|| {
            format!(
                "{} had more than {ARG_VALUE_CAP} distinct argument values (or the node's \
                 argument map was full), so the profile allows them with any",
                any.join(", ")
            )
        })
    }
}

/// How a call's argument is written.
enum Kind {
    /// One rule per value: argument `index`.
    Enumeration { index: u64 },
    /// One rule refusing the bits of `mask` never seen in argument `index`.
    Bitmask { index: u64, mask: u64 },
}

fn kind(call: &str) -> Option<Kind> {
    Some(match call {
        "socket" | "socketpair" | "personality" => Kind::Enumeration { index: 0 },
        "setns" => Kind::Enumeration { index: 1 },
        // The kernel reads clone's low 32 bits; its low byte is the exit signal.
        "clone" => Kind::Bitmask {
            index: 0,
            mask: 0xffff_ffff & !CSIGNAL,
        },
        "unshare" => Kind::Bitmask {
            index: 0,
            mask: 0xffff_ffff,
        },
        _ => return None,
    })
}

/// The comment of a rule written for any value.
const ANY_COMMENT: &str = "allowed for any argument value: more were seen than a recording keeps";

/// The rules for `names` given what `args` saw: the conditional rules, and the names left for
/// the unconditional rule. `reserved` are names another rule already governs (an `if:`
/// baseline's): they get no rule here, and clone3 falls back to a clone only we write.
pub fn split<'a>(
    names: BTreeSet<&'a str>,
    args: &Args,
    reserved: &BTreeSet<String>,
) -> (Vec<Value>, BTreeSet<&'a str>) {
    let mut names = names;
    let mut rules = Vec::new();
    let mut clone = args.0.get("clone").cloned();
    if names.contains("clone3") && !reserved.contains("clone") {
        if let Some(flags) = clone3_through_clone(args.0.get("clone3")) {
            names.remove("clone3");
            rules.push(json!({ "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38 }));
            clone = Some(union(clone, flags));
            names.insert("clone");
        }
    }
    let mut left = BTreeSet::new();
    for name in names {
        let values = match name {
            "clone" => clone.as_ref(),
            _ => args.0.get(name),
        };
        match values.zip(kind(name)) {
            Some((Values::Seen(values), kind)) => match rules_for(name, &kind, values) {
                Some(written) => rules.extend(written),
                None => {
                    left.insert(name);
                }
            },
            Some((Values::Any, _)) => rules
                .push(json!({ "names": [name], "action": "SCMP_ACT_ALLOW",
                                   "comment": ANY_COMMENT })),
            None => {
                left.insert(name);
            }
        }
    }
    (rules, left)
}

/// clone3's flags when every one of them can go through clone instead (read, and within
/// clone's 32 bits).
fn clone3_through_clone(values: Option<&Values>) -> Option<BTreeSet<u64>> {
    match values? {
        Values::Seen(flags) if flags.iter().all(|&f| f != ARG_UNREADABLE && f >> 32 == 0) => {
            Some(flags.clone())
        }
        _ => None,
    }
}

/// `values` with `more` added (a call allowed for any value stays so).
fn union(values: Option<Values>, more: BTreeSet<u64>) -> Values {
    match values {
        Some(Values::Any) => Values::Any,
        Some(Values::Seen(mut seen)) => {
            seen.extend(more);
            Values::Seen(seen)
        }
        None => Values::Seen(more),
    }
}

/// The conditional rules of `name`; `None` when nothing would be refused (it then joins the
/// unconditional rule: a mask of 0 would match anything while looking strict).
fn rules_for(name: &str, kind: &Kind, values: &BTreeSet<u64>) -> Option<Vec<Value>> {
    match *kind {
        Kind::Enumeration { index } => Some(
            values
                .iter()
                .map(|&value| allow(name, &conditions(name, index, value)))
                .collect(),
        ),
        Kind::Bitmask { index, mask } => {
            let seen = values.iter().fold(0, |all, v| all | v);
            let refused = mask & !seen;
            (refused != 0).then(|| vec![allow(name, &[masked_eq(index, refused, 0)])])
        }
    }
}

/// The conditions of one enumerated value: socket's AF_NETLINK value carries its protocol in
/// its upper half (`contract::ARG_CALLS`).
fn conditions(name: &str, index: u64, value: u64) -> Vec<Value> {
    let low = value & 0xffff_ffff;
    let mut conditions = vec![masked_eq(index, 0xffff_ffff, low)];
    if name == "socket" && low == AF_NETLINK {
        conditions.push(masked_eq(2, 0xffff_ffff, value >> 32));
    }
    conditions
}

fn allow(name: &str, args: &[Value]) -> Value {
    json!({ "names": [name], "action": "SCMP_ACT_ALLOW", "args": args })
}

/// `(argument index & mask) == value`: libseccomp's MASKED_EQ, the mask in `value`.
pub fn masked_eq(index: u64, mask: u64, value: u64) -> Value {
    json!({ "index": index, "value": mask, "valueTwo": value, "op": "SCMP_CMP_MASKED_EQ" })
}

#[cfg(test)]
mod tests;
