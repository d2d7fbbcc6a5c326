//! Is a JSON document a seccomp profile? The fields runc, crun and podman (containers-common)
//! read must have the types they expect; fields nobody here knows are kept as they are.
//! Problems are told by the field's path (`syscalls[3].args[0].op`) in our own words: never a
//! value and never a key this module does not know, since either may come from a secret.

use serde_json::{Map, Value};

const ACTIONS: [&str; 9] = [
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];
const OPERATORS: [&str; 7] = [
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

type Problem = String;

/// `Ok` when `value` is a seccomp profile; otherwise what is wrong, in one line.
pub fn validate(value: &Value) -> Result<(), Problem> {
    let doc = value
        .as_object()
        .ok_or("the top level is not a JSON object")?;
    match doc.get("defaultAction") {
        Some(v) => action(v, "defaultAction")?,
        None => return Err("it has no \"defaultAction\"".into()),
    }
    optional(doc, "defaultErrnoRet", u32_value)?;
    optional(doc, "defaultErrno", errno_name)?;
    optional(doc, "architectures", |v, at| each(v, at, arch))?;
    optional(doc, "archMap", |v, at| each(v, at, arch_map_entry))?;
    optional(doc, "flags", |v, at| each(v, at, flag))?;
    optional(doc, "listenerPath", string)?;
    optional(doc, "listenerMetadata", string)?;
    optional(doc, "syscalls", |v, at| each(v, at, rule))?;
    let listed = |key| {
        doc.get(key)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    };
    if listed("architectures") && listed("archMap") {
        return Err("it has both \"architectures\" and \"archMap\", which podman refuses".into());
    }
    Ok(())
}

/// Checks `doc[key]` with `check` when present and not null (Go decoders take null as unset).
fn optional(
    doc: &Map<String, Value>,
    key: &str,
    check: impl Fn(&Value, &str) -> Result<(), Problem>,
) -> Result<(), Problem> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(v) => check(v, key),
    }
}

fn each(
    v: &Value,
    at: &str,
    check: impl Fn(&Value, &str) -> Result<(), Problem>,
) -> Result<(), Problem> {
    let items = v
        .as_array()
        .ok_or_else(|| format!("{at} is not an array"))?;
    items
        .iter()
        .enumerate()
        .try_for_each(|(i, item)| check(item, &format!("{at}[{i}]")))
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, Problem> {
    v.as_object()
        .ok_or_else(|| format!("{at} is not an object"))
}

fn string(v: &Value, at: &str) -> Result<(), Problem> {
    v.as_str()
        .map(drop)
        .ok_or_else(|| format!("{at} is not a string"))
}

/// A string of 1 to 64 `allowed` characters.
fn word(v: &Value, at: &str, what: &str, allowed: fn(char) -> bool) -> Result<(), Problem> {
    let text = v.as_str().ok_or_else(|| format!("{at} is not a string"))?;
    if text.is_empty() || text.len() > 64 || !text.chars().all(allowed) {
        return Err(format!("{at} is not {what}"));
    }
    Ok(())
}

fn one_of(v: &Value, at: &str, what: &str, known: &[&str]) -> Result<(), Problem> {
    match v.as_str() {
        Some(s) if known.contains(&s) => Ok(()),
        _ => Err(format!("{at} is not {what}")),
    }
}

fn action(v: &Value, at: &str) -> Result<(), Problem> {
    one_of(v, at, "a seccomp action (SCMP_ACT_...)", &ACTIONS)
}

fn upper(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
}

fn prefixed(v: &Value, at: &str, prefix: &str, what: &str) -> Result<(), Problem> {
    word(v, at, what, upper)?;
    match v.as_str() {
        Some(s) if s.starts_with(prefix) => Ok(()),
        _ => Err(format!("{at} is not {what}")),
    }
}

fn arch(v: &Value, at: &str) -> Result<(), Problem> {
    prefixed(v, at, "SCMP_ARCH_", "an architecture (SCMP_ARCH_...)")
}

fn flag(v: &Value, at: &str) -> Result<(), Problem> {
    prefixed(
        v,
        at,
        "SECCOMP_FILTER_FLAG_",
        "a filter flag (SECCOMP_FILTER_FLAG_...)",
    )
}

fn capability(v: &Value, at: &str) -> Result<(), Problem> {
    prefixed(v, at, "CAP_", "a capability (CAP_...)")
}

fn syscall_name(v: &Value, at: &str) -> Result<(), Problem> {
    word(v, at, "a syscall name", |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
    })
}

fn go_arch(v: &Value, at: &str) -> Result<(), Problem> {
    word(v, at, "an architecture name", |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
    })
}

/// containers-common's errno names (`EPERM`), beside the numeric `errnoRet`.
fn errno_name(v: &Value, at: &str) -> Result<(), Problem> {
    prefixed(v, at, "E", "an errno name (E...)")
}

fn u32_value(v: &Value, at: &str) -> Result<(), Problem> {
    match v.as_u64() {
        Some(n) if u32::try_from(n).is_ok() => Ok(()),
        _ => Err(format!("{at} is not a whole number from 0 to 4294967295")),
    }
}

fn u64_value(v: &Value, at: &str) -> Result<(), Problem> {
    v.as_u64()
        .map(drop)
        .ok_or_else(|| format!("{at} is not a whole number from 0 to 2^64-1"))
}

fn arch_map_entry(v: &Value, at: &str) -> Result<(), Problem> {
    let entry = object(v, at)?;
    match entry.get("architecture") {
        Some(a) => arch(a, &format!("{at}.architecture"))?,
        None => return Err(format!("{at} has no \"architecture\"")),
    }
    optional(entry, "subArchitectures", |v, _| {
        each(v, &format!("{at}.subArchitectures"), arch)
    })
}

fn rule(v: &Value, at: &str) -> Result<(), Problem> {
    let rule = object(v, at)?;
    let field = |key: &str| format!("{at}.{key}");
    match rule.get("action") {
        Some(a) => action(a, &field("action"))?,
        None => return Err(format!("{at} has no \"action\"")),
    }
    let names = rule.get("names").filter(|v| !v.is_null());
    let name = rule.get("name").filter(|v| !v.is_null());
    if names.is_none() && name.is_none() {
        return Err(format!("{at} has neither \"names\" nor \"name\""));
    }
    if let Some(names) = names {
        each(names, &field("names"), syscall_name)?;
    }
    if let Some(name) = name {
        syscall_name(name, &field("name"))?;
    }
    optional(rule, "errnoRet", |v, _| u32_value(v, &field("errnoRet")))?;
    optional(rule, "errno", |v, _| errno_name(v, &field("errno")))?;
    optional(rule, "comment", |v, _| string(v, &field("comment")))?;
    optional(rule, "args", |v, _| each(v, &field("args"), argument))?;
    for key in ["includes", "excludes"] {
        optional(rule, key, |v, _| filter(v, &field(key)))?;
    }
    Ok(())
}

fn argument(v: &Value, at: &str) -> Result<(), Problem> {
    let arg = object(v, at)?;
    match arg.get("index").and_then(Value::as_u64) {
        Some(0..=5) => {}
        _ => return Err(format!("{at}.index is not an argument index from 0 to 5")),
    }
    match arg.get("op") {
        Some(op) => one_of(
            op,
            &format!("{at}.op"),
            "a comparison (SCMP_CMP_...)",
            &OPERATORS,
        )?,
        None => return Err(format!("{at} has no \"op\"")),
    }
    for key in ["value", "valueTwo"] {
        optional(arg, key, |v, _| u64_value(v, &format!("{at}.{key}")))?;
    }
    Ok(())
}

/// `includes`/`excludes` of containers-common: conditions on capabilities, arches, kernel.
fn filter(v: &Value, at: &str) -> Result<(), Problem> {
    let filter = object(v, at)?;
    optional(filter, "caps", |v, _| {
        each(v, &format!("{at}.caps"), capability)
    })?;
    // Go's names here (amd64, arm64, x32), not libseccomp's.
    optional(filter, "arches", |v, _| {
        each(v, &format!("{at}.arches"), go_arch)
    })?;
    optional(filter, "minKernel", |v, _| {
        string(v, &format!("{at}.minKernel"))
    })
}
