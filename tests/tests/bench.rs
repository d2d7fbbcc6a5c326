//! `cargo xtask bench --quick` keeps working: the example runs to the end and prints every
//! figure in the table's shape. Speeds are never asserted here (BENCHMARKS.md holds them).

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::Value;

const FIGURES: [&str; 6] = [
    "1 start",
    "2 attach",
    "3 memory",
    "4 tax",
    "5 scaling",
    "6 exit to file",
];

#[test]
fn quick_bench_prints_every_figure() {
    if !e2e::privileged() {
        return;
    }
    let bench = e2e::debug_artifact("examples/bench");
    assert!(
        bench.is_file(),
        "{} is missing: run `cargo xtask test`, which builds the examples",
        bench.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("bench.json");
    let out = Command::new(&bench)
        .args(["--quick", "--json"])
        .arg(&json_path)
        .env("OSBH_BIN", e2e::hook_binary())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the bench example starts");
    // The quick bench takes about a minute; on a loaded machine, more.
    let out = e2e::child::output_within(out, Duration::from_secs(600), "the quick bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("| ")).collect();
    assert!(rows[0].starts_with("| figure | measurement | unit | n | min | median | max |"));
    for row in &rows {
        assert_eq!(row.matches('|').count(), 10, "nine cells in {row}");
    }
    for figure in FIGURES {
        assert!(
            rows.iter().any(|r| r.starts_with(&format!("| {figure} |"))),
            "no row for figure {figure}:\n{stdout}"
        );
    }

    let json: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    assert!(json["machine"]["kernel"].is_string());
    let json_rows = json["rows"].as_array().unwrap();
    assert_eq!(
        json_rows.len(),
        rows.len() - 1,
        "one JSON row per table row"
    );
    for row in json_rows {
        let [min, median, max] = ["min", "median", "max"].map(|k| row[k].as_f64().unwrap());
        assert!(
            min <= median && median <= max,
            "ordered statistics in {row}"
        );
        assert_eq!(row["reference"].is_null(), row["ratio"].is_null(), "{row}");
    }
}
