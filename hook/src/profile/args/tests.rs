use super::*;

fn seen(call: &'static str, values: &[u64]) -> Args {
    let mut args = Args::default();
    for &v in values {
        args.add(call, v);
    }
    args
}

fn names<'a>(list: &[&'a str]) -> BTreeSet<&'a str> {
    list.iter().copied().collect()
}

/// Every MASKED_EQ has the mask in `value` and is never 0 (which would match anything).
fn assert_no_empty_mask(rules: &[Value]) {
    for arg in rules
        .iter()
        .flat_map(|r| r["args"].as_array().into_iter().flatten())
    {
        assert_eq!(arg["op"], "SCMP_CMP_MASKED_EQ");
        assert_ne!(arg["value"], 0, "{arg}");
    }
}

#[test]
fn masked_eq_puts_the_mask_in_value_and_the_expected_bits_in_value_two() {
    let arg = masked_eq(0, 0xffff_ffff, 2);
    assert_eq!(arg["value"], 0xffff_ffffu64);
    assert_eq!(arg["valueTwo"], 2);
    // libseccomp matches when (arg & value) == valueTwo: AF_INET passes, AF_ALG does not.
    let matches = |a: u64| a & arg["value"].as_u64().unwrap() == arg["valueTwo"].as_u64().unwrap();
    assert!(matches(2) && matches(0xdead_0000_0000_0002) && !matches(38));
}

#[test]
fn socket_families_are_one_rule_each_and_netlink_holds_its_protocol() {
    let args = seen("socket", &[2, 1, AF_NETLINK | 9 << 32]);
    let (rules, left) = split(names(&["read", "socket"]), &args, &BTreeSet::new());
    assert_eq!(left, names(&["read"]));
    assert_eq!(rules.len(), 3);
    assert_eq!(rules[0]["args"], json!([masked_eq(0, 0xffff_ffff, 1)]));
    assert_eq!(
        rules[2]["args"],
        json!([masked_eq(0, 0xffff_ffff, 16), masked_eq(2, 0xffff_ffff, 9)])
    );
    assert_no_empty_mask(&rules);
}

#[test]
fn a_bitmask_refuses_every_bit_never_seen_and_never_writes_a_mask_of_zero() {
    let thread = 0x3d0f00;
    let args = seen("clone", &[thread, 0x0120_0000]);
    let (rules, left) = split(names(&["clone"]), &args, &BTreeSet::new());
    assert!(left.is_empty());
    let refused = 0xffff_ff00 & !(thread | 0x0120_0000);
    assert_eq!(rules, vec![allow("clone", &[masked_eq(0, refused, 0)])]);
    // CLONE_NEWUSER (0x10000000) is among the refused bits.
    assert_ne!(refused & 0x1000_0000, 0);
    let every = seen("unshare", &[0xffff_ffff]);
    let (rules, left) = split(names(&["unshare"]), &every, &BTreeSet::new());
    assert!(rules.is_empty(), "{rules:?}");
    assert_eq!(left, names(&["unshare"]));
}

#[test]
fn clone3_is_answered_enosys_and_its_flags_go_to_clone() {
    let args = seen("clone3", &[0x3d0f00]);
    let (rules, left) = split(names(&["clone3"]), &args, &BTreeSet::new());
    assert!(left.is_empty());
    assert_eq!(rules[0]["names"], json!(["clone3"]));
    assert_eq!(rules[0]["action"], "SCMP_ACT_ERRNO");
    assert_eq!(rules[0]["errnoRet"], 38);
    let refused = 0xffff_ff00 & !0x3d0f00u64;
    assert_eq!(rules[1], allow("clone", &[masked_eq(0, refused, 0)]));
}

#[test]
fn clone3_stays_allowed_where_clone_cannot_carry_it() {
    for flags in [1u64 << 33, ARG_UNREADABLE] {
        let args = seen("clone3", &[0x3d0f00, flags]);
        let (rules, left) = split(names(&["clone3"]), &args, &BTreeSet::new());
        assert!(rules.is_empty(), "{rules:?}");
        assert_eq!(left, names(&["clone3"]));
    }
    // A baseline that governs clone: its rules decide, clone3 stays as it was.
    let args = seen("clone3", &[0x3d0f00]);
    let reserved = ["clone".to_owned()].into_iter().collect();
    let (rules, left) = split(names(&["clone3"]), &args, &reserved);
    assert!(rules.is_empty());
    assert_eq!(left, names(&["clone3"]));
}

#[test]
fn a_call_past_the_cap_is_allowed_for_any_value_and_said_so() {
    let mut args = seen("socket", &[2]);
    args.overflow("socket");
    let (rules, left) = split(names(&["socket"]), &args, &BTreeSet::new());
    assert!(left.is_empty());
    assert_eq!(rules.len(), 1);
    assert!(rules[0].get("args").is_none());
    assert!(rules[0]["comment"]
        .as_str()
        .unwrap()
        .contains("any argument value"));
    assert!(args.notes().unwrap().starts_with("socket had more than"));
    assert_eq!(seen("socket", &[2]).notes(), None);
}

#[test]
fn names_without_recorded_values_stay_unconditional() {
    let (rules, left) = split(
        names(&["socket", "clone3"]),
        &Args::default(),
        &BTreeSet::new(),
    );
    assert!(rules.is_empty());
    assert_eq!(left, names(&["socket", "clone3"]));
}

#[test]
fn a_profile_with_every_kind_of_rule_validates_and_reads_back_the_same() {
    use crate::profile::{arch::Arch, validate, Profile};
    let mut args = seen("socket", &[2, AF_NETLINK | 15 << 32]);
    args.add("clone3", 0x3d0f00);
    args.add("unshare", 0x2_0000);
    args.add("setns", 0x4000_0000);
    args.add("personality", 0xffff_ffff);
    args.overflow("socketpair");
    let all = [
        "read",
        "socket",
        "socketpair",
        "clone3",
        "unshare",
        "setns",
        "personality",
    ];
    let profile = Profile::allowing_values(all, &args, 38, &[Arch::X86_64]);
    validate(profile.as_json()).expect("valid");
    let again: Value = serde_json::from_slice(&profile.to_bytes()).unwrap();
    validate(&again).expect("valid again");
    assert_eq!(&again, profile.as_json());
    assert_no_empty_mask(again["syscalls"].as_array().unwrap());
}

/// The runtime's own calls after its filter install are added by name: none of them may be a
/// call whose values the recording restricts, or the runtime's values would be missing.
#[test]
fn no_runtime_call_is_restricted_by_values() {
    use crate::profile::{runtime::Runtime, RUNTIME_FLOOR};
    for runtime in [Runtime::Runc, Runtime::Crun, Runtime::Unknown] {
        for name in runtime
            .calls_after_filter()
            .into_iter()
            .chain(RUNTIME_FLOOR.iter().copied())
        {
            assert!(!crate::contract::ARG_CALLS.contains(&name), "{name}");
        }
    }
}

/// A name the `if:` baseline governs keeps the baseline's rules alone: no recorded rule (an
/// allow beside its conditions would make them moot); the names it does not mention get
/// theirs.
#[test]
fn a_baseline_keeps_its_own_rules_for_the_names_it_mentions() {
    use crate::profile::{arch::Arch, Profile};
    let clone_rule = json!({ "names": ["clone"], "action": "SCMP_ACT_ALLOW",
                             "args": [masked_eq(0, 0x7e02_0000, 0)] });
    let baseline = json!({ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [clone_rule] });
    let mut args = seen("clone", &[0x1000_0000]);
    args.add("clone3", 0x3d0f00);
    args.add("socket", 2);
    let names = ["clone", "clone3", "socket"];
    let profile = Profile::extending_values(&baseline, names, &args, 38, &[Arch::X86_64]);
    let rules = profile.as_json()["syscalls"].as_array().unwrap();
    let clones: Vec<&Value> = rules
        .iter()
        .filter(|r| r["names"] == json!(["clone"]))
        .collect();
    assert_eq!(clones, [&clone_rule], "{rules:?}");
    // clone3 stays as it was: its fallback would meet the baseline's clone rules, not ours.
    assert!(
        rules.iter().any(|r| r["names"] == json!(["clone3"])
            && r["action"] == "SCMP_ACT_ALLOW"
            && r.get("args").is_none()),
        "{rules:?}"
    );
    assert!(rules
        .iter()
        .any(|r| r["names"] == json!(["socket"]) && r["args"].is_array()));
}
