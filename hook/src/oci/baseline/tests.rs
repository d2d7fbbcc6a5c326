use std::os::unix::fs::PermissionsExt;

use serde_json::json;

use super::*;
use crate::profile::{read::MAX_PROFILE_BYTES, validate};

/// A profile with every field kind the validator knows, shaped like containers-common's.
pub(crate) fn full_profile() -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "defaultErrno": "ENOSYS",
        "archMap": [{ "architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"] }],
        "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "listenerPath": "/run/listener.sock",
        "listenerMetadata": "m",
        "x-unknown": { "kept": true },
        "syscalls": [
            { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
              "errno": "EPERM", "comment": "no directories",
              "includes": { "arches": ["amd64", "x32"], "minKernel": "4.8" },
              "excludes": { "caps": ["CAP_SYS_ADMIN"] } },
            { "name": "personality", "action": "SCMP_ACT_ALLOW",
              "args": [{ "index": 0, "value": 0, "valueTwo": 0, "op": "SCMP_CMP_EQ" }] },
        ],
    })
}

/// A directory others may enter, as real baselines live in (/etc, /usr/share).
fn open_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn write(dir: &Path, content: &[u8], mode: u32) -> PathBuf {
    let path = dir.join("base.json");
    std::fs::write(&path, content).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn none() -> AllowedDirs {
    AllowedDirs::default()
}

#[test]
fn a_world_readable_profile_is_read_whole() {
    let dir = open_dir();
    let path = write(dir.path(), full_profile().to_string().as_bytes(), 0o644);
    assert_eq!(read(&path, &none()).unwrap(), full_profile());
}

#[test]
fn podmans_own_default_profile_is_a_profile() {
    let shipped = Path::new("/usr/share/containers/seccomp.json");
    let Ok(text) = std::fs::read(shipped) else {
        let why = format!(
            "{} is not installed (podman's containers-common)",
            shipped.display()
        );
        assert!(!e2e::gate(Some(why)));
        return;
    };
    let value: Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(validate(&value), Ok(()));
}

#[test]
fn a_private_file_is_refused_unless_its_directory_is_allowed() {
    let dir = open_dir();
    let secret = br#"{"auths": {"registry.example": {"auth": "c2VjcmV0LXRva2Vu"}}}"#;
    let path = write(dir.path(), secret, 0o600);
    let msg = read(&path, &none()).unwrap_err().to_string();
    assert!(msg.contains("not readable by every user"), "{msg}");
    assert!(msg.contains("--allowed-input-dir"), "{msg}");
    assert!(!msg.contains("c2VjcmV0"), "content echoed: {msg}");
    // Allowed, it is read, but a credential file is still no profile.
    let allowed = AllowedDirs::resolve("--allowed-input-dir", &[dir.path().into()]).unwrap();
    let msg = read(&path, &allowed).unwrap_err().to_string();
    assert!(msg.contains("no \"defaultAction\""), "{msg}");
    assert!(
        !msg.contains("c2VjcmV0") && !msg.contains("auths"),
        "echoed: {msg}"
    );
    // A private *profile* under an allowed directory is accepted.
    let path = write(dir.path(), full_profile().to_string().as_bytes(), 0o600);
    assert_eq!(read(&path, &allowed).unwrap(), full_profile());
}

#[test]
fn a_readable_file_in_a_closed_directory_is_private() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let path = write(dir.path(), full_profile().to_string().as_bytes(), 0o644);
    let msg = read(&path, &none()).unwrap_err().to_string();
    assert!(msg.contains("which others cannot enter"), "{msg}");
}

#[test]
fn json_that_is_not_a_profile_is_refused_without_echo() {
    for (doc, why) in [
        (json!(["secret-token"]), "not a JSON object"),
        (json!({ "secret-token": 1 }), "no \"defaultAction\""),
        (
            json!({ "defaultAction": "secret-token" }),
            "defaultAction is not a seccomp action",
        ),
        (
            json!({ "defaultAction": 1 }),
            "defaultAction is not a seccomp action",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": "secret-token" }),
            "syscalls is not an array",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": ["secret-token"] }),
            "syscalls[0] is not an object",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{ "names": ["read"] }] }),
            "syscalls[0] has no \"action\"",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{ "action": "SCMP_ACT_ALLOW" }] }),
            "neither",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{ "action": "SCMP_ACT_ALLOW", "names": ["Secret-Token"] }] }),
            "syscalls[0].names[0] is not a syscall name",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{ "action": "SCMP_ACT_ALLOW", "names": ["read"], "args": [{ "index": 9, "op": "SCMP_CMP_EQ" }] }] }),
            "args[0].index",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{ "action": "SCMP_ACT_ALLOW", "names": ["read"], "args": [{ "index": 0, "op": "secret-token" }] }] }),
            "args[0].op is not a comparison",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{ "action": "SCMP_ACT_ALLOW", "names": ["read"], "comment": ["secret-token"] }] }),
            "comment is not a string",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{ "action": "SCMP_ACT_ALLOW", "names": ["read"], "excludes": { "caps": ["secret-token"] } }] }),
            "excludes.caps[0] is not a capability",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": -1 }),
            "defaultErrnoRet is not a whole number",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": "secret-token" }),
            "defaultErrnoRet is not a whole number",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["secret-token"] }),
            "architectures[0] is not an architecture",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "archMap": [{ "subArchitectures": [] }] }),
            "archMap[0] has no \"architecture\"",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "flags": "secret-token" }),
            "flags is not an array",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": { "secret-token": 1 } }),
            "listenerPath is not a string",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                 "archMap": [{ "architecture": "SCMP_ARCH_X86_64" }] }),
            "both",
        ),
    ] {
        let problem = validate(&doc).unwrap_err();
        assert!(problem.contains(why), "{doc}: {problem}");
        assert!(
            !problem.contains("secret") && !problem.contains("Secret"),
            "echoed: {problem}"
        );
        let dir = open_dir();
        let path = write(dir.path(), doc.to_string().as_bytes(), 0o644);
        let msg = read(&path, &none()).unwrap_err().to_string();
        assert!(msg.contains("is not a seccomp profile"), "{msg}");
        assert_eq!(msg.lines().count(), 1, "{msg}");
    }
}

#[test]
fn nulls_count_as_unset_and_unknown_fields_are_fine() {
    let doc = json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": null, "architectures": null,
                      "anything": ["goes", 1], "defaultErrnoRet": null });
    assert_eq!(validate(&doc), Ok(()));
}

#[test]
fn bad_json_is_reported_by_position_only() {
    let dir = open_dir();
    let path = write(dir.path(), b"{\"secret-token\": ", 0o644);
    let msg = read(&path, &none()).unwrap_err().to_string();
    assert!(msg.contains("not valid JSON"), "{msg}");
    assert!(!msg.contains("secret-token"), "{msg}");
}

#[test]
fn fifo_device_directory_and_huge_files_are_refused_without_hanging() {
    let dir = open_dir();
    let fifo = dir.path().join("fifo");
    rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from(0o644)).unwrap();
    let refused = |path: &Path, why: &str| {
        let msg = read(path, &none()).unwrap_err().to_string();
        assert!(msg.contains(why), "{}: {msg}", path.display());
    };
    refused(&fifo, "not a regular file");
    refused(dir.path(), "not a regular file");
    // A device: /dev/zero would never end; it is refused before any read.
    refused(Path::new("/dev/zero"), "not a regular file");
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; MAX_PROFILE_BYTES as usize + 1]).unwrap();
    std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o644)).unwrap();
    refused(&big, "1 MiB");
    refused(&dir.path().join("missing.json"), "cannot read");
}

/// The baseline comes from a file anyone creating a container may point at: the validator
/// turns every input into a verdict, never a panic, and accepts no non-profile.
mod proptests {
    use proptest::prelude::*;

    use super::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z_]{0,12}".prop_map(Value::from),
            Just(json!("SCMP_ACT_ALLOW")),
            Just(json!("SCMP_ARCH_X86_64")),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("defaultAction".to_owned()),
                        Just("syscalls".to_owned()),
                        Just("names".to_owned()),
                        Just("action".to_owned()),
                        Just("architectures".to_owned()),
                        Just("archMap".to_owned()),
                        Just("defaultErrnoRet".to_owned()),
                        "[a-z]{1,8}"
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn reading_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let dir = open_dir();
            let path = write(dir.path(), &bytes, 0o644);
            let _ = read(&path, &none());
        }

        #[test]
        fn what_is_accepted_has_a_string_action_and_typed_rules(doc in json_value()) {
            if validate(&doc).is_ok() {
                prop_assert!(doc["defaultAction"].as_str().is_some_and(|a| a.starts_with("SCMP_ACT_")));
                if let Some(rules) = doc["syscalls"].as_array() {
                    for rule in rules {
                        prop_assert!(rule["action"].is_string());
                        prop_assert!(rule["names"].is_array() || rule["name"].is_string());
                    }
                }
            } else {
                prop_assert_eq!(validate(&doc).unwrap_err().lines().count(), 1);
            }
        }
    }
}
