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
    }
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
    codes
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
    let rootfs = e2e::busybox_rootfs(&dir.path().join("busybox"));
    e2e::assert_success(
        "image import",
        &c.import_image(&rootfs, IMAGE, &["/bin/sleep", "3600"]),
    );
    let (app, side) = (dir.path().join("app.json"), dir.path().join("side.json"));
    let annotations =
        HashMap::from([(format!("{ANNOTATION}/app"), format!("of:{}", app.display()))]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut cri = connect(&c.socket()).await;
        let traced = pod("traced", dir.path(), annotations);
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
        let annotations =
            HashMap::from([(format!("{ANNOTATION}/app"), format!("of:{}", app.display()))]);
        let unconfined = vec![container("app", &["/bin/ls", "/"], None)];
        let codes = run_pod(
            &mut cri,
            pod("unconfined", dir.path(), annotations),
            "traced",
            unconfined,
        )
        .await;
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
