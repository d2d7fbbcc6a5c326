//! How a recording becomes a profile: the same [`Recipe`] for the final profile, for a
//! snapshot, and for `record`, so that they can never differ.

use serde_json::{json, Value};

use super::{arch::Arch, args::Args, document::Profile, runtime::Runtime};

/// What a profile needs from a recording: the architectures used (the native one first) and
/// the names recorded through any of them. One `names` list serves every architecture of a
/// profile: runc and crun (libseccomp) resolve each name on each architecture that has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub arches: Vec<Arch>,
    pub names: Vec<&'static str>,
    /// The argument values of the calls whose arguments are recorded, all ABIs together (the
    /// rules of a profile hold on each of its architectures).
    pub args: Args,
}

/// `defaultErrnoRet` when none is asked for: ENOSYS, so libc's fallbacks (clone3 → clone,
/// statx → fstatat, ...) take their old path instead of failing with EPERM.
pub const DEFAULT_ERRNO: u32 = 38;

/// Allowed in every profile the OCI hook writes, recorded or not, as part of its runtime's
/// calls (`runtime::Runtime::calls_after_filter`). After installing the filter,
/// the runtime's own thread runs on until execve, and whether it parks on a futex or returns
/// from a signal handler in that stretch depends on scheduling, not on the workload: over 25
/// identical runs of runc 1.1.5 under load, futex was recorded 24 times and rt_sigreturn twice,
/// and a profile missing either one crashed runc when enforced. (Kubernetes' Security Profiles
/// Operator merges whole runtime base profiles into recordings for the same reason.)
/// `restart_syscall` is the kernel's choice too: a task stopped (SIGSTOP, a debugger, job
/// control) in an interrupted sleep resumes it that way. A sleep recorded without a stop, then
/// stopped and continued under its profile, failed with ENOSYS without it (e2e
/// `a_stopped_and_continued_sleep_runs_under_its_profile`). podman's default profile allows it
/// unconditionally. `sched_yield` is the Go scheduler of runc's init, under the filter, in
/// the same stretch: one of 20 identical recordings had it (a fresh-clone CI run, 2026-11-23); runc
/// ignores its result, but a profile must not depend on scheduling. podman allows it too.
pub const RUNTIME_FLOOR: &[&str] = &["futex", "restart_syscall", "rt_sigreturn", "sched_yield"];

/// How a recording becomes a profile: the same for the final profile and for a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    /// `defaultErrnoRet` unless the baseline sets one.
    pub errno: u32,
    /// The `if:` baseline to extend, validated.
    pub baseline: Option<Value>,
    /// The runtime whose calls after its filter install are added (containers started by a
    /// runtime; not `record`).
    pub runtime: Option<Runtime>,
}

impl Recipe {
    /// The profile for `recorded`.
    pub fn build(&self, recorded: &Recorded) -> Profile {
        let mut names = recorded.names.clone();
        if let Some(runtime) = self.runtime {
            names.extend(runtime.calls_after_filter());
        }
        match &self.baseline {
            Some(baseline) => Profile::extending_values(
                baseline,
                names,
                &recorded.args,
                self.errno,
                &recorded.arches,
            ),
            None => Profile::allowing_values(names, &recorded.args, self.errno, &recorded.arches),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "errno": self.errno,
            "baseline": self.baseline,
            // Read by older binaries (`snapshot` of a newer tracer's container).
            "runtime_floor": self.runtime.is_some(),
            "runtime": self.runtime.map(Runtime::name),
        })
    }

    pub fn from_json(value: &Value) -> Option<Self> {
        Some(Self {
            errno: u32::try_from(value["errno"].as_u64()?).ok()?,
            baseline: Some(value["baseline"].clone()).filter(|b| !b.is_null()),
            runtime: match value["runtime"].as_str() {
                Some(name) => Some(Runtime::from_name(name)?),
                // Written by an older tracer: a runtime that was not told.
                None => value["runtime_floor"]
                    .as_bool()?
                    .then_some(Runtime::Unknown),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recipe survives its JSON, and one written before runtimes were told apart (only
    /// `runtime_floor`) still reads: a runtime that was not told.
    #[test]
    fn a_recipe_reads_back_and_older_ones_still_read() {
        for runtime in [None, Some(Runtime::Runc), Some(Runtime::Crun)] {
            let recipe = Recipe {
                errno: 1,
                baseline: None,
                runtime,
            };
            assert_eq!(Recipe::from_json(&recipe.to_json()), Some(recipe));
        }
        let old = json!({ "errno": 38, "baseline": null, "runtime_floor": true });
        let read = Recipe::from_json(&old).expect("an older recipe");
        assert_eq!(read.runtime, Some(Runtime::Unknown));
        let unknown = json!({ "errno": 38, "runtime_floor": true, "runtime": "youki" });
        assert_eq!(Recipe::from_json(&unknown), None);
    }
}
