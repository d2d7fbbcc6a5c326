//! Which containers ask, and what the plugin adds to them: the same hook, at the same stages,
//! as the hooks.d JSON and the runtime wrapper add. A container asks with the annotation
//! `io.containers.trace-syscall` of its own, or its pod asks for it by name with
//! `io.containers.trace-syscall/<container>` (CRI-O's per-container form), or for all its
//! containers with the plain key. NRI tells plugins of containers only, never of a pod's
//! sandbox, so the pause container is never traced.

use std::{collections::HashMap, path::PathBuf};

use super::api::{Container, ContainerAdjustment, Hook, Hooks, PodSandbox};
use crate::oci::annotation::{self, AnnotationError, ANNOTATION};

/// The hook the plugin adds: where the binary is on the node, and its argv (`-s` and the
/// options the plugin was given, as the hooks.d JSON's `args`).
#[derive(Debug, Clone)]
pub struct Injector {
    pub path: PathBuf,
    pub args: Vec<String>,
}

impl Injector {
    /// The adjustment for `container` of `pod`: `None` when it does not ask; an error, which
    /// fails the container's creation, when it asks with a malformed annotation.
    pub fn adjust(
        &self,
        pod: &PodSandbox,
        container: &Container,
    ) -> Result<Option<ContainerAdjustment>, AnnotationError> {
        let Some(value) = requested(pod, container) else {
            return Ok(None);
        };
        annotation::parse(value)?;
        let hook = Hook {
            path: self.path.to_string_lossy().into_owned(),
            args: self.args.clone(),
            env: Vec::new(),
        };
        Ok(Some(ContainerAdjustment {
            // The hook reads the plain key from the container's state.
            annotations: HashMap::from([(ANNOTATION.to_owned(), value.to_owned())]),
            hooks: Some(Hooks {
                prestart: vec![hook.clone()],
                create_runtime: Vec::new(),
                poststop: vec![hook],
            }),
        }))
    }
}

impl Injector {
    /// Whether `container`, created after asking for tracing, came out without this hook:
    /// the runtime's validator or another plugin took it out, and it runs untraced.
    pub fn dropped(&self, pod: &PodSandbox, container: &Container) -> bool {
        let asked = requested(pod, container).is_some_and(|v| annotation::parse(v).is_ok());
        let path = self.path.to_string_lossy();
        let has = |hooks: &[Hook]| hooks.iter().any(|h| h.path == path);
        let present = container
            .hooks
            .as_ref()
            .is_some_and(|h| has(&h.prestart) && has(&h.poststop));
        asked && !present
    }
}

/// The annotation's value for `container`: its own, else its pod's for it by name, else its
/// pod's for every container.
pub fn requested<'a>(pod: &'a PodSandbox, container: &'a Container) -> Option<&'a str> {
    let by_name = format!("{ANNOTATION}/{}", container.name);
    container
        .annotations
        .get(ANNOTATION)
        .or_else(|| pod.annotations.get(&by_name))
        .or_else(|| pod.annotations.get(ANNOTATION))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn injector() -> Injector {
        Injector {
            path: "/usr/libexec/oci/hooks.d/oci-seccomp-bpf-hook".into(),
            args: vec!["oci-seccomp-bpf-hook".into(), "-s".into()],
        }
    }

    fn pod(annotations: &[(&str, &str)]) -> PodSandbox {
        PodSandbox {
            annotations: annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..PodSandbox::default()
        }
    }

    fn container(name: &str) -> Container {
        Container {
            name: name.into(),
            ..Container::default()
        }
    }

    #[test]
    fn a_pod_asks_for_one_container_by_name_and_the_others_are_untouched() {
        let pod = pod(&[("io.containers.trace-syscall/app", "of:/p/app.json")]);
        let adjust = injector().adjust(&pod, &container("app")).unwrap().unwrap();
        assert_eq!(adjust.annotations[ANNOTATION], "of:/p/app.json");
        let hooks = adjust.hooks.unwrap();
        assert_eq!(hooks.prestart, hooks.poststop);
        assert_eq!(hooks.prestart[0].args, ["oci-seccomp-bpf-hook", "-s"]);
        assert!(hooks.create_runtime.is_empty());
        assert_eq!(injector().adjust(&pod, &container("side")).unwrap(), None);
    }

    #[test]
    fn the_containers_own_key_wins_then_the_pods_by_name_then_the_pods_plain() {
        let pod = pod(&[
            ("io.containers.trace-syscall", "of:/p/all.json"),
            ("io.containers.trace-syscall/app", "of:/p/app.json"),
        ]);
        assert_eq!(requested(&pod, &container("app")), Some("of:/p/app.json"));
        assert_eq!(requested(&pod, &container("side")), Some("of:/p/all.json"));
        let mut own = container("app");
        own.annotations
            .insert(ANNOTATION.into(), "of:/p/own.json".into());
        assert_eq!(requested(&pod, &own), Some("of:/p/own.json"));
    }

    #[test]
    fn a_container_created_without_the_hook_it_asked_for_is_told() {
        let pod = pod(&[("io.containers.trace-syscall/app", "of:/p/app.json")]);
        let mut app = container("app");
        assert!(injector().dropped(&pod, &app));
        let adjust = injector().adjust(&pod, &app).unwrap().unwrap();
        app.hooks = adjust.hooks;
        assert!(!injector().dropped(&pod, &app));
        assert!(
            !injector().dropped(&pod, &container("side")),
            "side never asked"
        );
    }

    #[test]
    fn a_malformed_annotation_is_refused_as_the_hook_refuses_it() {
        let pod = pod(&[("io.containers.trace-syscall/app", "xf:/p.json")]);
        let err = injector().adjust(&pod, &container("app")).unwrap_err();
        assert!(err.to_string().contains("starts with none of"), "{err}");
    }
}
