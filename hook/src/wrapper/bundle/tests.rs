use super::*;

fn bundle(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    dir
}

fn config(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap()
}

const HOOK: &str = "/usr/libexec/oci/hooks.d/oci-seccomp-bpf-hook";

#[test]
fn the_hook_is_added_once_and_nothing_else_changes() {
    let dir = bundle(
        r#"{"ociVersion":"1.0.2","x-unknown":{"kept":[1,2]},"process":{"args":["ls"]},
            "annotations":{"io.containers.trace-syscall":"of:/tmp/p.json"},
            "hooks":{"poststop":[{"path":"/other"}]}}"#,
    );
    assert!(prepare(dir.path(), Path::new(HOOK)).unwrap());
    assert!(
        prepare(dir.path(), Path::new(HOOK)).unwrap(),
        "again: still asks"
    );
    let doc = config(dir.path());
    assert_eq!(doc["x-unknown"], json!({ "kept": [1, 2] }));
    assert_eq!(doc["process"]["args"], json!(["ls"]));
    assert_eq!(
        doc["hooks"]["prestart"],
        json!([{ "path": HOOK, "args": HOOK_ARGS }])
    );
    let poststop = doc["hooks"]["poststop"].as_array().unwrap();
    assert_eq!(
        poststop.len(),
        2,
        "the other hook kept, ours added once: {poststop:?}"
    );
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(
        keys[..4],
        ["ociVersion", "x-unknown", "process", "annotations"],
        "order kept"
    );
}

#[test]
fn kubernetes_containers_ask_by_name_and_sandboxes_never() {
    let named = r#"{"annotations":{"io.kubernetes.cri.container-name":"app",
        "io.containers.trace-syscall/app":"of:/p/app.json",
        "io.containers.trace-syscall/side":"of:/p/side.json"}}"#;
    let dir = bundle(named);
    assert!(prepare(dir.path(), Path::new(HOOK)).unwrap());
    assert_eq!(
        config(dir.path())["annotations"][ANNOTATION],
        "of:/p/app.json"
    );
    let side = bundle(&named.replace("\"app\",", "\"other\","));
    assert!(
        !prepare(side.path(), Path::new(HOOK)).unwrap(),
        "no key for its name"
    );
    let sandbox = bundle(
        r#"{"annotations":{"io.kubernetes.cri.container-type":"sandbox",
            "io.containers.trace-syscall":"of:/p/x.json"}}"#,
    );
    assert!(!prepare(sandbox.path(), Path::new(HOOK)).unwrap());
    assert!(
        config(sandbox.path()).get("hooks").is_none(),
        "the sandbox is untouched"
    );
}

#[test]
fn what_cannot_be_traced_is_refused_and_what_asks_nothing_passes() {
    let bad = bundle(r#"{"annotations":{"io.containers.trace-syscall":"xf:/p.json"}}"#);
    let err = prepare(bad.path(), Path::new(HOOK))
        .unwrap_err()
        .to_string();
    assert!(err.contains("starts with none of"), "{err}");
    let broken = bundle(r#"{"annotations":{"io.containers.trace-syscall": "#);
    let err = prepare(broken.path(), Path::new(HOOK))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not valid JSON") && err.lines().count() == 1,
        "{err}"
    );
    let untraced_broken = bundle("{ not json");
    assert!(!prepare(untraced_broken.path(), Path::new(HOOK)).unwrap());
    assert_eq!(
        std::fs::read_to_string(untraced_broken.path().join("config.json")).unwrap(),
        "{ not json"
    );
    let missing = tempfile::tempdir().unwrap();
    assert!(
        !prepare(missing.path(), Path::new(HOOK)).unwrap(),
        "runc says it itself"
    );
    let huge = bundle(&format!("{{\"x\":\"{}\"}}", "a".repeat(17 << 20)));
    assert!(prepare(huge.path(), Path::new(HOOK))
        .unwrap_err()
        .to_string()
        .contains("16 MiB"));
}
