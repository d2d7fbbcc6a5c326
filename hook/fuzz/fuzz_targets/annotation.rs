//! The `io.containers.trace-syscall` annotation, as the hook, the wrapper and the NRI plugin
//! parse it (anyone who may create a pod writes it). Properties: what is accepted names only
//! absolute paths (a `..` in one is refused later, when the hook opens it), and an error is
//! one line unless the value itself has more.
#![no_main]

use hook::oci::annotation;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|value: &str| {
    match annotation::parse(value) {
        Ok(request) => {
            let paths = [
                Some(&request.output),
                request.input.as_ref(),
                request.caps.as_ref(),
            ];
            for path in paths.into_iter().flatten() {
                assert!(path.is_absolute(), "{path:?}");
            }
        }
        Err(err) => assert!(!err.to_string().contains('\n') || value.contains('\n')),
    }
});
