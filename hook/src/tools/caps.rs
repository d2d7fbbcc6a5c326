//! `oci-seccomp-bpf-hook caps`: a capability mask decoded as `capsh --decode` does (one line
//! per capability: number, name, what it allows), a process's five sets, and what a traced
//! container holds beside what it has used so far; and two capability reports compared.

use serde_json::{json, Value};

use crate::{
    caps::{names, process, report::Report, set::CapSet},
    ebpf::object,
};

use super::snapshot::{self, SnapshotError};

/// `mask` decoded: `0x...=cap_a,cap_b` (capsh's first line), then one line per capability.
pub fn decode(mask: CapSet) -> String {
    let lower: Vec<String> = mask.names().iter().map(|n| n.to_lowercase()).collect();
    let mut text = format!("0x{:016x}={}\n", mask.0, lower.join(","));
    for number in mask.numbers() {
        let what = names::allows(number).unwrap_or("unknown to this tool");
        text.push_str(&format!(
            "{number:>3}  {:<22}  {what}\n",
            names::name(number)
        ));
    }
    text
}

/// The five sets of process `pid`, one line each.
pub fn of_process(pid: u32) -> std::io::Result<String> {
    let caps = process::read(pid)?;
    let mut text = String::new();
    for ((field, what), set) in process::SETS.iter().zip(caps.all()) {
        let names = set.short_names().join(",");
        text.push_str(&format!("{field} {what:<12} 0x{:016x} {names}\n", set.0));
    }
    Ok(text)
}

/// A traced container's effective set (its init's) beside what it has used so far, and
/// what it holds without having used it.
pub fn of_container(container: &str) -> Result<String, SnapshotError> {
    let registry = object::registry()?;
    let (programs, live) = snapshot::find(&registry, container)?;
    let report = snapshot::report_so_far(&programs, &live)?;
    let effective = process::read(live.pid)
        .map_err(|source| SnapshotError::Process {
            pid: live.pid,
            source,
        })?
        .effective;
    let line = |set: CapSet| match set.is_empty() {
        true => "none".to_owned(),
        false => set.short_names().join(","),
    };
    let used = match &report.observed_by {
        Ok(_) => line(report.needed),
        Err(reason) => format!("unknown: {reason}"),
    };
    Ok(format!(
        "container {} (PID {})\n  holds (effective):  {}\n  used so far:        {used}\n  \
         could drop:         {}\n",
        live.label.id,
        live.pid,
        line(effective),
        line(effective.minus(report.needed)),
    ))
}

/// How two capability reports differ: what each needs that the other does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapsDiff {
    pub only_a: CapSet,
    pub only_b: CapSet,
}

impl CapsDiff {
    pub fn is_empty(&self) -> bool {
        self.only_a.is_empty() && self.only_b.is_empty()
    }
}

/// The needed sets of `a` and `b` compared (a CI gate: "did my container gain a capability?");
/// `Err` when either observed nothing.
pub fn diff(a: &Report, b: &Report) -> Result<CapsDiff, String> {
    for report in [a, b] {
        if let Err(reason) = &report.observed_by {
            return Err(reason.clone());
        }
    }
    Ok(CapsDiff {
        only_a: a.needed.minus(b.needed),
        only_b: b.needed.minus(a.needed),
    })
}

pub fn diff_text(diff: &CapsDiff, a: &str, b: &str) -> String {
    if diff.is_empty() {
        return format!("{a} and {b} need the same capabilities\n");
    }
    let mut text = String::new();
    for (set, name) in [(diff.only_a, a), (diff.only_b, b)] {
        if !set.is_empty() {
            text.push_str(&format!(
                "needed only in {name}: {}\n",
                set.names().join(" ")
            ));
        }
    }
    text
}

pub fn diff_json(diff: &CapsDiff, a: &str, b: &str) -> Value {
    json!({
        "a": a, "b": b, "same": diff.is_empty(),
        "only_a": diff.only_a.names(), "only_b": diff.only_b.names(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mask_decodes_like_capsh_with_a_line_each() {
        let text = decode(CapSet::parse_hex("0x3").unwrap());
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("0x0000000000000003=cap_chown,cap_dac_override")
        );
        assert!(lines.next().unwrap().contains("CAP_CHOWN"));
        assert_eq!(lines.count(), 1);
        let me = of_process(std::process::id()).unwrap();
        assert_eq!(me.lines().count(), 5);
        assert!(me.starts_with("CapInh inheritable"));
    }
}
