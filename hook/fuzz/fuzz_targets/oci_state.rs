//! The OCI state on the hook's stdin (the runtime writes it; its annotations come from the
//! container's creator), parsed as `-s` parses it, then what the hook reads from it before
//! anything runs. Property: no panic; an accepted state has a positive PID.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_spec::runtime::State;

fuzz_target!(|bytes: &[u8]| {
    let Ok(state) = serde_json::from_slice::<State>(bytes) else {
        return;
    };
    if let Ok((_request, pid)) = hook::oci::request_of(&state) {
        assert!(pid > 0);
    }
});
