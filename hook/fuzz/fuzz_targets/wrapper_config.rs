//! A bundle's config.json as the runtime wrapper edits it (the container's creator writes
//! it). Properties: a config that does not name the annotation is never changed; an edited
//! one asks, has the hook once at prestart and poststop, and editing it again changes nothing.
#![no_main]

use std::path::Path;

use hook::wrapper::bundle::{edit, Edit};
use libfuzzer_sys::fuzz_target;

const ANNOTATION: &[u8] = b"io.containers.trace-syscall";
const HOOK: &str = "/usr/libexec/oci/hooks.d/oci-seccomp-bpf-hook";

fuzz_target!(|bytes: &[u8]| {
    let path = Path::new("config.json");
    let Ok(result) = edit(path, bytes, Path::new(HOOK)) else {
        return;
    };
    let names_it = bytes.windows(ANNOTATION.len()).any(|w| w == ANNOTATION);
    if !names_it {
        assert_eq!(
            result,
            Edit::Untouched,
            "changed a config that does not ask"
        );
    }
    if let Edit::Traced(Some(config)) = result {
        for stage in ["prestart", "poststop"] {
            let hooks = config["hooks"][stage].as_array().expect("a stage list");
            assert_eq!(hooks.iter().filter(|h| h["path"] == HOOK).count(), 1);
        }
        let again = serde_json::to_vec(&config).unwrap();
        assert_eq!(
            edit(path, &again, Path::new(HOOK)).unwrap(),
            Edit::Traced(None)
        );
    }
});
