//! Kubernetes on containerd, as kubelet drives it: a CRI client on containerd's socket runs a
//! pod whose runtime handler is the wrapper and whose annotation asks for one container's
//! profile (`io.containers.trace-syscall/app`, passed on by the handler's `pod_annotations`).
//! That container is traced; its neighbour and the pod's sandbox are not; enforced through the
//! CRI (a `Localhost` seccomp profile), the recorded profile runs it, also when it was
//! recorded with no seccomp profile (Kubernetes' default) and enforced with or without
//! `allowPrivilegeEscalation: false`.

use std::{collections::HashMap, path::Path, time::Duration};

use e2e::{containerd::Containerd, engine::ANNOTATION};
use hyper_util::rt::TokioIo;
use k8s_cri::v1::{
    runtime_service_client::RuntimeServiceClient, security_profile::ProfileType, ContainerConfig,
    ContainerMetadata, ContainerState, ContainerStatusRequest, CreateContainerRequest, ImageSpec,
    LinuxContainerConfig, LinuxContainerSecurityContext, LinuxPodSandboxConfig,
    LinuxSandboxSecurityContext, NamespaceMode, NamespaceOption, PodSandboxConfig,
    PodSandboxMetadata, RemovePodSandboxRequest, RunPodSandboxRequest, SecurityProfile,
    StartContainerRequest, StopPodSandboxRequest,
};
use tonic::transport::{Channel, Endpoint};

const TOOLS: &[&str] = &["containerd", "ctr", "runc", "busybox", "tar", "sha256sum"];
const IMAGE: &str = "docker.io/local/busybox:1";

type Cri = RuntimeServiceClient<Channel>;

async fn connect(socket: &Path) -> Cri {
    let socket = socket.to_owned();
    let channel = Endpoint::try_from("http://[::]:50051")
        .expect("an endpoint")
        .connect_with_connector(tower::service_fn(move |_| {
            let socket = socket.clone();
            async move {
                Ok::<_, std::io::Error>(TokioIo::new(
                    tokio::net::UnixStream::connect(socket).await?,
                ))
            }
        }))
        .await
        .expect("containerd's CRI answers");
    RuntimeServiceClient::new(channel)
}

/// A pod on the node's network (no CNI here) under `handler`, with `annotations`.
fn pod(name: &str, handler_dir: &Path, annotations: HashMap<String, String>) -> PodSandboxConfig {
    let namespaces = NamespaceOption {
        network: NamespaceMode::Node as i32,
        ..Default::default()
    };
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: e2e::unique_id(name),
            namespace: "default".into(),
            attempt: 0,
        }),
        log_directory: handler_dir.display().to_string(),
        annotations,
        linux: Some(LinuxPodSandboxConfig {
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(namespaces),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A container `name` running `command`, under `seccomp` when given.
fn container(name: &str, command: &[&str], seccomp: Option<SecurityProfile>) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: IMAGE.into(),
            ..Default::default()
        }),
        command: command.iter().map(|c| (*c).to_owned()).collect(),
        log_path: format!("{name}.log"),
        linux: Some(LinuxContainerConfig {
            security_context: Some(LinuxContainerSecurityContext {
                seccomp,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `c` with `allowPrivilegeEscalation: false` (the runtime's `NoNewPrivileges`).
fn without_privilege_escalation(mut c: ContainerConfig) -> ContainerConfig {
    let linux = c.linux.as_mut().expect("a linux config");
    let context = linux.security_context.as_mut().expect("a security context");
    context.no_new_privs = true;
    c
}

/// Runs `containers` in one pod of `config` under `handler`, each to its end; their exit
/// codes. The pod is stopped and removed on the way out.
async fn run_pod(
    cri: &mut Cri,
    config: PodSandboxConfig,
    handler: &str,
    containers: Vec<ContainerConfig>,
) -> Vec<i32> {
    run_pod_inspected(cri, config, handler, containers, &mut |_, _| {}).await
}

/// [`run_pod`], with `inspect` given each container's name and ID once it has exited, before
/// the pod is removed.
async fn run_pod_inspected(
    cri: &mut Cri,
    config: PodSandboxConfig,
    handler: &str,
    containers: Vec<ContainerConfig>,
    inspect: &mut dyn FnMut(&str, &str),
) -> Vec<i32> {
    let request = RunPodSandboxRequest {
        config: Some(config.clone()),
        runtime_handler: handler.into(),
    };
    let pod_id = cri
        .run_pod_sandbox(request)
        .await
        .expect("RunPodSandbox")
        .into_inner()
        .pod_sandbox_id;
    let mut codes = Vec::new();
    for spec in containers {
        let name = spec
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        let create = CreateContainerRequest {
            pod_sandbox_id: pod_id.clone(),
            config: Some(spec),
            sandbox_config: Some(config.clone()),
        };
        let id = cri
            .create_container(create)
            .await
            .expect("CreateContainer")
            .into_inner()
            .container_id;
        cri.start_container(StartContainerRequest {
            container_id: id.clone(),
        })
        .await
        .expect("StartContainer");
        codes.push(exit_code(cri, &id).await);
        inspect(&name, &id);
    }
    remove_pod(cri, pod_id).await;
    codes
}

/// Stops and removes pod `pod_id` (its sandbox's shm mount stays otherwise).
async fn remove_pod(cri: &mut Cri, pod_id: String) {
    let stop = StopPodSandboxRequest {
        pod_sandbox_id: pod_id.clone(),
    };
    cri.stop_pod_sandbox(stop).await.expect("StopPodSandbox");
    let remove = RemovePodSandboxRequest {
        pod_sandbox_id: pod_id,
    };
    cri.remove_pod_sandbox(remove)
        .await
        .expect("RemovePodSandbox");
}

/// Waits (at most 60 s) for container `id` to exit; its exit code.
async fn exit_code(cri: &mut Cri, id: &str) -> i32 {
    for _ in 0..600 {
        let request = ContainerStatusRequest {
            container_id: id.into(),
            verbose: false,
        };
        let status = cri
            .container_status(request)
            .await
            .expect("ContainerStatus")
            .into_inner();
        let status = status.status.expect("a status");
        if status.state == ContainerState::ContainerExited as i32 {
            return status.exit_code;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("container {id} did not exit within 60 s");
}

#[test]
fn a_pods_container_is_traced_by_its_own_annotation_and_enforced_through_the_cri() {
    let Some(dir) = e2e::ready(TOOLS, || tempfile::tempdir().unwrap()) else {
        return;
    };
    let wrapper = dir.path().join("oci-seccomp-bpf-runtime");
    std::os::unix::fs::symlink(e2e::hook_binary(), &wrapper).unwrap();
    let c = Containerd::start_cri(IMAGE, &wrapper);
    import_busybox(&c, dir.path());
    let (app, side) = (dir.path().join("app.json"), dir.path().join("side.json"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut cri = connect(&c.socket()).await;
        let traced = asking("traced", &app, dir.path());
        // Traced under containerd's default filter: the profile then also covers what runc
        // does after installing one, as it will when enforcing the recorded profile.
        let default = || SecurityProfile {
            profile_type: ProfileType::RuntimeDefault as i32,
            localhost_ref: String::new(),
        };
        let containers = vec![
            container("app", &["/bin/ls", "/"], Some(default())),
            // Sleeps, which `ls` never does: its calls must not reach app's profile.
            container("side", &["/bin/sleep", "0.01"], Some(default())),
        ];
        let codes = run_pod(&mut cri, traced, "traced", containers).await;
        assert_eq!(codes, [0, 0]);
        let names = e2e::names(&app);
        assert!(
            names.iter().any(|n| n == "getdents64"),
            "app's own syscalls: {names:?}"
        );
        // The sandbox and `side` sleep; neither is app.
        for foreign in ["nanosleep", "clock_nanosleep"] {
            assert!(
                !names.iter().any(|n| n == foreign),
                "{foreign} in app's profile: {names:?}"
            );
        }
        assert!(!side.exists(), "side was traced");

        let localhost = |path: &Path| SecurityProfile {
            profile_type: ProfileType::Localhost as i32,
            localhost_ref: path.display().to_string(),
        };
        let enforced = vec![
            container("app", &["/bin/ls", "/"], Some(localhost(&app))),
            container("refused", &["/bin/mkdir", "/tmp/x"], Some(localhost(&app))),
        ];
        let codes = run_pod(
            &mut cri,
            pod("enforced", dir.path(), HashMap::new()),
            "",
            enforced,
        )
        .await;
        assert_eq!(codes[0], 0, "app under its own profile");
        assert_ne!(codes[1], 0, "mkdir ran under ls's profile");

        // Kubernetes runs a container Unconfined unless its pod asks for a profile: recorded
        // so, the profile still starts it as Localhost, with privilege escalation or without.
        let _ = std::fs::remove_file(&app);
        let unconfined = asking("unconfined", &app, dir.path());
        let codes = run_pod(&mut cri, unconfined, "traced", ls_app()).await;
        assert_eq!(codes, [0]);
        let enforced = vec![
            container("app", &["/bin/ls", "/"], Some(localhost(&app))),
            without_privilege_escalation(container(
                "nnp",
                &["/bin/ls", "/"],
                Some(localhost(&app)),
            )),
            container("refused", &["/bin/mkdir", "/tmp/x"], Some(localhost(&app))),
        ];
        let pod = pod("enforced-unconfined", dir.path(), HashMap::new());
        let codes = run_pod(&mut cri, pod, "", enforced).await;
        assert_eq!(
            codes[..2],
            [0, 0],
            "recorded Unconfined, enforced as Localhost"
        );
        assert_ne!(codes[2], 0, "mkdir ran under ls's profile");
    });
}

/// `oci-seccomp-bpf-hook nri` on containerd's NRI socket, killed when dropped.
struct NriPlugin {
    child: std::process::Child,
}

impl NriPlugin {
    fn start(socket: &Path, log: &Path) -> Self {
        let log = std::fs::File::create(log).unwrap();
        let child = std::process::Command::new(e2e::hook_binary())
            .args(["--log-level", "info", "nri", "--socket"])
            .arg(socket)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the plugin starts");
        Self { child }
    }

    /// The plugin as `status --json` shows it.
    fn status() -> serde_json::Value {
        e2e::status_of(&e2e::hook_binary())["nri_plugin"].clone()
    }

    /// Waits until the plugin is connected to the runtime (registered, configured) at least
    /// `after` seconds since the epoch.
    fn wait_connected(after: u64) {
        e2e::poll_until(Duration::from_secs(20), || {
            let status = Self::status();
            let connected = status["state"]
                .as_str()
                .is_some_and(|s| s.starts_with("connected"));
            (connected && status["since"].as_u64() >= Some(after)).then_some(())
        })
        .unwrap_or_else(|| panic!("the plugin did not connect: {}", Self::status()));
    }
}

impl Drop for NriPlugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The spec containerd keeps for container `id`: its hooks and annotations.
fn spec_of(c: &Containerd, id: &str) -> serde_json::Value {
    let out = c.ctr(&["-n", "k8s.io", "containers", "info", id]);
    e2e::assert_success("ctr containers info", &out);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    info["Spec"].clone()
}

/// containerd 2 as it comes (NRI on at its default socket, no runtime handler added, no pod
/// annotation passed on):
/// the plugin traces the container its pod asks for by name, leaves the neighbour's spec
/// untouched, refuses a malformed annotation before the container starts, is seen gone by
/// `status` when killed (a traced pod then starts untraced), and serves again after it is
/// restarted and after containerd is restarted under it.
#[test]
fn containerd_2_traces_a_pod_through_the_nri_plugin() {
    let Some(dir) = e2e::ready(&["busybox", "tar", "sha256sum"], || {
        tempfile::tempdir().unwrap()
    }) else {
        return;
    };
    let Some(mut c) = Containerd::start_cri_today(IMAGE) else {
        return;
    };
    import_busybox(&c, dir.path());
    let log = dir.path().join("plugin.log");
    let mut plugin = NriPlugin::start(&c.nri_socket(), &log);
    NriPlugin::wait_connected(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut cri = connect(&c.socket()).await;
        traced_and_enforced(&mut cri, &c, dir.path()).await;
        malformed_is_refused(&mut cri, dir.path()).await;

        // Killed: status says so, and a pod asking for tracing starts untraced.
        drop(plugin);
        assert_eq!(
            NriPlugin::status()["running"],
            false,
            "{}",
            NriPlugin::status()
        );
        let app = dir.path().join("untraced.json");
        let codes = run_pod(&mut cri, asking("gone", &app, dir.path()), "", ls_app()).await;
        assert_eq!(codes, [0]);
        assert!(!app.exists(), "traced with no plugin running");

        plugin = NriPlugin::start(&c.nri_socket(), &log);
        NriPlugin::wait_connected(0);
        traced_and_enforced(&mut cri, &c, dir.path()).await;

        let before = now();
        c.restart();
        NriPlugin::wait_connected(before);
        let mut cri = connect(&c.socket()).await;
        traced_and_enforced(&mut cri, &c, dir.path()).await;
        drop(plugin);
    });
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains("connecting again"), "{said}");
}

/// busybox (with `sleep 3600` as its command, for the sandbox) as the image [`IMAGE`].
fn import_busybox(c: &Containerd, dir: &Path) {
    let rootfs = e2e::busybox_rootfs(&dir.join("busybox"));
    let image = c.import_image(&rootfs, IMAGE, &["/bin/sleep", "3600"]);
    e2e::assert_success("image import", &image);
}

/// A pod `name` asking for container `app`'s profile at `profile`.
fn asking(name: &str, profile: &Path, dir: &Path) -> PodSandboxConfig {
    let annotations = HashMap::from([(
        format!("{ANNOTATION}/app"),
        format!("of:{}", profile.display()),
    )]);
    pod(name, dir, annotations)
}

fn ls_app() -> Vec<ContainerConfig> {
    vec![container("app", &["/bin/ls", "/"], None)]
}

/// `app` traced (its spec carries the hook and the plain annotation; its profile and
/// capability report written), `side` untouched; then the profile enforced as Localhost in a
/// second pod: ls runs, mkdir does not.
async fn traced_and_enforced(cri: &mut Cri, c: &Containerd, dir: &Path) {
    let (app, caps) = (dir.join("nri-app.json"), dir.join("nri-app-caps.json"));
    for file in [&app, &caps] {
        let _ = std::fs::remove_file(file);
    }
    let containers = vec![
        container("app", &["/bin/ls", "/"], None),
        container("side", &["/bin/sleep", "0.01"], None),
    ];
    let hook = e2e::hook_binary().display().to_string();
    let mut inspect = |name: &str, id: &str| {
        let spec = spec_of(c, id);
        let prestart = spec["hooks"]["prestart"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let ours = prestart.iter().any(|h| h["path"] == hook.as_str());
        let annotated = spec["annotations"][ANNOTATION].is_string();
        assert_eq!(
            (ours, annotated),
            (name == "app", name == "app"),
            "{name}: {spec}"
        );
    };
    // The capability report is asked for the same way, and written the same way.
    let asked = format!("of:{};caps:{}", app.display(), caps.display());
    let annotations = HashMap::from([(format!("{ANNOTATION}/app"), asked)]);
    let pod = pod("traced", dir, annotations);
    let codes = run_pod_inspected(cri, pod, "", containers, &mut inspect).await;
    assert_eq!(codes, [0, 0]);
    let names = e2e::names(&app);
    assert!(names.iter().any(|n| n == "getdents64"), "{names:?}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&caps).expect("a capability report")).unwrap();
    assert!(report["observed_by"].is_string(), "{report}");
    assert_eq!(
        report["needed"],
        serde_json::json!([]),
        "ls needs none: {report}"
    );
    let localhost = SecurityProfile {
        profile_type: ProfileType::Localhost as i32,
        localhost_ref: app.display().to_string(),
    };
    let enforced = vec![
        container("app", &["/bin/ls", "/"], Some(localhost.clone())),
        container("refused", &["/bin/mkdir", "/tmp/x"], Some(localhost)),
    ];
    let codes = run_pod(cri, pod_plain("enforced", dir), "", enforced).await;
    assert_eq!(codes[0], 0, "app under its own profile");
    assert_ne!(codes[1], 0, "mkdir ran under ls's profile");
}

fn pod_plain(name: &str, dir: &Path) -> PodSandboxConfig {
    pod(name, dir, HashMap::new())
}

/// A malformed annotation fails the container's creation with the hook's own words.
async fn malformed_is_refused(cri: &mut Cri, dir: &Path) {
    let annotations = HashMap::from([(format!("{ANNOTATION}/app"), "xf:/p.json".to_owned())]);
    let config = pod("malformed", dir, annotations);
    let request = RunPodSandboxRequest {
        config: Some(config.clone()),
        runtime_handler: String::new(),
    };
    let pod_id = cri
        .run_pod_sandbox(request)
        .await
        .expect("RunPodSandbox")
        .into_inner()
        .pod_sandbox_id;
    let create = CreateContainerRequest {
        pod_sandbox_id: pod_id.clone(),
        config: Some(container("app", &["/bin/mkdir", "/started"], None)),
        sandbox_config: Some(config),
    };
    let refused = cri.create_container(create).await.expect_err("created");
    assert!(
        refused.message().contains("starts with none of"),
        "{refused:?}"
    );
    remove_pod(cri, pod_id).await;
}
