//! The capability report (`caps:` in the annotation) under real podman + runc: each recorded
//! set, enforced with `--cap-drop=ALL --cap-add=<set>`, gives the same exit status and output
//! as the run it was recorded from (no false denial), and without any one of its capabilities
//! a different one (the set is the smallest: nothing in it is decoration).

use std::process::Output;

use e2e::engine::{Engine, Podman, Runtime};
use serde_json::Value;

const TOOLS: &[&str] = &["podman", "runc", "busybox", "gcc", "setcap"];

/// `capcheck bind PORT` binds a TCP port, `capcheck raw` opens a raw ICMP socket; each prints
/// what it did and exits 0, or prints the error and exits 1.
const CAPCHECK: &str = "#include <arpa/inet.h>\n#include <netinet/in.h>\n#include <stdio.h>\n\
#include <stdlib.h>\n#include <string.h>\n#include <sys/socket.h>\n\
int main(int argc, char **argv) {\n\
  if (argc == 3 && !strcmp(argv[1], \"bind\")) {\n\
    int s = socket(AF_INET, SOCK_STREAM, 0);\n\
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };\n\
    if (bind(s, (struct sockaddr *)&a, sizeof a)) { perror(\"bind\"); return 1; }\n\
    puts(\"bound\"); return 0;\n\
  }\n\
  if (argc == 2 && !strcmp(argv[1], \"raw\")) {\n\
    if (socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) < 0) { perror(\"socket\"); return 1; }\n\
    puts(\"raw\"); return 0;\n\
  }\n\
  return 2;\n}\n";

/// `capsetp same` calls capset(2) with the sets it already has, as a process dropping
/// privileges with libcap does for the sets it keeps; `capsetp inherit` adds CHOWN, which it
/// holds, to its inheritable set; `capsetp raise` first takes CHOWN out of its permitted set,
/// so that adding it takes CAP_SETPCAP. glibc's own capget and capset, version 3; no kernel
/// headers, which `-m32` lacks once the arm cross compiler has replaced gcc-multilib.
const CAPSETP: &str = "#include <stdio.h>\n#include <string.h>\n\
struct hdr { unsigned version; int pid; };\n\
struct data { unsigned effective, permitted, inheritable; };\n\
int capget(struct hdr *, struct data *);\n\
int capset(struct hdr *, const struct data *);\n\
int main(int argc, char **argv) {\n\
  struct hdr h = { 0x20080522, 0 };\n\
  struct data d[2];\n\
  unsigned chown = 1;\n\
  if (argc != 2 || capget(&h, d)) return 2;\n\
  if (!strcmp(argv[1], \"raise\")) {\n\
    d[0].permitted &= ~chown; d[0].effective &= ~chown; d[0].inheritable &= ~chown;\n\
    if (capset(&h, d)) { perror(\"capset drop\"); return 1; }\n\
  }\n\
  if (strcmp(argv[1], \"same\")) d[0].inheritable |= chown;\n\
  if (capset(&h, d)) { perror(\"capset\"); return 1; }\n\
  puts(argv[1]); return 0;\n}\n";

/// What the runtime itself does after the filter install: never the workload's.
const RUNTIMES_OWN: [&str; 3] = ["CAP_SETPCAP", "CAP_SETUID", "CAP_SETGID"];

fn podman() -> Option<Podman> {
    e2e::ready(TOOLS, || with_helpers(Podman::new()))
}

/// podman with crun (Fedora's and RHEL's runtime), as `tests/crun.rs` runs it here.
fn crun() -> Option<Podman> {
    let tools: Vec<&str> = TOOLS.iter().copied().chain(["crun", "unshare"]).collect();
    e2e::ready(&tools, || with_helpers(Podman::crun()))
}

/// podman 5 with today's `runtime` (see `tests/today.rs`).
fn today(runtime: Runtime) -> Option<Podman> {
    e2e::privileged_with(TOOLS)
        .then(|| Podman::today(runtime).map(with_helpers))
        .flatten()
}

fn with_helpers(p: Podman) -> Podman {
    e2e::install_static_helper(p.rootfs(), "capcheck", CAPCHECK);
    e2e::install_static_helper(p.rootfs(), "capsetp", CAPSETP);
    e2e::install_static_helper_with(p.rootfs(), "capsetp32", CAPSETP, &["-m32"]);
    for applet in ["chown", "chgrp", "chmod", "stat"] {
        std::os::unix::fs::symlink("busybox", p.rootfs().join("bin").join(applet)).unwrap();
    }
    p
}

/// Traces `cmd` with `extra` podman options; its output and capability report, in which
/// the runtime's own capabilities are not.
fn recorded(p: &Podman, extra: &[&str], cmd: &[&str]) -> (Output, Value) {
    let (out, report) = recorded_as_is(p, extra, cmd);
    for own in RUNTIMES_OWN {
        for list in ["needed", "attempted"] {
            let names = names(&report, list);
            assert!(
                !names.contains(&own.to_owned()),
                "{cmd:?}: {own} {list}: {report}"
            );
        }
    }
    (out, report)
}

/// Traces `cmd` with `extra` podman options; its output and capability report.
fn recorded_as_is(p: &Podman, extra: &[&str], cmd: &[&str]) -> (Output, Value) {
    let (profile, caps) = (p.scratch_path("p.json"), p.scratch_path("c.json"));
    let _ = std::fs::remove_file(&caps);
    let annotation = format!("of:{};caps:{}", profile.display(), caps.display());
    let out = p.trace_with(extra, &annotation, cmd);
    let text = std::fs::read_to_string(&caps)
        .unwrap_or_else(|e| panic!("no report for {cmd:?} ({e}): {}", stderr(&out)));
    let report: Value = serde_json::from_str(&text).expect("the report is JSON");
    assert!(report["observed_by"].is_string(), "{report}");
    (out, report)
}

fn names(report: &Value, list: &str) -> Vec<String> {
    let items = report[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list}: {report}"));
    items
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `cmd` with the report's own podman flags (plus `extra`): it must do what the recorded
/// run did. Then once without each capability of the set: each time it must not (a set that
/// runs the same without one of its capabilities is not the smallest).
fn enforced(p: &Podman, report: &Value, extra: &[&str], cmd: &[&str], recorded: &Output) {
    let flags = report["run_with"]["podman"].as_str().expect("podman flags");
    let same = run_with_caps(p, extra, flags, cmd);
    assert_eq!(
        (same.status.code(), &same.stdout),
        (recorded.status.code(), &recorded.stdout),
        "{cmd:?} with {flags}: {}",
        stderr(&same)
    );
    let needed = names(report, "needed");
    for dropped in &needed {
        let rest: Vec<&str> = needed
            .iter()
            .filter(|n| *n != dropped)
            .map(|n| n.trim_start_matches("CAP_"))
            .collect();
        let flags = match rest.is_empty() {
            true => "--cap-drop=ALL".to_owned(),
            false => format!("--cap-drop=ALL --cap-add={}", rest.join(",")),
        };
        let without = run_with_caps(p, extra, &flags, cmd);
        assert_ne!(
            (without.status.code(), &without.stdout),
            (recorded.status.code(), &recorded.stdout),
            "{cmd:?} ran the same without {dropped} ({flags}): the set is not the smallest"
        );
    }
}

/// `podman run --rm EXTRA... FLAGS... cmd`; a workload that hangs for want of a capability
/// (nginx's master without its workers) is killed after two minutes, which counts as
/// behaving differently.
fn run_with_caps(p: &Podman, extra: &[&str], flags: &str, cmd: &[&str]) -> Output {
    let mut args: Vec<&str> = vec!["--rm", "--timeout=120"];
    args.extend(extra);
    args.extend(flags.split(' '));
    p.run(&args, cmd)
}

#[test]
fn true_and_ls_need_no_capability() {
    if let Some(p) = podman() {
        true_and_ls(&p);
    }
}

#[test]
fn crun_true_and_ls_need_no_capability() {
    if let Some(p) = crun() {
        true_and_ls(&p);
    }
}

fn true_and_ls(p: &Podman) {
    for cmd in [&["true"][..], &["ls", "/"]] {
        let (out, report) = recorded(p, &[], cmd);
        e2e::assert_success("traced", &out);
        assert_eq!(
            names(&report, "needed"),
            Vec::<String>::new(),
            "{cmd:?}: {report}"
        );
        assert_eq!(report["run_with"]["podman"], "--cap-drop=ALL");
        enforced(p, &report, &[], cmd, &out);
    }
}

#[test]
fn chown_as_root_needs_exactly_chown() {
    if let Some(p) = podman() {
        chown_as_root(&p);
    }
}

#[test]
fn crun_chown_as_root_needs_exactly_chown() {
    if let Some(p) = crun() {
        chown_as_root(&p);
    }
}

#[test]
fn podman5_runc_chown_as_root_needs_exactly_chown() {
    if let Some(p) = today(Runtime::Runc) {
        chown_as_root(&p);
    }
}

#[test]
fn podman5_crun_chown_as_root_needs_exactly_chown() {
    if let Some(p) = today(Runtime::Crun) {
        chown_as_root(&p);
    }
}

fn chown_as_root(p: &Podman) {
    // Each run starts afresh: the file the last run gave away is removed first.
    let cmd = [
        "sh",
        "-c",
        "rm -f /tmp/f; touch /tmp/f && chown 1:1 /tmp/f && echo changed",
    ];
    let (out, report) = recorded(p, &[], &cmd);
    e2e::assert_success("traced chown", &out);
    assert_eq!(names(&report, "needed"), ["CAP_CHOWN"], "{report}");
    let k8s = &report["run_with"]["kubernetes"]["securityContext"]["capabilities"];
    assert_eq!(k8s["add"], serde_json::json!(["CHOWN"]));
    assert_eq!(k8s["drop"], serde_json::json!(["ALL"]));
    enforced(p, &report, &[], &cmd, &out);
}

/// Binding port 80 where unprivileged ports start at 1024: as root, and as the seed article's
/// `--user 1000 --cap-add=NET_BIND_SERVICE` (podman gives a non-root user the added
/// capabilities as ambient); without `--cap-add` the denied check is "attempted".
#[test]
fn binding_port_80_needs_net_bind_service() {
    let Some(p) = podman() else {
        return;
    };
    let sysctl = ["--sysctl", "net.ipv4.ip_unprivileged_port_start=1024"];
    let cmd = ["/bin/capcheck", "bind", "80"];
    let (out, report) = recorded(&p, &sysctl, &cmd);
    e2e::assert_success("traced bind as root", &out);
    assert_eq!(
        names(&report, "needed"),
        ["CAP_NET_BIND_SERVICE"],
        "{report}"
    );
    enforced(&p, &report, &sysctl, &cmd, &out);

    let user: Vec<&str> = sysctl.iter().copied().chain(["--user", "1000"]).collect();
    let added: Vec<&str> = user
        .iter()
        .copied()
        .chain(["--cap-add=NET_BIND_SERVICE"])
        .collect();
    let (out, report) = recorded(&p, &added, &cmd);
    e2e::assert_success("traced bind as 1000", &out);
    assert_eq!(
        names(&report, "needed"),
        ["CAP_NET_BIND_SERVICE"],
        "{report}"
    );
    let oci = &report["run_with"]["oci"]["process"]["capabilities"];
    assert_eq!(
        oci["ambient"],
        serde_json::json!(["CAP_NET_BIND_SERVICE"]),
        "non-root"
    );
    enforced(&p, &report, &user, &cmd, &out);

    let (out, report) = recorded(&p, &user, &cmd);
    assert!(
        !out.status.success(),
        "bound port 80 without the capability"
    );
    assert_eq!(names(&report, "needed"), Vec::<String>::new(), "{report}");
    assert_eq!(
        names(&report, "attempted"),
        ["CAP_NET_BIND_SERVICE"],
        "{report}"
    );
}

/// A raw socket needs NET_RAW, which podman does not give by default; a copy of a program
/// given `cap_net_raw+ep` needs it too, only to be executed at all.
#[test]
fn raw_sockets_and_file_capabilities_need_net_raw() {
    let Some(p) = podman() else {
        return;
    };
    let add = ["--cap-add=NET_RAW"];
    let cmd = ["/bin/capcheck", "raw"];
    let (out, report) = recorded(&p, &add, &cmd);
    e2e::assert_success("traced raw socket", &out);
    assert_eq!(names(&report, "needed"), ["CAP_NET_RAW"], "{report}");
    enforced(&p, &report, &[], &cmd, &out);

    let capped = p.rootfs().join("bin/capped");
    std::fs::copy(p.rootfs().join("bin/capcheck"), &capped).unwrap();
    let setcap = std::process::Command::new("setcap")
        .arg("cap_net_raw+ep")
        .arg(&capped)
        .output()
        .unwrap();
    e2e::assert_success("setcap", &setcap);
    let cmd = ["/bin/capped", "bind", "8080"];
    let (out, report) = recorded(&p, &add, &cmd);
    e2e::assert_success("traced capped program", &out);
    assert_eq!(names(&report, "needed"), ["CAP_NET_RAW"], "{report}");
    let files = &report["from_file_capabilities"];
    assert_eq!(files[0]["path"], "/bin/capped", "{report}");
    assert_eq!(files[0]["permitted"], serde_json::json!(["CAP_NET_RAW"]));
    enforced(&p, &report, &[], &cmd, &out);
}

/// capset(2) asks for CAP_SETPCAP every time (`cap_inh_is_capped` in security/commoncap.c),
/// but needs it only to raise the inheritable set beyond inheritable | permitted: a capset of
/// the sets it has is checked without effect and runs the same with no capability at all,
/// natively and through i386. What it adds to the inheritable set must be in the bounding
/// set (no check tells): adding CHOWN needs CHOWN, and beyond the permitted set CAP_SETPCAP.
#[test]
fn capset_needs_setpcap_only_to_raise_the_inheritable_set() {
    let Some(p) = podman() else {
        return;
    };
    for helper in ["/bin/capsetp", "/bin/capsetp32"] {
        let cmd = [helper, "same"];
        let (out, report) = recorded(&p, &[], &cmd);
        e2e::assert_success("traced capset", &out);
        assert_eq!(names(&report, "needed"), Vec::<String>::new(), "{report}");
        assert_eq!(
            names(&report, "attempted"),
            Vec::<String>::new(),
            "{report}"
        );
        assert_eq!(
            names(&report, "checked_without_effect"),
            ["CAP_SETPCAP"],
            "{report}"
        );
        enforced(&p, &report, &[], &cmd, &out);

        for (mode, needed) in [
            ("inherit", &["CAP_CHOWN"][..]),
            ("raise", &["CAP_CHOWN", "CAP_SETPCAP"]),
        ] {
            let cmd = [helper, mode];
            let (out, report) = recorded_as_is(&p, &[], &cmd);
            e2e::assert_success(&format!("traced capset {mode}"), &out);
            assert_eq!(names(&report, "needed"), needed, "{mode}: {report}");
            enforced(&p, &report, &[], &cmd, &out);
        }
    }
}

/// chmod asks for CAP_FSETID whenever the caller is not in the file's group
/// (`in_group_or_capable` from `setattr_prepare` and `setattr_copy`, fs/attr.c), and uses the
/// answer only to clear S_ISGID from the new mode: root's `chmod 644` of a file of another
/// group needs nothing of it; `chmod 2755` needs FSETID (without it the mode silently loses
/// S_ISGID). The `chgrp` before needs CHOWN.
#[test]
fn chmod_needs_fsetid_only_for_a_set_group_id_mode() {
    let Some(p) = podman() else {
        return;
    };
    for (mode, needed) in [
        ("644", &["CAP_CHOWN"][..]),
        ("2755", &["CAP_CHOWN", "CAP_FSETID"]),
    ] {
        let script = format!(
            "rm -f /tmp/g; touch /tmp/g && chgrp 4242 /tmp/g && chmod {mode} /tmp/g && \
             stat -c %a /tmp/g"
        );
        let cmd = ["sh", "-c", script.as_str()];
        let (out, report) = recorded(&p, &[], &cmd);
        e2e::assert_success(&format!("traced chmod {mode}"), &out);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), mode);
        assert_eq!(names(&report, "needed"), needed, "{mode}: {report}");
        if mode == "644" {
            assert_eq!(
                names(&report, "checked_without_effect"),
                ["CAP_FSETID"],
                "{report}"
            );
        }
        enforced(&p, &report, &[], &cmd, &out);
    }
}

/// Owning a user namespace the workload made grants it everything inside: that costs the
/// container nothing.
#[test]
fn a_mount_inside_the_workloads_own_user_namespace_needs_nothing() {
    let Some(p) = podman() else {
        return;
    };
    let cmd = [
        "unshare",
        "-Urm",
        "sh",
        "-c",
        "mount -t tmpfs none /tmp && echo mounted",
    ];
    let unconfined = ["--security-opt", "seccomp=unconfined"];
    let (out, report) = recorded(&p, &unconfined, &cmd);
    e2e::assert_success("traced unshare", &out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "mounted");
    assert!(
        !names(&report, "needed").contains(&"CAP_SYS_ADMIN".to_owned()),
        "{report}"
    );
}

/// overlayfs copies a file up under the mounter's credentials (podman's, with every
/// capability): writing a file of another user as root needs DAC_OVERRIDE (the workload's),
/// and the copy-up's chown of the upper copy back to its owner is not the workload's CHOWN.
#[test]
fn a_copy_up_under_borrowed_credentials_costs_nothing() {
    let Some(p) = podman().map(Podman::on_overlay) else {
        return;
    };
    let owned = p.rootfs().join("etc/owned");
    std::fs::write(&owned, "x\n").unwrap();
    std::os::unix::fs::chown(&owned, Some(1000), Some(1000)).unwrap();
    let cmd = ["sh", "-c", "echo y >> /etc/owned && echo written"];
    let (out, report) = recorded(&p, &[], &cmd);
    e2e::assert_success("traced write on the overlay", &out);
    assert_eq!(names(&report, "needed"), ["CAP_DAC_OVERRIDE"], "{report}");
    enforced(&p, &report, &[], &cmd, &out);
    assert_eq!(
        std::fs::read_to_string(&owned).unwrap(),
        "x\n",
        "the lower layer changed"
    );
}

/// nginx as root with `user www-data;` on port 80 where unprivileged ports start at 1024:
/// the master binds the port and its worker changes user. Run on Debian's nginx, through an
/// overlay; the enforced set serves 50 requests.
#[test]
fn nginx_needs_to_bind_port_80_and_change_user() {
    let Some(p) = podman() else {
        return;
    };
    let Some(debian) = e2e::debian_rootfs() else {
        return;
    };
    std::fs::write(debian.join("etc/nginx/osbh-test.conf"), NGINX_CONF).unwrap();
    std::fs::write(debian.join("usr/local/bin/osbh-get50"), GET_50).unwrap();
    let p = p.on_rootfs(debian).on_overlay();
    let extra = [
        "--network=none",
        "--sysctl",
        "net.ipv4.ip_unprivileged_port_start=1024",
    ];
    let cmd = ["sh", "-c", NGINX_RUN];
    let (out, report) = recorded_as_is(&p, &extra, &cmd);
    e2e::assert_success("traced nginx", &out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "served 50");
    let needed = names(&report, "needed");
    eprintln!(
        "nginx needs {needed:?}, attempted {:?}",
        names(&report, "attempted")
    );
    for cap in ["CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"] {
        assert!(needed.contains(&cap.to_owned()), "{cap}: {report}");
    }
    enforced(&p, &report, &extra, &cmd, &out);
}

const NGINX_CONF: &str = "user www-data;\nworker_processes 1;\npid /run/nginx.pid;\n\
error_log stderr;\nevents { worker_connections 64; }\nhttp {\n  access_log off;\n\
  server { listen 127.0.0.1:80; location / { return 200 \"ok\\n\"; } }\n}\n";

/// Up to 50 requests to 127.0.0.1:80 (python3-minimal has sockets but no http client), until
/// one is not answered with 200 within 2 s (an nginx without workers answers none); prints
/// how many were.
const GET_50: &str = r"import socket

def get():
    try:
        s = socket.create_connection(('127.0.0.1', 80), timeout=2)
        s.sendall(b'GET / HTTP/1.0\r\n\r\n')
        answer = s.recv(64)
        s.close()
    except OSError:
        return False
    return answer.startswith(b'HTTP/1.1 200')

served = 0
while served < 50 and get():
    served += 1
print('served', served)
";

/// nginx started, 50 requests to it, nginx stopped.
const NGINX_RUN: &str = "nginx -c /etc/nginx/osbh-test.conf || exit 1; \
python3 /usr/local/bin/osbh-get50; status=$?; nginx -c /etc/nginx/osbh-test.conf -s quit; \
exit $status";

/// A `caps:` path is refused before the container starts exactly where an `of:` path is.
#[test]
fn a_caps_path_is_refused_like_an_output_path() {
    let Some(p) = podman() else {
        return;
    };
    let profile = p.scratch_path("refused.json");
    for (caps, why) in [
        ("/proc/self/caps.json", "kernel filesystem"),
        ("/nonexistent-dir/c.json", "does not exist"),
    ] {
        let annotation = format!("of:{};caps:{caps}", profile.display());
        let out = p.trace(&annotation, &["mkdir", "/started"]);
        e2e::scenarios::assert_refused(&p, &out, why, &profile);
    }
}

/// While a container runs, `snapshot --caps`, `caps --container` and `status` tell what it has
/// used so far: CHOWN once its chown ran, and its other capabilities as droppable.
#[test]
fn a_running_container_shows_what_it_has_used_so_far() {
    let Some(p) = podman() else {
        return;
    };
    let name = e2e::unique_id("caps-so-far");
    let annotation = format!("of:{}", p.scratch_path("so-far.json").display());
    let caps_file = p.scratch_path("so-far-caps.json");
    std::thread::scope(|scope| {
        let go = e2e::StopFile(p.rootfs().join("tmp/go"));
        let run = scope.spawn(|| {
            let script = "rm -f /tmp/f /tmp/go; touch /tmp/f && chown 1:1 /tmp/f && \
                          while [ ! -e /tmp/go ]; do sleep 0.05; done";
            p.trace_with(&["--name", &name], &annotation, &["sh", "-c", script])
        });
        let id = e2e::poll_until(std::time::Duration::from_secs(10), || {
            let out = p.podman(&["inspect", "--format", "{{.Id}}", &name]);
            let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            (out.status.success() && !id.is_empty()).then_some(id)
        })
        .expect("the container's ID");
        let used = e2e::poll_until(std::time::Duration::from_secs(10), || {
            let out = e2e::run_hook(&["caps", "--container", &id[..12]]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.contains("used so far:        CHOWN").then_some(text)
        })
        .expect("caps --container shows CHOWN used");
        let droppable = used.lines().find(|l| l.contains("could drop")).unwrap();
        assert!(
            droppable.contains("KILL") && !droppable.contains("CHOWN"),
            "{used}"
        );
        let snap = p.scratch_path("snap.json");
        let out = e2e::run_hook(&["snapshot", &id, "-o", snap.to_str().unwrap(), "--caps"]);
        assert!(!out.status.success(), "--caps needs a FILE");
        let caps_arg = caps_file.to_str().unwrap();
        let out = e2e::run_hook(&[
            "snapshot",
            &id,
            "-o",
            snap.to_str().unwrap(),
            "--caps",
            caps_arg,
        ]);
        e2e::assert_success("snapshot --caps", &out);
        let report: Value = serde_json::from_slice(&std::fs::read(&caps_file).unwrap()).unwrap();
        assert_eq!(names(&report, "needed"), ["CAP_CHOWN"], "{report}");
        let listed = e2e::traced_containers(&e2e::hook_binary());
        let mine = listed
            .iter()
            .find(|(_, c)| c["id"] == id.as_str())
            .expect("listed");
        assert_eq!(mine.1["capabilities"], serde_json::json!(["CAP_CHOWN"]));
        go.create();
        e2e::assert_success("the traced container", &run.join().expect("podman"));
    });
}

/// `caps HEX` decodes as `capsh --decode` does, with a line per capability.
#[test]
fn a_mask_is_decoded_one_capability_a_line() {
    if !e2e::privileged() {
        return;
    }
    let out = e2e::run_hook(&["caps", "00000000800405fb"]);
    e2e::assert_success("caps HEX", &out);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.starts_with("0x00000000800405fb=cap_chown,cap_dac_override,"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 12, "{text}");
    let pid = e2e::run_hook(&["caps", "--pid", "1"]);
    e2e::assert_success("caps --pid", &pid);
    assert_eq!(String::from_utf8_lossy(&pid.stdout).lines().count(), 5);
    let bad = e2e::run_hook(&["caps", "not-hex"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&bad.stderr).lines().count(), 1);
}
