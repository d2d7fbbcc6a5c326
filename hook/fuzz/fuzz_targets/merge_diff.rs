//! `merge` and `diff` of two fuzzed profiles (the input split at its first NUL), each read as
//! the tools read it. Properties: a profile's diff with itself is empty; the merge allows
//! every call A allows (and every call B allows) on every architecture A lists, unless the
//! other input restricts that call with a rule of its own, which `merge` keeps by design. A
//! profile listing no architecture is the native one's, which runc and crun add to every
//! filter: the merge must then allow the call on one architecture it lists.
#![no_main]

use std::path::{Path, PathBuf};

use hook::{
    profile::read,
    tools::{diff, diff::Allowance, merge},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let mut halves = bytes.splitn(2, |&b| b == 0);
    let (Some(a), Some(b)) = (halves.next(), halves.next()) else {
        return;
    };
    let (Ok(a), Ok(b)) = (
        read::parse(Path::new("a.json"), a),
        read::parse(Path::new("b.json"), b),
    ) else {
        return;
    };
    let (of_a, of_b) = (Allowance::of(&a), Allowance::of(&b));
    assert!(diff::diff(&of_a, &of_a).values().all(|d| d.is_empty()));
    let _ = diff::diff(&of_a, &of_b);
    let inputs = [
        merge::Input {
            path: PathBuf::from("a.json"),
            profile: a,
        },
        merge::Input {
            path: PathBuf::from("b.json"),
            profile: b,
        },
    ];
    let Ok(merged) = merge::merge(&inputs, None) else {
        return;
    };
    let of_merged = Allowance::of(&merged);
    keeps(&of_a, &of_b, &of_merged);
    keeps(&of_b, &of_a, &of_merged);
});

/// Every call `side` allows is allowed by `merged`, but those `other` restricts.
fn keeps(side: &Allowance, other: &Allowance, merged: &Allowance) {
    for arch in &side.arches {
        for name in side.named.keys().filter(|n| side.allows(arch, n)) {
            let restricted = other
                .named
                .get(name)
                .is_some_and(|what| what != "SCMP_ACT_ALLOW");
            let allowed = match arch.as_str() {
                "SCMP_ARCH_NATIVE" => merged.arches.iter().any(|m| merged.allows(m, name)),
                _ => merged.allows(arch, name),
            };
            assert!(
                restricted || allowed,
                "{name} on {arch}: allowed by an input, not by the merge ({})",
                merged.action(arch, name)
            );
        }
    }
}
