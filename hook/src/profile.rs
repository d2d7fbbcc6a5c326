//! The seccomp profile: the JSON that podman, CRI-O, runc and crun read.
//!
//! The same document works as a containers-common profile (`--security-opt seccomp=FILE`) and
//! as the `linux.seccomp` object of an OCI runtime `config.json`.

use std::{
    collections::BTreeSet,
    fs::File,
    io::Read,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use serde_json::{json, Map, Value};

use crate::syscall_table::Arch;

/// `defaultErrnoRet` when none is asked for: ENOSYS, so libc's fallbacks (clone3 → clone,
/// statx → fstatat, ...) take their old path instead of failing with EPERM.
pub const DEFAULT_ERRNO: u32 = 38;

/// Allowed in every profile the OCI hook writes, recorded or not. After installing the filter,
/// the runtime's own thread runs on until execve, and whether it parks on a futex or returns
/// from a signal handler in that stretch depends on scheduling, not on the workload: over 25
/// identical runs of runc 1.1.5 under load, futex was recorded 24 times and rt_sigreturn twice,
/// and a profile missing either one crashed runc when enforced. (Kubernetes' Security Profiles
/// Operator merges whole runtime base profiles into recordings for the same reason.)
pub const RUNTIME_FLOOR: &[&str] = &["futex", "rt_sigreturn"];

/// A baseline larger than this is refused: real profiles are tens of KiB.
pub const MAX_BASELINE_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read the baseline profile {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    // Position only: a message must never echo the file's content.
    #[error("the baseline profile {path} is not valid JSON ({category} error at line {line}, column {column})")]
    Json {
        path: PathBuf,
        category: &'static str,
        line: usize,
        column: usize,
    },
    #[error("the baseline profile {path} is not a seccomp profile: {problem}")]
    Shape {
        path: PathBuf,
        problem: &'static str,
    },
}

/// Reads and checks a baseline (`if:`) profile: a regular file of at most 1 MiB holding a JSON
/// object whose `syscalls`, if present, is an array of objects.
pub fn read_baseline(path: &Path) -> Result<Value, BaselineError> {
    let read_err = |source| BaselineError::Read {
        path: path.to_owned(),
        source,
    };
    let shape = |problem| BaselineError::Shape {
        path: path.to_owned(),
        problem,
    };
    // O_NONBLOCK: opening a FIFO must not hang the hook (and the container start with it).
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(shape("it is not a regular file"));
    }
    if meta.len() > MAX_BASELINE_BYTES {
        return Err(shape("it is larger than 1 MiB"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_BASELINE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| BaselineError::Json {
        path: path.to_owned(),
        category: match e.classify() {
            serde_json::error::Category::Eof => "unexpected end",
            serde_json::error::Category::Syntax => "syntax",
            _ => "data",
        },
        line: e.line(),
        column: e.column(),
    })?;
    check_shape(&value).map_err(shape)?;
    Ok(value)
}

fn check_shape(value: &Value) -> Result<(), &'static str> {
    let object = value
        .as_object()
        .ok_or("the top level is not a JSON object")?;
    match object.get("syscalls") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(rules)) if rules.iter().all(Value::is_object) => Ok(()),
        Some(_) => Err("\"syscalls\" is not an array of rule objects"),
    }
}

/// A seccomp profile document.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile(Value);

impl Profile {
    /// A profile that allows exactly `names` on `arch` and fails everything else with `errno`.
    pub fn allowing<'a>(names: impl IntoIterator<Item = &'a str>, errno: u32, arch: Arch) -> Self {
        // Sorted and unique, so the same set always gives the same bytes.
        let names: BTreeSet<&str> = names.into_iter().collect();
        let rules = if names.is_empty() {
            vec![]
        } else {
            vec![json!({ "names": names, "action": "SCMP_ACT_ALLOW" })]
        };
        Profile(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": errno,
            // The native ABI only: a compat ABI was never recorded, and listing it would
            // allow the same names through a door nobody watched.
            "architectures": [arch.seccomp_name()],
            "syscalls": rules,
        }))
    }

    /// `baseline` extended with the recorded `names`: every baseline rule is kept as it is (all
    /// fields, known or not); names no baseline rule mentions are allowed in one added rule, so
    /// a syscall the baseline blocks stays blocked. The default action becomes SCMP_ACT_ERRNO
    /// (a recording is an allow-list), `defaultErrnoRet` is kept or set to `errno`, and the
    /// native architecture is added to `architectures` when missing.
    pub fn extending<'a>(
        baseline: &Value,
        names: impl IntoIterator<Item = &'a str>,
        errno: u32,
        arch: Arch,
    ) -> Self {
        let mut doc = baseline.as_object().cloned().unwrap_or_default();
        doc.insert("defaultAction".into(), json!("SCMP_ACT_ERRNO"));
        doc.entry("defaultErrnoRet").or_insert(json!(errno));
        add_architecture(&mut doc, arch);
        let mut rules = match doc.remove("syscalls") {
            Some(Value::Array(rules)) => rules,
            _ => Vec::new(),
        };
        let named = names_in_rules(&rules);
        let new: BTreeSet<&str> = names.into_iter().filter(|n| !named.contains(*n)).collect();
        if !new.is_empty() {
            rules.push(json!({ "names": new, "action": "SCMP_ACT_ALLOW" }));
        }
        doc.insert("syscalls".into(), Value::Array(rules));
        Profile(Value::Object(doc))
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

fn add_architecture(doc: &mut Map<String, Value>, arch: Arch) {
    let native = json!(arch.seccomp_name());
    match doc.get_mut("architectures") {
        Some(Value::Array(list)) => {
            if !list.contains(&native) {
                list.push(native);
            }
        }
        _ => {
            doc.insert("architectures".into(), json!([native]));
        }
    }
}

/// Every syscall name any rule mentions, in `names` or in the older single `name` field.
fn names_in_rules(rules: &[Value]) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for rule in rules {
        if let Some(Value::Array(names)) = rule.get("names") {
            named.extend(names.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        if let Some(Value::String(name)) = rule.get("name") {
            named.insert(name.clone());
        }
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_matches_what_runtimes_read() {
        let p = Profile::allowing(["read", "execve"], DEFAULT_ERRNO, Arch::X86_64);
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
        let p = Profile::allowing(["write", "read", "write", "close"], 1, Arch::Aarch64);
        assert_eq!(
            p.as_json()["syscalls"][0]["names"],
            json!(["close", "read", "write"])
        );
        assert_eq!(p.as_json()["architectures"], json!(["SCMP_ARCH_AARCH64"]));
        assert_eq!(p.as_json()["defaultErrnoRet"], json!(1));
    }

    #[test]
    fn same_set_gives_same_bytes_whatever_the_order() {
        let a = Profile::allowing(["openat", "read", "close"], DEFAULT_ERRNO, Arch::X86_64);
        let b = Profile::allowing(
            ["close", "openat", "read", "read"],
            DEFAULT_ERRNO,
            Arch::X86_64,
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
            "archMap": [{ "architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"] }],
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
            Arch::X86_64,
        );
        let doc = p.as_json();
        assert_eq!(doc["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(doc["defaultErrnoRet"], 1, "baseline's errno kept");
        assert_eq!(doc["archMap"], baseline()["archMap"]);
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

    #[test]
    fn extending_with_nothing_new_adds_no_rule() {
        let p = Profile::extending(&baseline(), ["mkdir"], 38, Arch::X86_64);
        assert_eq!(p.as_json()["syscalls"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn extending_a_bare_baseline_sets_defaults() {
        let p = Profile::extending(&json!({}), ["read"], 38, Arch::X86_64);
        assert_eq!(p, Profile::allowing(["read"], 38, Arch::X86_64));
    }

    fn write_temp(content: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("base.json");
        std::fs::write(&path, content).unwrap();
        (dir, path)
    }

    #[test]
    fn baseline_is_read_and_checked() {
        let (_d, path) = write_temp(baseline().to_string().as_bytes());
        assert_eq!(read_baseline(&path).unwrap(), baseline());
    }

    #[test]
    fn bad_baselines_are_refused_without_echoing_content() {
        for (content, why) in [
            (&b"{\"secret-token\": "[..], "not valid JSON"),
            (b"[\"secret-token\"]", "not a JSON object"),
            (b"{\"syscalls\": \"secret-token\"}", "not an array"),
            (b"{\"syscalls\": [\"secret-token\"]}", "not an array"),
        ] {
            let (_d, path) = write_temp(content);
            let msg = read_baseline(&path).unwrap_err().to_string();
            assert!(msg.contains(why), "{msg}");
            assert!(!msg.contains("secret-token"), "content echoed: {msg}");
        }
    }

    #[test]
    fn fifo_device_directory_and_huge_files_are_refused_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from(0o600)).unwrap();
        assert!(read_baseline(&fifo)
            .unwrap_err()
            .to_string()
            .contains("regular file"));
        assert!(read_baseline(dir.path())
            .unwrap_err()
            .to_string()
            .contains("regular file"));
        // A device: /dev/zero would never end; it is refused before any read.
        assert!(read_baseline(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string()
            .contains("regular file"));
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; MAX_BASELINE_BYTES as usize + 1]).unwrap();
        assert!(read_baseline(&big)
            .unwrap_err()
            .to_string()
            .contains("1 MiB"));
        let missing = dir.path().join("missing.json");
        assert!(read_baseline(&missing)
            .unwrap_err()
            .to_string()
            .contains("cannot read"));
    }

    #[test]
    fn empty_set_has_no_allow_rule() {
        let p = Profile::allowing([], DEFAULT_ERRNO, Arch::X86_64);
        assert_eq!(p.as_json()["syscalls"], json!([]));
    }
}

/// The baseline comes from a file anyone creating a container may point at: reading and merging
/// must turn every input into a profile or an error, never a panic.
#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z_]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("syscalls".to_owned()),
                        Just("names".to_owned()),
                        Just("architectures".to_owned()),
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
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("base.json");
            std::fs::write(&path, &bytes).unwrap();
            let _ = read_baseline(&path);
        }

        #[test]
        fn merging_any_accepted_baseline_keeps_every_recorded_name(
            baseline in json_value(),
            names in prop::collection::btree_set("[a-z_]{1,10}", 0..8),
        ) {
            prop_assume!(check_shape(&baseline).is_ok());
            let profile = Profile::extending(&baseline, names.iter().map(String::as_str), 38, Arch::NATIVE);
            let doc = profile.as_json();
            let rules = doc["syscalls"].as_array().unwrap();
            let named = names_in_rules(rules);
            for name in &names {
                prop_assert!(named.contains(name.as_str()), "{} lost", name);
            }
            prop_assert_eq!(&doc["defaultAction"], "SCMP_ACT_ERRNO");
            let _ = profile.to_bytes();
        }
    }
}
