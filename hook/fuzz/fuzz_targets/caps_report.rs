//! A capability report as `caps` and `merge` read it back (a file anyone may hand them).
//! Property: a report read is written back to JSON that reads as the same report.
#![no_main]

use hook::caps::report::Report;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    if !Report::looks_like(&doc) {
        return;
    }
    let Some(report) = Report::from_json(&doc) else {
        return;
    };
    let again = Report::from_json(&report.to_json()).expect("a written report reads back");
    assert_eq!(again.to_json(), report.to_json());
});
