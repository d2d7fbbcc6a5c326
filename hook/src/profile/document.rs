//! The seccomp profile: the JSON that podman, CRI-O, runc and crun read.
//!
//! The same document works as a containers-common profile (`--security-opt seccomp=FILE`) and
//! as the `linux.seccomp` object of an OCI runtime `config.json`.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::{
    arch::Arch,
    args::{split, Args},
    rules::{rule_names, union_arches},
};

/// A seccomp profile document.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile(Value);

impl Profile {
    /// A profile that allows exactly `names` on `arches` (the native one first) and fails
    /// everything else with `errno`.
    pub fn allowing<'a>(
        names: impl IntoIterator<Item = &'a str>,
        errno: u32,
        arches: &[Arch],
    ) -> Self {
        Self::allowing_values(names, &Args::default(), errno, arches)
    }

    /// [`Profile::allowing`], each call of `args` allowed only with the values it saw (see
    /// [`args`](super::args)).
    pub fn allowing_values<'a>(
        names: impl IntoIterator<Item = &'a str>,
        args: &Args,
        errno: u32,
        arches: &[Arch],
    ) -> Self {
        // Sorted and unique, so the same set always gives the same bytes.
        let names: BTreeSet<&str> = names.into_iter().collect();
        let (conditional, names) = split(names, args, &BTreeSet::new());
        let mut rules = if names.is_empty() {
            vec![]
        } else {
            vec![json!({ "names": names, "action": "SCMP_ACT_ALLOW" })]
        };
        rules.extend(conditional);
        Profile(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": errno,
            // The ABIs that were used and no other: an unlisted ABI (i386, x32) is refused
            // whole, a door nobody watched.
            "architectures": arches.iter().map(|a| a.seccomp_name()).collect::<Vec<_>>(),
            "syscalls": rules,
        }))
    }

    /// `baseline` extended with the recorded `names`: every baseline rule is kept as it is (all
    /// fields, known or not); names no baseline rule mentions are allowed in one added rule, so
    /// a syscall the baseline blocks stays blocked. The default action becomes SCMP_ACT_ERRNO
    /// (a recording is an allow-list), `defaultErrnoRet` is kept or set to `errno`, and every
    /// one of `arches` (the native one first) is made sure to be covered (see
    /// `cover_architectures`).
    pub fn extending<'a>(
        baseline: &Value,
        names: impl IntoIterator<Item = &'a str>,
        errno: u32,
        arches: &[Arch],
    ) -> Self {
        Self::extending_values(baseline, names, &Args::default(), errno, arches)
    }

    /// [`Profile::extending`] with argument rules for the names it adds; a name the baseline
    /// mentions keeps the baseline's rules alone (an unconditional allow beside them would make
    /// its conditions moot).
    pub fn extending_values<'a>(
        baseline: &Value,
        names: impl IntoIterator<Item = &'a str>,
        args: &Args,
        errno: u32,
        arches: &[Arch],
    ) -> Self {
        let mut doc = baseline.as_object().cloned().unwrap_or_default();
        doc.insert("defaultAction".into(), json!("SCMP_ACT_ERRNO"));
        doc.entry("defaultErrnoRet").or_insert(json!(errno));
        cover_architectures(&mut doc, arches);
        let mut rules = match doc.remove("syscalls") {
            Some(Value::Array(rules)) => rules,
            _ => Vec::new(),
        };
        let named: BTreeSet<String> = rules.iter().flat_map(rule_names).collect();
        let new: BTreeSet<&str> = names.into_iter().filter(|n| !named.contains(*n)).collect();
        let (conditional, new) = split(new, args, &named);
        if !new.is_empty() {
            rules.push(json!({ "names": new, "action": "SCMP_ACT_ALLOW" }));
        }
        rules.extend(conditional);
        doc.insert("syscalls".into(), Value::Array(rules));
        Profile(Value::Object(doc))
    }

    /// A profile read from a file (validated by the caller).
    pub fn from_json(value: Value) -> Self {
        Profile(value)
    }

    pub fn as_json(&self) -> &Value {
        &self.0
    }

    /// Pretty JSON with a final newline; field order is fixed, so output is deterministic.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(&self.0).expect("a JSON value always serializes");
        bytes.push(b'\n');
        bytes
    }
}

/// Makes every one of `arches` (the native one first) one the profile applies to, in the form
/// the baseline already uses (see [`union_arches`]): podman refuses a profile with both
/// `architectures` and `archMap`, so with an `archMap` (as containers-common's default profile
/// has) the native entry is found or added and the other ABIs join it as
/// `subArchitectures` (podman applies the native entry with its sub-architectures); else
/// `architectures` gets the names.
fn cover_architectures(doc: &mut Map<String, Value>, arches: &[Arch]) {
    let names: Vec<&str> = arches.iter().map(|a| a.seccomp_name()).collect();
    let wanted = json!({ "architectures": names });
    let current = Value::Object(doc.clone());
    if let (Some(key), value) = union_arches(&[&current, &wanted]) {
        doc.insert(key.into(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::DEFAULT_ERRNO;

    #[test]
    fn shape_matches_what_runtimes_read() {
        let p = Profile::allowing(["read", "execve"], DEFAULT_ERRNO, &[Arch::X86_64]);
        let expected = json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{ "names": ["execve", "read"], "action": "SCMP_ACT_ALLOW" }],
        });
        assert_eq!(p.as_json(), &expected);
    }

    #[test]
    fn names_are_sorted_and_unique() {
        let p = Profile::allowing(["write", "read", "write", "close"], 1, &[Arch::Aarch64]);
        assert_eq!(
            p.as_json()["syscalls"][0]["names"],
            json!(["close", "read", "write"])
        );
        assert_eq!(p.as_json()["architectures"], json!(["SCMP_ARCH_AARCH64"]));
        assert_eq!(p.as_json()["defaultErrnoRet"], json!(1));
    }

    #[test]
    fn same_set_gives_same_bytes_whatever_the_order() {
        let a = Profile::allowing(["openat", "read", "close"], DEFAULT_ERRNO, &[Arch::X86_64]);
        let b = Profile::allowing(
            ["close", "openat", "read", "read"],
            DEFAULT_ERRNO,
            &[Arch::X86_64],
        );
        assert_eq!(a.to_bytes(), b.to_bytes());
        let text = String::from_utf8(a.to_bytes()).unwrap();
        assert!(
            text.starts_with("{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n"),
            "{text}"
        );
        assert!(text.ends_with("}\n"));
    }

    fn baseline() -> Value {
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_AARCH64"],
            "x-unknown": { "kept": true },
            "syscalls": [
                { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                  "comment": "no directories", "includes": {}, "excludes": { "caps": ["CAP_SYS_ADMIN"] } },
                { "name": "personality", "action": "SCMP_ACT_ALLOW",
                  "args": [{ "index": 0, "value": 0, "op": "SCMP_CMP_EQ" }] },
            ],
        })
    }

    #[test]
    fn extending_keeps_every_baseline_rule_and_field() {
        let p = Profile::extending(
            &baseline(),
            ["read", "mkdir", "personality", "write"],
            38,
            &[Arch::X86_64],
        );
        let doc = p.as_json();
        assert_eq!(doc["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(doc["defaultErrnoRet"], 1, "baseline's errno kept");
        assert_eq!(doc["x-unknown"], json!({ "kept": true }));
        assert_eq!(
            doc["architectures"],
            json!(["SCMP_ARCH_AARCH64", "SCMP_ARCH_X86_64"])
        );
        let rules = doc["syscalls"].as_array().unwrap();
        assert_eq!(
            &rules[..2],
            baseline()["syscalls"].as_array().unwrap().as_slice()
        );
        // mkdir stays blocked, personality keeps its argument filter: neither is re-allowed.
        assert_eq!(
            rules[2],
            json!({ "names": ["read", "write"], "action": "SCMP_ACT_ALLOW" })
        );
        assert_eq!(rules.len(), 3);
    }

    /// containers-common's form: podman refuses `architectures` beside `archMap`.
    #[test]
    fn an_arch_map_is_extended_in_place() {
        let mut base = baseline();
        base.as_object_mut().unwrap().remove("architectures");
        base["archMap"] =
            json!([{ "architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"] }]);
        let p = Profile::extending(&base, ["read"], 38, &[Arch::X86_64]);
        assert_eq!(p.as_json().get("architectures"), None);
        assert_eq!(p.as_json()["archMap"], base["archMap"]);
        let p = Profile::extending(&base, ["read"], 38, &[Arch::Aarch64]);
        assert_eq!(p.as_json().get("architectures"), None);
        assert_eq!(
            p.as_json()["archMap"][1],
            json!({ "architecture": "SCMP_ARCH_AARCH64", "subArchitectures": [] })
        );
        // An empty archMap is no archMap.
        base["archMap"] = json!([]);
        let p = Profile::extending(&base, ["read"], 38, &[Arch::X86_64]);
        assert_eq!(p.as_json()["architectures"], json!(["SCMP_ARCH_X86_64"]));
    }

    /// i386 used: podman applies the native archMap entry with its sub-architectures.
    #[test]
    fn compat_abis_join_the_native_arch_map_entry_or_the_list() {
        let mut base = baseline();
        base.as_object_mut().unwrap().remove("architectures");
        base["archMap"] =
            json!([{ "architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X32"] }]);
        let arches = [Arch::X86_64, Arch::X86];
        let p = Profile::extending(&base, ["read"], 38, &arches);
        assert_eq!(
            p.as_json()["archMap"],
            json!([{ "architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X32", "SCMP_ARCH_X86"] }])
        );
        let p = Profile::allowing(["read", "mmap2"], 38, &arches);
        assert_eq!(
            p.as_json()["architectures"],
            json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"])
        );
    }

    #[test]
    fn extending_with_nothing_new_adds_no_rule() {
        let p = Profile::extending(&baseline(), ["mkdir"], 38, &[Arch::X86_64]);
        assert_eq!(p.as_json()["syscalls"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn extending_a_bare_baseline_sets_defaults() {
        let p = Profile::extending(&json!({}), ["read"], 38, &[Arch::X86_64]);
        assert_eq!(p, Profile::allowing(["read"], 38, &[Arch::X86_64]));
    }

    #[test]
    fn empty_set_has_no_allow_rule() {
        let p = Profile::allowing([], DEFAULT_ERRNO, &[Arch::X86_64]);
        assert_eq!(p.as_json()["syscalls"], json!([]));
    }
}

/// The baseline comes from a file anyone creating a container may point at: merging any
/// baseline the validator accepts gives a profile, never a panic.
#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    /// Valid baselines of every shape the merger branches on: rules with `names` or `name`,
    /// blocking or allowing, `architectures` or `archMap` or neither, unknown fields.
    fn baseline() -> impl Strategy<Value = Value> {
        let name = "[a-z_]{1,10}";
        let action = prop_oneof![
            Just("SCMP_ACT_ALLOW"),
            Just("SCMP_ACT_ERRNO"),
            Just("SCMP_ACT_KILL")
        ];
        let rule = (
            prop::collection::vec(name, 0..4),
            name,
            any::<bool>(),
            action,
        )
            .prop_map(|(names, one, by_list, action)| match by_list {
                true => json!({ "names": names, "action": action }),
                false => json!({ "name": one, "action": action, "comment": "c" }),
            });
        let arches = prop_oneof![
            Just(None),
            Just(Some(("architectures", json!(["SCMP_ARCH_AARCH64"])))),
            Just(Some((
                "archMap",
                json!([{ "architecture": "SCMP_ARCH_AARCH64" }])
            ))),
            Just(Some(("archMap", json!([])))),
        ];
        (prop::collection::vec(rule, 0..5), arches, any::<bool>()).prop_map(
            |(rules, arches, extra)| {
                let mut doc = json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules });
                if let Some((key, value)) = arches {
                    doc[key] = value;
                }
                if extra {
                    doc["x-unknown"] = json!({ "kept": [1, 2] });
                }
                doc
            },
        )
    }

    proptest! {
        #[test]
        fn merging_any_accepted_baseline_keeps_every_recorded_name(
            baseline in baseline(),
            names in prop::collection::btree_set("[a-z_]{1,10}", 0..8),
        ) {
            prop_assert_eq!(crate::profile::validate(&baseline), Ok(()));
            let profile = Profile::extending(&baseline, names.iter().map(String::as_str), 38, &[Arch::NATIVE]);
            let doc = profile.as_json();
            let rules = doc["syscalls"].as_array().unwrap();
            let named: BTreeSet<String> = rules.iter().flat_map(rule_names).collect();
            for name in &names {
                prop_assert!(named.contains(name.as_str()), "{} lost", name);
            }
            prop_assert_eq!(&doc["defaultAction"], "SCMP_ACT_ERRNO");
            prop_assert_eq!(&doc["x-unknown"], &baseline["x-unknown"]);
            // Still a profile, in a form podman accepts (never both architecture fields).
            prop_assert_eq!(crate::profile::validate(doc), Ok(()));
            let _ = profile.to_bytes();
        }
    }
}
