//! `if:` baselines as users write them: podman's own default profile, and a private profile
//! that an administrator allows with `--allowed-input-dir`.

use e2e::{
    engine::{Engine, Podman},
    scenarios,
};

const TOOLS: &[&str] = &["podman", "runc", "busybox"];
const PODMAN_DEFAULT: &str = "/usr/share/containers/seccomp.json";
const EPERM: i32 = 1;

/// Extending the distribution's default (it has `archMap`, no `architectures`) gives a profile
/// podman accepts: the workload runs under it, and what the default denies stays denied even
/// though the traced run made the call.
#[test]
fn podmans_default_profile_extended_runs_and_still_denies() {
    if !e2e::privileged_with(&["podman", "runc", "busybox", "gcc", PODMAN_DEFAULT]) {
        return;
    }
    let p = Podman::new();
    e2e::install_syscall_helper(p.rootfs());
    let baseline = std::path::PathBuf::from(PODMAN_DEFAULT);
    // vmsplice: refused by the default whatever the capabilities (SCMP_ACT_ERRNO, EPERM).
    // Allowed, vmsplice(0, NULL, 0, 0) fails with EBADF instead: the errno tells who answered.
    let nr = e2e::syscall_number("vmsplice").to_string();
    let workload = ["/bin/callnr", nr.as_str()];
    let profile = scenarios::trace(&p, "default-plus.json", Some(&baseline), &workload);
    let (json, names) = e2e::allowed_names(&profile);
    assert_eq!(
        json.get("architectures"),
        None,
        "podman refuses it beside archMap"
    );
    assert!(json["archMap"].is_array());
    assert!(names.contains(&"execve".to_owned()), "{names:?}");
    let enforced = p.enforce(&profile, &["ls", "/"]);
    assert!(
        enforced.status.success(),
        "ls under the extended default: {}",
        String::from_utf8_lossy(&enforced.stderr)
    );
    let denied = p.enforce(&profile, &workload);
    let stdout = String::from_utf8_lossy(&denied.stdout);
    assert!(
        denied.status.success(),
        "{}",
        String::from_utf8_lossy(&denied.stderr)
    );
    assert_eq!(
        stdout.trim(),
        format!("{nr} -1 {EPERM}"),
        "vmsplice was let through"
    );
}

/// A 0600 profile in a directory the administrator lists is a legitimate baseline.
#[test]
fn a_private_profile_under_an_allowed_input_dir_is_extended() {
    if !e2e::privileged_with(TOOLS) {
        return;
    }
    let inputs = tempfile::tempdir().unwrap();
    let allowed = inputs.path().to_str().unwrap();
    let p = Podman::with_hook_args(&["--allowed-input-dir", allowed]);
    let baseline = inputs.path().join("private.json");
    let rule = serde_json::json!({ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO" });
    let doc = serde_json::json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule.clone()] });
    e2e::write_with_mode(&baseline, &doc.to_string(), 0o600);
    let profile = scenarios::trace(&p, "from-private.json", Some(&baseline), &["ls", "/"]);
    let (json, names) = e2e::allowed_names(&profile);
    assert_eq!(json["syscalls"][0], rule);
    assert!(names.contains(&"getdents64".to_owned()), "{names:?}");
    // The same file outside the allowed directory is refused.
    let elsewhere = p.scratch_path("private.json");
    e2e::write_with_mode(&elsewhere, &doc.to_string(), 0o600);
    let out = p.scratch_path("refused.json");
    let annotation = format!("of:{};if:{}", out.display(), elsewhere.display());
    let result = p.trace(&annotation, &["ls", "/"]);
    assert!(!result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("not readable by every user"));
    assert!(!out.exists());
}
