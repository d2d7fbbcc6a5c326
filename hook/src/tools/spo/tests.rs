use super::*;

fn recorded() -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{ "names": ["read", "write"], "action": "SCMP_ACT_ALLOW" }],
    })
}

fn parsed(yaml: &str) -> Value {
    serde_yaml::from_str(yaml).expect("the output parses as YAML")
}

#[test]
fn a_recording_becomes_a_seccompprofile_resource() {
    let converted = convert(&recorded(), "ls").unwrap();
    let doc = parsed(&converted.yaml);
    assert_eq!(doc["apiVersion"], API_VERSION);
    assert_eq!(doc["kind"], KIND);
    assert_eq!(doc["metadata"]["name"], "ls");
    assert_eq!(doc["spec"]["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(doc["spec"]["architectures"], json!(["SCMP_ARCH_X86_64"]));
    let rules = doc["spec"]["syscalls"].as_array().unwrap();
    assert_eq!(
        rules[0],
        json!({ "names": ["read", "write"], "action": "SCMP_ACT_ALLOW" })
    );
    assert!(converted.warnings.is_empty());
}

#[test]
fn the_default_errno_becomes_an_explicit_rule() {
    let doc = parsed(&convert(&recorded(), "ls").unwrap().yaml);
    let rules = doc["spec"]["syscalls"].as_array().unwrap();
    let fallback = &rules[1];
    assert_eq!(fallback["action"], "SCMP_ACT_ERRNO");
    assert_eq!(fallback["errnoRet"], "38");
    let names: Vec<&str> = fallback["names"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        names.contains(&"clone3") && names.contains(&"statx"),
        "{names:?}"
    );
    assert!(!names.contains(&"read"), "an allowed name stays allowed");
}

#[test]
fn conditional_rules_never_become_looser() {
    let profile = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "archMap": [{ "architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"] }],
        "syscalls": [
            { "names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": { "caps": ["CAP_BPF"] } },
            { "names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
              "excludes": { "caps": ["CAP_SYS_PTRACE"] } },
        ],
    });
    let converted = convert(&profile, "base").unwrap();
    let doc = parsed(&converted.yaml);
    assert_eq!(
        doc["spec"]["architectures"],
        json!(["SCMP_ARCH_X86", "SCMP_ARCH_X86_64"])
    );
    let rules = doc["spec"]["syscalls"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(rules[0]["names"], json!(["ptrace"]));
    assert_eq!(converted.warnings.len(), 2, "{:?}", converted.warnings);
}

#[test]
fn names_must_be_kubernetes_names() {
    for bad in ["", "Ls", "-ls", "ls_1", "ls/x"] {
        assert!(convert(&recorded(), bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        name_from(std::path::Path::new("/tmp/My_App.json")),
        "my-app"
    );
    assert_eq!(name_from(std::path::Path::new("/tmp/_.json")), "recorded");
}

/// Checks `doc` against the CRD's fields, kept in the test data (see its "source").
fn check_against_the_crd(doc: &Value) {
    let crd: Value = serde_json::from_str(include_str!(
        "../../../../tests/data/spo-v1beta1-seccompprofile.json"
    ))
    .unwrap();
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let check_object = |value: &Value, kind: &str| {
        let object = value
            .as_object()
            .unwrap_or_else(|| panic!("{kind} is an object"));
        let fields = list(&crd["fields"][kind]);
        for key in object.keys() {
            assert!(
                fields.contains(key),
                "{kind}.{key} is not a field of the CRD"
            );
        }
        for key in list(&crd["required"][kind]) {
            assert!(object.contains_key(&key), "{kind}.{key} is required");
        }
    };
    assert_eq!(doc["apiVersion"], crd["apiVersion"]);
    assert_eq!(doc["kind"], crd["kind"]);
    assert!(doc["metadata"]["name"].is_string());
    let spec = &doc["spec"];
    check_object(spec, "spec");
    let actions = list(&crd["enums"]["action"]);
    assert!(actions.contains(&spec["defaultAction"].as_str().unwrap().to_owned()));
    for arch in spec["architectures"].as_array().into_iter().flatten() {
        assert!(list(&crd["enums"]["arch"]).contains(&arch.as_str().unwrap().to_owned()));
    }
    for rule in spec["syscalls"].as_array().into_iter().flatten() {
        check_object(rule, "syscall");
        assert!(actions.contains(&rule["action"].as_str().unwrap().to_owned()));
        assert!(rule["names"]
            .as_array()
            .is_some_and(|n| n.iter().all(Value::is_string)));
        if let Some(errno) = rule.get("errnoRet") {
            assert!(errno.is_string(), "errnoRet is a string in the CRD");
        }
        let args = rule["args"].as_array().cloned().unwrap_or_default();
        assert!(args.len() <= 6);
        for arg in &args {
            check_object(arg, "arg");
            assert!(list(&crd["enums"]["op"]).contains(&arg["op"].as_str().unwrap().to_owned()));
        }
    }
}

#[test]
fn output_has_the_crds_shape() {
    check_against_the_crd(&parsed(&convert(&recorded(), "ls").unwrap().yaml));
    let with_args = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "syscalls": [{ "names": ["personality"], "action": "SCMP_ACT_ALLOW",
                       "args": [{ "index": 0, "value": 8, "op": "SCMP_CMP_EQ" }] }],
    });
    check_against_the_crd(&parsed(&convert(&with_args, "p").unwrap().yaml));
}

/// A profile recorded with argument rules keeps them in the resource: each rule's
/// conditions, and clone3's own ENOSYS.
#[test]
fn argument_rules_survive_the_export() {
    use crate::profile::{
        arch::Arch,
        args::{masked_eq, Args},
        Profile,
    };
    let mut args = Args::default();
    args.add("socket", 2);
    args.add("clone3", 0x3d0f00);
    let profile =
        Profile::allowing_values(["read", "socket", "clone3"], &args, 38, &[Arch::X86_64]);
    let spec = parsed(&convert(profile.as_json(), "args").unwrap().yaml);
    check_against_the_crd(&spec);
    let rules = spec["spec"]["syscalls"].as_array().unwrap();
    let socket = rules
        .iter()
        .find(|r| r["names"] == json!(["socket"]))
        .unwrap();
    assert_eq!(socket["args"], json!([masked_eq(0, 0xffff_ffff, 2)]));
    let clone3 = rules
        .iter()
        .find(|r| r["names"] == json!(["clone3"]))
        .unwrap();
    assert_eq!(clone3["errnoRet"], "38");
    assert!(rules
        .iter()
        .any(|r| r["names"] == json!(["clone"]) && r["args"].is_array()));
}
