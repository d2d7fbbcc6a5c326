//! What the NRI plugin decodes from the runtime (CreateContainer, whose pod annotations any
//! pod author writes) and the multiplexer's frame headers. Properties: an adjustment is made
//! only for a container that asks, with the annotation it asked with.
#![no_main]

use hook::nri::{adjust::Injector, api, mux};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(header) = <[u8; 8]>::try_from(bytes.get(..8).unwrap_or_default()) {
        let _ = mux::parse_header(&header);
    }
    let Ok(req) = api::CreateContainerRequest::decode(bytes) else {
        return;
    };
    let (pod, container) = (
        req.pod.unwrap_or_default(),
        req.container.unwrap_or_default(),
    );
    let injector = Injector {
        path: "/usr/libexec/oci/hooks.d/oci-seccomp-bpf-hook".into(),
        args: vec!["oci-seccomp-bpf-hook".into(), "-s".into()],
    };
    if let Ok(Some(adjust)) = injector.adjust(&pod, &container) {
        let asked = hook::nri::adjust::requested(&pod, &container).expect("it asked");
        assert_eq!(adjust.annotations[hook::oci::annotation::ANNOTATION], asked);
    }
});
