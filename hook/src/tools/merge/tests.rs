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
fn a_blocking_or_restricting_rule_survives() {
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
    assert!(rules
        .iter()
        .any(|r| r["names"] == json!(["clone"]) && r["args"].is_array()));
    assert_eq!(
        allowed_names(&merged),
        ["read", "write"],
        "clone stays restricted by its argument filter"
    );
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
