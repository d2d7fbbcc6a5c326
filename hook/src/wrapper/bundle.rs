//! The one edit the wrapper makes: a bundle whose `config.json` asks for tracing gets this
//! hook at `prestart` and `poststop`. Everything else in the file stays as it was, fields this
//! tool does not know included; the file is replaced at once (temp file, rename).
//!
//! Which containers ask: the annotation `io.containers.trace-syscall`, or, for the container
//! named N by Kubernetes (`io.kubernetes.cri.container-name`), CRI-O's per-container form
//! `io.containers.trace-syscall/N` (copied to the plain key, which the hook reads). A pod's
//! sandbox (pause) container never is, whatever annotations it carries.

use std::{
    io::{Read, Write},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use serde_json::{json, Value};

use crate::oci::annotation::{self, AnnotationError, ANNOTATION};

/// Larger than any real `config.json`.
const MAX_CONFIG_BYTES: u64 = 16 << 20;
const CONTAINER_TYPE: &str = "io.kubernetes.cri.container-type";
const CONTAINER_NAME: &str = "io.kubernetes.cri.container-name";
/// The hook's argv, as in the hooks.d JSON.
const HOOK_ARGS: [&str; 2] = ["oci-seccomp-bpf-hook", "-s"];

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot find the bundle (no --bundle, and no working directory)")]
    Cwd(#[source] std::io::Error),
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is larger than 16 MiB")]
    TooLarge(PathBuf),
    #[error(
        "{0} asks for tracing ({ANNOTATION}) but is not valid JSON, so the hook cannot be \
         added; fix the container's configuration"
    )]
    NotJson(PathBuf),
    #[error(transparent)]
    Annotation(#[from] AnnotationError),
    #[error("cannot write {path} with the hook added")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Adds `hook` to the bundle in `dir` when its config asks for tracing; true when it does.
/// A config that cannot be parsed and asks for nothing is left for the runtime to judge.
pub fn prepare(dir: &Path, hook: &Path) -> Result<bool, BundleError> {
    let path = dir.join("config.json");
    let Some(bytes) = read(&path)? else {
        return Ok(false);
    };
    match edit(&path, &bytes, hook)? {
        Edit::Untouched => Ok(false),
        Edit::Traced(None) => Ok(true),
        Edit::Traced(Some(config)) => write(&path, &config).map(|()| true),
    }
}

/// What the wrapper makes of a config.
#[derive(Debug, PartialEq)]
pub enum Edit {
    /// It does not ask for tracing: the file stays as it is.
    Untouched,
    /// It asks: the config with the hook added, or `None` when it had the hook already.
    Traced(Option<Value>),
}

/// The edit of `bytes`, the config read from `path` (which messages name): a pure step,
/// fuzzed, since the config is the container creator's.
pub fn edit(path: &Path, bytes: &[u8], hook: &Path) -> Result<Edit, BundleError> {
    let Ok(mut config) = serde_json::from_slice::<Value>(bytes) else {
        let asks = bytes
            .windows(ANNOTATION.len())
            .any(|w| w == ANNOTATION.as_bytes());
        return match asks {
            true => Err(BundleError::NotJson(path.to_owned())),
            false => Ok(Edit::Untouched),
        };
    };
    let Some(value) = requested(&config) else {
        return Ok(Edit::Untouched);
    };
    annotation::parse(&value)?;
    config["annotations"][ANNOTATION] = json!(value);
    let entry = json!({ "path": hook, "args": HOOK_ARGS });
    let mut changed = false;
    for stage in ["prestart", "poststop"] {
        changed |= add_once(&mut config, stage, &entry);
    }
    Ok(Edit::Traced(changed.then_some(config)))
}

/// The annotation's value for this container, if it asks.
fn requested(config: &Value) -> Option<String> {
    let annotations = config["annotations"].as_object()?;
    let text = |key: &str| annotations.get(key).and_then(Value::as_str);
    if text(CONTAINER_TYPE) == Some("sandbox") {
        return None;
    }
    if let Some(value) = text(ANNOTATION) {
        return Some(value.to_owned());
    }
    let name = text(CONTAINER_NAME)?;
    text(&format!("{ANNOTATION}/{name}")).map(str::to_owned)
}

/// Appends `entry` to `config.hooks[stage]` unless a hook with its path is there already.
fn add_once(config: &mut Value, stage: &str, entry: &Value) -> bool {
    if !config["hooks"].is_object() {
        config["hooks"] = json!({});
    }
    let hooks = &mut config["hooks"][stage];
    if !hooks.is_array() {
        *hooks = json!([]);
    }
    let Value::Array(list) = hooks else {
        return false;
    };
    if list.iter().any(|h| h["path"] == entry["path"]) {
        return false;
    }
    list.push(entry.clone());
    true
}

/// The file's bytes; `None` when there is no file (the runtime says so itself).
fn read(path: &Path) -> Result<Option<Vec<u8>>, BundleError> {
    let err = |source| BundleError::Read {
        path: path.to_owned(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(BundleError::TooLarge(path.to_owned()));
    }
    Ok(Some(bytes))
}

/// Replaces `path` with `config`, keeping its permission bits.
fn write(path: &Path, config: &Value) -> Result<(), BundleError> {
    let err = |source| BundleError::Write {
        path: path.to_owned(),
        source,
    };
    let mode = std::fs::metadata(path).map_err(err)?.permissions().mode();
    let temporary = path.with_file_name(".config.json.oci-seccomp-bpf-runtime");
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&serde_json::to_vec(config).expect("a JSON value always serializes"))?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result.map_err(err)
}

#[cfg(test)]
mod tests;
