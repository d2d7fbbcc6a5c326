//! The seccomp profile: the JSON that podman, CRI-O, runc and crun read.
//!
//! The same document works as a containers-common profile (`--security-opt seccomp=FILE`) and
//! as the `linux.seccomp` object of an OCI runtime `config.json`.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::syscall_table::Arch;

/// `defaultErrnoRet` when none is asked for: ENOSYS, so libc's fallbacks (clone3 → clone,
/// statx → fstatat, ...) take their old path instead of failing with EPERM.
pub const DEFAULT_ERRNO: u32 = 38;

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

    #[test]
    fn empty_set_has_no_allow_rule() {
        let p = Profile::allowing([], DEFAULT_ERRNO, Arch::X86_64);
        assert_eq!(p.as_json()["syscalls"], json!([]));
    }
}
