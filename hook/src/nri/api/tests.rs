//! The definitions against NRI's published field numbers (api.proto at [`NRI_VERSION`]),
//! written here as bytes: a field renumbered or retyped in `api.rs` fails these.

use prost::Message;

use super::*;

/// A length-delimited field (wire type 2) numbered `number`.
fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![number << 3 | 2, bytes.len() as u8];
    out.extend_from_slice(bytes);
    out
}

/// A map<string,string> entry of field `number`.
fn entry(number: u8, key: &str, value: &str) -> Vec<u8> {
    field(
        number,
        &[field(1, key.as_bytes()), field(2, value.as_bytes())].concat(),
    )
}

#[test]
fn a_create_container_request_as_the_runtime_numbers_it() {
    // PodSandbox: id 1, name 2, namespace 4, annotations 6; Container: id 1,
    // pod_sandbox_id 2, name 3, annotations 6.
    let pod = [
        field(1, b"pod-id"),
        field(2, b"web"),
        field(4, b"default"),
        entry(6, "io.containers.trace-syscall/app", "of:/p.json"),
    ]
    .concat();
    let container = [field(1, b"c1"), field(2, b"pod-id"), field(3, b"app")].concat();
    let bytes = [field(1, &pod), field(2, &container)].concat();
    let req = CreateContainerRequest::decode(bytes.as_slice()).unwrap();
    let pod = req.pod.unwrap();
    assert_eq!((pod.id.as_str(), pod.name.as_str()), ("pod-id", "web"));
    assert_eq!(pod.namespace, "default");
    assert_eq!(
        pod.annotations["io.containers.trace-syscall/app"],
        "of:/p.json"
    );
    let container = req.container.unwrap();
    assert_eq!(
        (container.id.as_str(), container.name.as_str()),
        ("c1", "app")
    );
    assert_eq!(container.pod_sandbox_id, "pod-id");
}

#[test]
fn an_adjustment_as_the_runtime_reads_it() {
    // ContainerAdjustment: annotations 2, hooks 5; Hooks: prestart 1, poststop 6; Hook: path
    // 1, args 2.
    let hook = Hook {
        path: "/h".into(),
        args: vec!["h".into(), "-s".into()],
        env: Vec::new(),
    };
    let adjust = ContainerAdjustment {
        annotations: HashMap::from([("k".into(), "v".into())]),
        hooks: Some(Hooks {
            prestart: vec![hook.clone()],
            create_runtime: Vec::new(),
            poststop: vec![hook],
        }),
    };
    let hook = [field(1, b"/h"), field(2, b"h"), field(2, b"-s")].concat();
    let hooks = [field(1, &hook), field(6, &hook)].concat();
    let expected = [entry(2, "k", "v"), field(5, &hooks)].concat();
    assert_eq!(adjust.encode_to_vec(), expected);
    let response = CreateContainerResponse {
        adjust: Some(adjust),
    };
    assert_eq!(response.encode_to_vec(), field(1, &expected));
}

#[test]
fn registration_and_configuration_as_the_runtime_numbers_them() {
    let register = RegisterPluginRequest {
        plugin_name: "seccomp".into(),
        plugin_idx: "10".into(),
    };
    assert_eq!(
        register.encode_to_vec(),
        [field(1, b"seccomp"), field(2, b"10")].concat()
    );
    // ConfigureResponse.events is field 2, a varint; CreateContainer (4) is bit 3.
    let configure = ConfigureResponse {
        events: event_mask(&[EVENT_CREATE_CONTAINER]),
    };
    assert_eq!(configure.encode_to_vec(), [2 << 3, 8]);
    // ConfigureRequest: runtime_name 2, runtime_version 3, request_timeout 5 (varint).
    let bytes = [
        field(2, b"containerd"),
        field(3, b"v2.1.9"),
        vec![5 << 3, 100],
    ]
    .concat();
    let req = ConfigureRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(req.runtime_name, "containerd");
    assert_eq!(req.runtime_version, "v2.1.9");
    assert_eq!(req.request_timeout, 100);
}
