use super::*;

fn input(name: &str, profile: Value) -> Input {
    Input {
        path: PathBuf::from(name),
        profile,
    }
}

fn allowing(names: &[&str]) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{ "names": names, "action": "SCMP_ACT_ALLOW" }],
    })
}

fn allowed_names(profile: &Value) -> Vec<String> {
    let rules = profile["syscalls"].as_array().unwrap();
    let allow = rules
        .iter()
        .filter(|r| r["action"] == ALLOW && !is_conditional(r));
    allow.flat_map(rule_names).collect()
}

#[test]
fn the_union_of_what_each_allows() {
    let merged = merge(
        &[
            input("ls.json", allowing(&["read", "getdents64"])),
            input("cat.json", allowing(&["read", "openat"])),
        ],
        None,
    )
    .unwrap();
    assert_eq!(allowed_names(&merged), ["getdents64", "openat", "read"]);
    assert_eq!(merged["defaultErrnoRet"], json!(38));
    assert_eq!(merged["architectures"], json!(["SCMP_ARCH_X86_64"]));
}

#[test]
fn a_blocking_rule_survives_and_an_argument_filter_is_moot_beside_an_outright_allow() {
    let mut baseline = allowing(&["read"]);
    baseline["syscalls"].as_array_mut().unwrap().extend([
        json!({ "names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 }),
        json!({ "names": ["clone"], "action": "SCMP_ACT_ALLOW",
                "args": [{ "index": 0, "value": 2080505856, "op": "SCMP_CMP_MASKED_EQ" }] }),
    ]);
    let merged = merge(
        &[
            input("base.json", baseline),
            input("rec.json", allowing(&["clone", "write"])),
        ],
        None,
    )
    .unwrap();
    let rules = merged["syscalls"].as_array().unwrap();
    assert!(rules
        .iter()
        .any(|r| r["names"] == json!(["ptrace"]) && r["errnoRet"] == 1));
    assert!(
        !rules
            .iter()
            .any(|r| r["names"] == json!(["clone"]) && r["args"].is_array()),
        "rec.json allows any clone, so the union does"
    );
    assert_eq!(allowed_names(&merged), ["clone", "read", "write"]);
}

#[test]
fn allowed_in_one_and_blocked_in_another_names_both_files() {
    let mut blocking = allowing(&["read"]);
    blocking["syscalls"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "names": ["mount"], "action": "SCMP_ACT_ERRNO" }));
    let inputs = [
        input("a.json", allowing(&["mount"])),
        input("b.json", blocking),
    ];
    let err = merge(&inputs, None).unwrap_err().to_string();
    assert!(
        err.contains("mount") && err.contains("a.json") && err.contains("b.json"),
        "{err}"
    );

    let allow = merge(&inputs, Some(Prefer::Allow)).unwrap();
    assert!(allowed_names(&allow).contains(&"mount".to_owned()));
    assert!(!allow["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["action"] == "SCMP_ACT_ERRNO"));
    let deny = merge(&inputs, Some(Prefer::Deny)).unwrap();
    assert!(!allowed_names(&deny).contains(&"mount".to_owned()));
}

#[test]
fn different_default_actions_are_refused() {
    let mut other = allowing(&["read"]);
    other["defaultAction"] = json!("SCMP_ACT_ALLOW");
    let err = merge(
        &[input("a.json", allowing(&["read"])), input("b.json", other)],
        None,
    );
    assert!(matches!(err, Err(MergeError::Defaults { .. })));
}

/// A profile recorded with argument rules (see `profile::args`).
fn recorded(socket_families: &[u64], clone_refused: u64) -> Value {
    let mut profile = allowing(&["read"]);
    let rules = profile["syscalls"].as_array_mut().unwrap();
    for &family in socket_families {
        rules.push(json!({ "names": ["socket"], "action": ALLOW,
            "args": [crate::profile::args::masked_eq(0, 0xffff_ffff, family)] }));
    }
    rules.push(json!({ "names": ["clone"], "action": ALLOW,
        "args": [crate::profile::args::masked_eq(0, clone_refused, 0)] }));
    profile
}

#[test]
fn recorded_values_are_unioned() {
    let a = input("a.json", recorded(&[2], 0xffff_0000));
    let b = input("b.json", recorded(&[1, 2], 0xff00_ff00));
    let merged = merge(&[a, b], None).unwrap();
    let rules = merged["syscalls"].as_array().unwrap();
    let sockets: Vec<&Value> = rules
        .iter()
        .filter(|r| r["names"] == json!(["socket"]))
        .collect();
    assert_eq!(sockets.len(), 2, "families 1 and 2, once each: {rules:?}");
    let clones: Vec<&Value> = rules
        .iter()
        .filter(|r| r["names"] == json!(["clone"]))
        .collect();
    assert_eq!(clones.len(), 1);
    // Refused: only what both refused; allowed: any bit either saw.
    assert_eq!(clones[0]["args"][0]["value"], json!(0xff00_0000u64));
    // Where the bits allowed cover the whole mask, clone is allowed outright.
    let c = input("c.json", recorded(&[2], 0x00ff_0000));
    let d = input("d.json", recorded(&[2], 0xff00_0000));
    let merged = merge(&[c, d], None).unwrap();
    assert!(allowed_names(&merged).contains(&"clone".to_owned()));
    // And a profile written by names only allows any socket in the union.
    let e = input("e.json", recorded(&[2], 0x00ff_0000));
    let f = input("f.json", allowing(&["socket"]));
    let merged = merge(&[e, f], None).unwrap();
    assert!(allowed_names(&merged).contains(&"socket".to_owned()));
    assert!(!merged["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["names"] == json!(["socket"]) && r["args"].is_array()));
}
