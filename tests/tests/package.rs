//! The Debian package `cargo xtask dist` makes, installed into a clean Debian root (the root
//! of today's runtimes: no Rust, no LLVM, no bpf-linker), traces a podman 5 container there
//! from the hooks.d JSON it installed, as a user who installs the package does. Also: what
//! else ships beside the binary (the NRI plugin's unit and DaemonSet) runs it as it accepts.

use std::path::Path;

use e2e::engine::{Engine, Podman, Runtime, ANNOTATION};

#[test]
fn the_package_installs_into_a_clean_root_and_traces_a_podman_container() {
    if !e2e::privileged_with(&["busybox"]) {
        return;
    }
    let Some(deb) = e2e::deb_package() else {
        return;
    };
    let Some(p) = Podman::today(Runtime::Crun).map(Podman::with_installed_hooks) else {
        return;
    };
    let sid = p.sid().expect("in the root");
    let shell = |script: &str| sid.command("sh").args(["-c", script]).output().unwrap();
    let toolchain = shell("for t in cargo rustc clang llc bpf-linker; do command -v $t; done");
    assert!(
        toolchain.stdout.is_empty(),
        "a toolchain in the root: {toolchain:?}"
    );
    // The package, where the root sees it (the scratch directory is the host's /tmp).
    let copy = p.scratch_path(deb.file_name().unwrap().to_str().unwrap());
    std::fs::copy(&deb, &copy).unwrap();
    let installed = sid.command("dpkg").arg("-i").arg(&copy).output().unwrap();
    e2e::assert_success("dpkg -i", &installed);

    let profile = p.scratch_path("from-the-package.json");
    let annotation = format!("{ANNOTATION}=of:{}", profile.display());
    let out = p.run(&["--rm", "--annotation", &annotation], &["ls", "/"]);
    e2e::assert_success("a traced container with the installed hook", &out);
    let names = e2e::names(&profile);
    assert!(names.iter().any(|n| n == "getdents64"), "{names:?}");
    let out = p.enforce(&profile, &["mkdir", "/never-recorded"]);
    assert!(!out.status.success(), "mkdir ran under ls's profile");

    // The wrapper's link answers as the runtime it wraps; the man page, completions and the
    // NRI plugin's unit are where man, the shells and systemd look.
    let wrapper = shell("/usr/libexec/oci/hooks.d/oci-seccomp-bpf-runtime --version");
    e2e::assert_success("the wrapper's --version", &wrapper);
    assert!(
        String::from_utf8_lossy(&wrapper.stdout).contains("runc version"),
        "{wrapper:?}"
    );
    let files = shell(
        "ls /usr/share/man/man1/oci-seccomp-bpf-hook.1.gz \
         /usr/share/bash-completion/completions/oci-seccomp-bpf-hook \
         /usr/lib/systemd/system/oci-seccomp-bpf-hook-nri.service",
    );
    e2e::assert_success("the man page, completions and unit", &files);
}

/// The NRI plugin's systemd unit and DaemonSet (hook/deploy/nri) give the binary arguments it
/// accepts: a renamed option fails here, not on a node.
#[test]
fn the_nri_plugins_unit_and_daemonset_run_commands_the_binary_accepts() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hook/deploy/nri");
    let unit = std::fs::read_to_string(deploy.join("oci-seccomp-bpf-hook-nri.service")).unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    let unit_args: Vec<String> = exec.split_whitespace().skip(1).map(str::to_owned).collect();
    let yaml = std::fs::read_to_string(deploy.join("daemonset.yaml")).unwrap();
    let set: serde_yaml::Value = serde_yaml::from_str(&yaml).expect("the DaemonSet is YAML");
    let plugin = &set["spec"]["template"]["spec"]["containers"][0];
    let daemon_args: Vec<String> = serde_yaml::from_value(plugin["args"].clone()).unwrap();
    for args in [unit_args, daemon_args] {
        assert!(args.contains(&"nri".to_owned()), "{args:?}");
        let mut with_help = args.clone();
        with_help.push("--help".into());
        let refs: Vec<&str> = with_help.iter().map(String::as_str).collect();
        let out = e2e::run_hook(&refs);
        e2e::assert_success(&format!("{args:?}"), &out);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("--socket"),
            "{args:?}"
        );
    }
}
