use super::*;

fn profile(arches: &[&str], rules: Value) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "architectures": arches,
        "syscalls": rules,
    })
}

fn allowing(names: &[&str]) -> Value {
    profile(
        &["SCMP_ARCH_X86_64"],
        json!([{ "names": names, "action": "SCMP_ACT_ALLOW" }]),
    )
}

#[test]
fn names_only_one_side_allows_are_listed_per_architecture() {
    let a = Allowance::of(&allowing(&["read", "lstat"]));
    let b = Allowance::of(&allowing(&["read", "statx", "getdents64"]));
    let d = &diff(&a, &b)["SCMP_ARCH_X86_64"];
    assert_eq!(d.only_a, ["lstat"]);
    assert_eq!(d.only_b, ["getdents64", "statx"]);
    assert!(d.changed.is_empty());
}

#[test]
fn identical_profiles_do_not_differ() {
    let a = Allowance::of(&allowing(&["read", "write"]));
    let d = diff(&a, &a.clone());
    assert!(d.values().all(ArchDiff::is_empty));
    assert_eq!(to_text(&d, "a", "b"), "a and b allow the same\n");
    assert_eq!(to_json(&d, "a", "b")["same"], json!(true));
}

#[test]
fn an_architecture_only_one_lists_allows_nothing_in_the_other() {
    let a = Allowance::of(&profile(
        &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        json!([{ "names": ["read"], "action": "SCMP_ACT_ALLOW" }]),
    ));
    let b = Allowance::of(&allowing(&["read"]));
    let d = diff(&a, &b);
    assert!(d["SCMP_ARCH_X86_64"].is_empty());
    assert_eq!(d["SCMP_ARCH_X86"].only_a, ["read"]);
}

#[test]
fn changed_actions_and_conditions_are_reported() {
    let a = Allowance::of(&profile(
        &["SCMP_ARCH_X86_64"],
        json!([
            { "names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 },
            { "names": ["clone"], "action": "SCMP_ACT_ALLOW",
              "args": [{ "index": 0, "value": 2080505856, "op": "SCMP_CMP_MASKED_EQ" }] },
        ]),
    ));
    let b = Allowance::of(&allowing(&["clone"]));
    let d = &diff(&a, &b)["SCMP_ARCH_X86_64"];
    assert_eq!(d.only_b, ["clone"], "a conditional allow is not an allow");
    assert_eq!(
        d.changed,
        [(
            "mkdir".to_owned(),
            "SCMP_ACT_ERRNO(1)".to_owned(),
            "SCMP_ACT_ERRNO(38) (default)".to_owned()
        )]
    );
}

#[test]
fn archmap_entries_and_sub_architectures_count() {
    let p = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "archMap": [{ "architecture": "SCMP_ARCH_X86_64",
                      "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] }],
    });
    let arches: Vec<_> = arches_of(&p).into_iter().collect();
    assert_eq!(
        arches,
        ["SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"]
    );
    assert_eq!(
        arches_of(&json!({ "defaultAction": "SCMP_ACT_ALLOW" })),
        BTreeSet::from(["SCMP_ARCH_NATIVE".to_owned()])
    );
}

#[test]
fn different_defaults_show_as_the_wildcard() {
    let a = Allowance::of(&json!({ "defaultAction": "SCMP_ACT_ALLOW" }));
    let b = Allowance::of(&json!({ "defaultAction": "SCMP_ACT_ERRNO" }));
    let d = &diff(&a, &b)["SCMP_ARCH_NATIVE"];
    assert_eq!(d.only_a, ["*"]);
}

#[test]
fn argument_values_one_allows_and_the_other_does_not_are_shown() {
    let family = |f: u64| {
        json!({ "names": ["socket"], "action": "SCMP_ACT_ALLOW",
                "args": [crate::profile::args::masked_eq(0, 0xffff_ffff, f)] })
    };
    let a = Allowance::of(&profile(
        &["SCMP_ARCH_X86_64"],
        json!([family(1), family(2)]),
    ));
    let b = Allowance::of(&profile(
        &["SCMP_ARCH_X86_64"],
        json!([family(2), family(10)]),
    ));
    let d = &diff(&a, &b)["SCMP_ARCH_X86_64"];
    assert_eq!(
        d.changed,
        [(
            "socket".to_owned(),
            "SCMP_ACT_ALLOW if arg0 & 0xffffffff == 0x1".to_owned(),
            "SCMP_ACT_ALLOW if arg0 & 0xffffffff == 0xa".to_owned()
        )]
    );
}
