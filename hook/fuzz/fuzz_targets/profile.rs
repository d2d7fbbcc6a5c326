//! A seccomp profile as `diff`, `merge`, `convert` and the hook's `if:` baseline read it (the
//! baseline's author is whoever may create a pod). Property: a profile the validator accepts
//! is written back (compact and pretty, as the tools write) to JSON it accepts again, equal.
#![no_main]

use std::path::Path;

use hook::profile::read;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(profile) = read::parse(Path::new("fuzzed.json"), bytes) else {
        return;
    };
    for text in [
        serde_json::to_string(&profile).unwrap(),
        serde_json::to_string_pretty(&profile).unwrap(),
    ] {
        let again = read::parse(Path::new("again.json"), text.as_bytes())
            .expect("a written-back profile is accepted again");
        assert_eq!(again, profile);
    }
});
