//! The runtime wrapper's argv (what containerd, Docker or a user passes the runtime), split
//! at NUL bytes. Property: no panic; only `create` and `run` are acted on.
#![no_main]

use std::{ffi::OsString, os::unix::ffi::OsStringExt};

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let args: Vec<OsString> = bytes
        .split(|&b| b == 0)
        .map(|arg| OsString::from_vec(arg.to_vec()))
        .collect();
    let invocation = hook::wrapper::argv::parse(&args);
    if invocation.creates() {
        let asked = |word: &[u8]| bytes.split(|&b| b == 0).any(|arg| arg == word);
        assert!(asked(b"create") || asked(b"run"), "{args:?}");
        let _ = invocation.bundle_dir();
    }
});
