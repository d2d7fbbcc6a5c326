//! The capability report: what a container needed, what it tried and went without, what the
//! kernel checked quietly, what its executed files carry, and the forms people paste to run it
//! with exactly that (podman and docker flags, a Kubernetes `securityContext`, compose, OCI
//! `process.capabilities`). Its JSON fields are stable; the README documents them.

use std::path::Path;

use serde_json::{json, Value};

use super::{
    file::{self, FileCaps},
    set::CapSet,
};

/// What the programs recorded for one container: capability numbers, and the names of the
/// files its started tasks executed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checks {
    pub granted: CapSet,
    pub denied: CapSet,
    pub quiet: CapSet,
    /// Checked where the kernel did not use the verdict (see `contract::WEIGHED_CALLS`).
    pub unused: CapSet,
    pub executed: Vec<String>,
    /// Executions whose file's name could not be kept (past `contract::EXEC_QUOTA`
    /// distinct names, or a full map): their file capabilities are unknown.
    pub executed_not_kept: u64,
}

/// A container's capability report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// How the checks were seen, or why they could not be.
    pub observed_by: Result<String, String>,
    pub needed: CapSet,
    pub attempted: CapSet,
    pub quiet: CapSet,
    /// Checked, but the kernel did the same whatever the verdict: neither needed nor attempted.
    pub unused: CapSet,
    pub files: Vec<FileCaps>,
    /// Executed files whose capabilities could not be read, and why.
    pub not_inspected: Vec<(String, String)>,
    /// Executions whose file's name was not kept ([`Checks::executed_not_kept`]).
    pub not_kept: u64,
    /// Whether the container's process runs as root (the OCI form differs).
    pub root_user: bool,
}

impl Report {
    /// The report for `checks` (`None`: they could not be observed, `observed_by` says why),
    /// reading executed files' capabilities inside `root`, the container's root directory.
    pub fn build(
        observed_by: Result<String, String>,
        checks: Option<&Checks>,
        root: &Path,
        root_user: bool,
    ) -> Self {
        let empty = Checks::default();
        let checks = checks.unwrap_or(&empty);
        let (files, not_inspected) = file_caps(root, &checks.executed);
        let from_files = files
            .iter()
            .fold(CapSet::default(), |s, f| s.union(f.permitted));
        let needed = checks.granted.union(from_files);
        Self {
            observed_by,
            needed,
            attempted: checks.denied.minus(needed),
            quiet: checks.quiet.minus(needed),
            unused: checks.unused.minus(needed),
            files,
            not_inspected,
            not_kept: checks.executed_not_kept,
            root_user,
        }
    }

    /// Pretty JSON with a final newline, as the report file holds it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes =
            serde_json::to_vec_pretty(&self.to_json()).expect("a JSON value always serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Why `needed` may miss capabilities, in one line; `None` when nothing was lost.
    pub fn incomplete(&self) -> Option<String> {
        (self.not_kept > 0).then(|| {
            format!(
                "the capability set may be incomplete: the file names of {} executions were not \
                 kept (a container keeps {} distinct names), so file capabilities of those files \
                 are not in it; check the files the workload runs with getcap",
                self.not_kept,
                crate::contract::EXEC_QUOTA
            )
        })
    }

    /// What the user must know of this report, a line each: why checks could not be
    /// observed, or why the set may be incomplete.
    pub fn warnings(&self) -> Vec<String> {
        let unobserved = self.observed_by.as_ref().err().cloned();
        unobserved.into_iter().chain(self.incomplete()).collect()
    }

    /// One line for logs.
    pub fn summary(&self) -> String {
        match &self.observed_by {
            Ok(_) if self.needed.is_empty() => "needs no capability".into(),
            Ok(_) => format!("needs {}", self.needed.short_names().join(",")),
            Err(reason) => reason.clone(),
        }
    }

    pub fn to_json(&self) -> Value {
        let Ok(observed_by) = &self.observed_by else {
            return json!({
                "observed_by": null,
                "unavailable": self.observed_by.as_ref().err(),
                "needed": null,
            });
        };
        let files: Vec<Value> = self
            .files
            .iter()
            .map(|f| json!({ "path": f.path, "permitted": f.permitted.names() }))
            .collect();
        let not_inspected: Vec<Value> = self
            .not_inspected
            .iter()
            .map(|(path, why)| json!({ "path": path, "reason": why }))
            .collect();
        json!({
            "observed_by": observed_by,
            "unavailable": null,
            "user": if self.root_user { "root" } else { "non-root" },
            "needed": self.needed.names(),
            "attempted": self.attempted.names(),
            "checked_quietly": self.quiet.names(),
            "checked_without_effect": self.unused.names(),
            "from_file_capabilities": files,
            "executables_not_inspected": not_inspected,
            "executions_not_kept": self.not_kept,
            "run_with": run_with(self.needed, self.root_user),
            "notes": self.notes(observed_by),
        })
    }

    /// Whether `doc` has a report's shape (rather than a profile's).
    pub fn looks_like(doc: &Value) -> bool {
        doc.get("observed_by").is_some() && doc.get("needed").is_some()
    }

    /// A report as [`Report::to_json`] wrote it; `None` when `doc` is not one.
    pub fn from_json(doc: &Value) -> Option<Self> {
        let set = |key: &str| set_of_names(&doc[key]);
        if let Some(reason) = doc["unavailable"].as_str() {
            return Some(Self::unavailable(reason.to_owned()));
        }
        let files = doc["from_file_capabilities"].as_array()?;
        let files = files
            .iter()
            .map(|f| {
                Some(FileCaps {
                    path: f["path"].as_str()?.to_owned(),
                    permitted: set_of_names(&f["permitted"])?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            observed_by: Ok(doc["observed_by"].as_str()?.to_owned()),
            needed: set("needed")?,
            attempted: set("attempted")?,
            quiet: set("checked_quietly")?,
            // Reports written before this field existed had none.
            unused: set_of_names(&doc["checked_without_effect"]).unwrap_or_default(),
            files,
            not_inspected: Vec::new(),
            // Reports written before this field existed kept every name they saw.
            not_kept: doc["executions_not_kept"].as_u64().unwrap_or(0),
            root_user: doc["user"].as_str() != Some("non-root"),
        })
    }

    fn unavailable(reason: String) -> Self {
        Self {
            observed_by: Err(reason),
            needed: CapSet::default(),
            attempted: CapSet::default(),
            quiet: CapSet::default(),
            unused: CapSet::default(),
            files: Vec::new(),
            not_inspected: Vec::new(),
            not_kept: 0,
            root_user: true,
        }
    }

    /// One report needing what any of `reports` needs (runs of one application on several
    /// nodes or inputs); non-root when any of them ran as another user. `Err` names the first
    /// report that observed nothing.
    pub fn union<'a>(reports: impl IntoIterator<Item = &'a Report>) -> Result<Self, String> {
        let mut merged: Option<Self> = None;
        for report in reports {
            if let Err(reason) = &report.observed_by {
                return Err(reason.clone());
            }
            let Some(m) = merged.as_mut() else {
                merged = Some(report.clone());
                continue;
            };
            m.needed = m.needed.union(report.needed);
            m.attempted = m.attempted.union(report.attempted).minus(m.needed);
            m.quiet = m.quiet.union(report.quiet).minus(m.needed);
            m.unused = m.unused.union(report.unused).minus(m.needed);
            for file in &report.files {
                if !m.files.contains(file) {
                    m.files.push(file.clone());
                }
            }
            m.root_user &= report.root_user;
            m.not_kept += report.not_kept;
        }
        merged.ok_or_else(|| "nothing to merge: give at least one report".to_owned())
    }

    fn notes(&self, observed_by: &str) -> Vec<String> {
        let mut notes: Vec<String> = self.incomplete().into_iter().collect();
        if observed_by.starts_with("tracepoint") {
            notes.push(
                "the capability:cap_capable tracepoint carries no audit option: the kernel's \
                 quiet CAP_SYS_ADMIN check on writable mappings shows as attempted (or needed \
                 where CAP_SYS_ADMIN was granted)"
                    .to_owned(),
            );
        }
        notes.extend(unweighed_note(observed_by, self.needed));
        if !self.needed.minus(CapSet::of([10])).is_empty() {
            notes.push(
                "Kubernetes' restricted Pod Security level allows adding only \
                 NET_BIND_SERVICE"
                    .to_owned(),
            );
        }
        if !self.root_user && !self.needed.is_empty() {
            notes.push(
                "Kubernetes gives a non-root container no ambient capabilities: `add` reaches \
                 its process only through file capabilities (podman and docker set ambient)"
                    .to_owned(),
            );
        }
        notes
    }
}

/// What a report says of the checks only the tracepoint program weighs against their call
/// (`contract::WEIGHED_CALLS`: capset's CAP_SETPCAP, the chmod family's CAP_FSETID), where
/// another program saw them.
fn unweighed_note(observed_by: &str, needed: CapSet) -> Option<String> {
    const SETPCAP: u32 = 8;
    const FSETID: u32 = 4;
    let counted = observed_by.starts_with("kprobe") || observed_by.starts_with("fexit");
    if counted && (needed.contains(SETPCAP) || needed.contains(FSETID)) {
        return Some(
            "CAP_SETPCAP and CAP_FSETID may be needed here only by checks whose verdict the \
             kernel ignored (capset(2) not raising the inheritable set beyond permitted, chmod \
             without S_ISGID): only the capability:cap_capable tracepoint (Linux 6.14+) tells \
             them apart; try the set without them"
                .to_owned(),
        );
    }
    observed_by.starts_with("fexit").then(|| {
        "capset(2)'s CAP_SETPCAP check bypasses security_capable, so fexit cannot see it: a \
         workload that raises its inheritable set beyond its permitted set needs CAP_SETPCAP \
         without this report saying so"
            .to_owned()
    })
}

/// A JSON array of `CAP_*` names as a set; `None` when it is not one or names one unknown.
fn set_of_names(names: &Value) -> Option<CapSet> {
    let numbers: Option<Vec<u32>> = names
        .as_array()?
        .iter()
        .map(|n| n.as_str().and_then(super::names::number))
        .collect();
    Some(CapSet::of(numbers?))
}

/// The forms that run a container with exactly `set`.
fn run_with(set: CapSet, root_user: bool) -> Value {
    let short = set.short_names();
    let flags = match short.is_empty() {
        true => "--cap-drop=ALL".to_owned(),
        false => format!("--cap-drop=ALL --cap-add={}", short.join(",")),
    };
    let names = set.names();
    let (inheritable, ambient) = match root_user {
        true => (Vec::new(), Vec::new()),
        false => (names.clone(), names.clone()),
    };
    json!({
        "podman": flags,
        "docker": flags,
        "kubernetes": { "securityContext": { "capabilities": { "drop": ["ALL"], "add": short } } },
        "compose": { "cap_drop": ["ALL"], "cap_add": short },
        "oci": { "process": { "capabilities": {
            "bounding": names, "effective": names, "permitted": names,
            "inheritable": inheritable, "ambient": ambient,
        } } },
    })
}

/// The file capabilities of each executed file that has any, and the files that could not be
/// read (a relative name, or a file gone or unreadable), each once.
fn file_caps(root: &Path, executed: &[String]) -> (Vec<FileCaps>, Vec<(String, String)>) {
    let mut files = Vec::new();
    let mut not_inspected = Vec::new();
    let mut paths: Vec<&String> = executed.iter().collect();
    paths.sort();
    paths.dedup();
    for path in paths {
        if !path.starts_with('/') {
            not_inspected.push((path.clone(), "a relative name".into()));
            continue;
        }
        match file::read_in_root(root, path) {
            Ok(Some(permitted)) => files.push(FileCaps {
                path: path.clone(),
                permitted,
            }),
            Ok(None) => {}
            Err(e) => not_inspected.push((path.clone(), e.to_string())),
        }
    }
    (files, not_inspected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(granted: &[u32], denied: &[u32], quiet: &[u32]) -> Checks {
        Checks {
            granted: CapSet::of(granted.iter().copied()),
            denied: CapSet::of(denied.iter().copied()),
            quiet: CapSet::of(quiet.iter().copied()),
            unused: CapSet::default(),
            executed: vec!["/bin/true".into(), "relative".into()],
            executed_not_kept: 0,
        }
    }

    /// Executions whose names were not kept are counted in the report, said in its notes and
    /// by `incomplete`, survive a read back, and add up in a union; none, and nothing is said.
    #[test]
    fn names_not_kept_are_told() {
        let mut seen = checks(&[13], &[], &[]);
        seen.executed.clear();
        let whole = Report::build(Ok("tracepoint".into()), Some(&seen), Path::new("/"), true);
        assert_eq!(whole.incomplete(), None);
        assert_eq!(whole.to_json()["executions_not_kept"], 0);
        seen.executed_not_kept = 4000;
        let report = Report::build(Ok("tracepoint".into()), Some(&seen), Path::new("/"), true);
        let why = report.incomplete().expect("told");
        assert!(
            why.contains("4000") && why.contains("may be incomplete"),
            "{why}"
        );
        let doc = report.to_json();
        assert_eq!(doc["executions_not_kept"], 4000);
        assert!(doc["notes"].to_string().contains("getcap"), "{doc}");
        assert_eq!(Report::from_json(&doc).as_ref(), Some(&report));
        let both = Report::union([&report, &whole, &report]).unwrap();
        assert_eq!(both.not_kept, 8000);
    }

    #[test]
    fn granted_is_needed_and_the_rest_is_told_apart() {
        let seen = checks(&[0, 6], &[0, 13], &[21]);
        let report = Report::build(
            Ok("fexit security_capable".into()),
            Some(&seen),
            Path::new("/nonexistent"),
            true,
        );
        let doc = report.to_json();
        assert_eq!(doc["needed"], json!(["CAP_CHOWN", "CAP_SETGID"]));
        assert_eq!(doc["attempted"], json!(["CAP_NET_RAW"]));
        assert_eq!(doc["checked_quietly"], json!(["CAP_SYS_ADMIN"]));
        assert_eq!(
            doc["run_with"]["podman"],
            "--cap-drop=ALL --cap-add=CHOWN,SETGID"
        );
        let caps = &doc["run_with"]["kubernetes"]["securityContext"]["capabilities"];
        assert_eq!(caps["add"], json!(["CHOWN", "SETGID"]));
        assert_eq!(
            doc["run_with"]["oci"]["process"]["capabilities"]["ambient"],
            json!([])
        );
        assert_eq!(
            doc["executables_not_inspected"].as_array().unwrap().len(),
            2
        );
        assert_eq!(report.summary(), "needs CHOWN,SETGID");
    }

    /// capset's SETPCAP check that decided nothing is neither needed nor attempted, unless
    /// another check needed it; older reports without the field still read.
    #[test]
    fn a_check_without_effect_is_neither_needed_nor_attempted() {
        let mut seen = checks(&[6], &[], &[]);
        seen.unused = CapSet::of([8, 6]);
        seen.executed.clear();
        let report = Report::build(Ok("tracepoint".into()), Some(&seen), Path::new("/"), true);
        let doc = report.to_json();
        assert_eq!(doc["needed"], json!(["CAP_SETGID"]));
        assert_eq!(doc["attempted"], json!([]));
        assert_eq!(doc["checked_without_effect"], json!(["CAP_SETPCAP"]));
        assert_eq!(Report::from_json(&doc), Some(report));
        let mut old = doc.clone();
        old.as_object_mut()
            .unwrap()
            .remove("checked_without_effect");
        assert_eq!(Report::from_json(&old).unwrap().unused, CapSet::default());
    }

    #[test]
    fn setpcap_from_a_kprobe_is_told_to_be_possibly_unweighed() {
        let seen = checks(&[8], &[], &[]);
        let kprobe = Report::build(
            Ok("kprobe cap_capable".into()),
            Some(&seen),
            Path::new("/"),
            true,
        );
        let notes = kprobe.to_json()["notes"].to_string();
        assert!(notes.contains("capset"), "{notes}");
        let tracepoint = Report::build(Ok("tracepoint".into()), Some(&seen), Path::new("/"), true);
        assert!(!tracepoint.to_json()["notes"].to_string().contains("capset"));
    }

    #[test]
    fn non_root_gets_ambient_and_nothing_needed_drops_all() {
        let report = Report::build(
            Ok("t".into()),
            Some(&checks(&[10], &[], &[])),
            Path::new("/"),
            false,
        );
        let oci = &report.to_json()["run_with"]["oci"]["process"]["capabilities"];
        assert_eq!(oci["ambient"], json!(["CAP_NET_BIND_SERVICE"]));
        assert_eq!(oci["inheritable"], oci["permitted"]);
        let none = Report::build(
            Ok("t".into()),
            Some(&Checks::default()),
            Path::new("/"),
            true,
        );
        assert_eq!(none.to_json()["run_with"]["podman"], "--cap-drop=ALL");
        assert_eq!(none.summary(), "needs no capability");
    }

    #[test]
    fn unavailable_is_never_an_empty_set() {
        let report = Report::build(Err("no way".into()), None, Path::new("/"), true);
        let doc = report.to_json();
        assert_eq!(doc["needed"], Value::Null);
        assert_eq!(doc["unavailable"], "no way");
        assert_eq!(report.summary(), "no way");
    }
}
