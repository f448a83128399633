//! The `gclab` binary: a tiny report end to end (children and all), and the bad-input paths —
//! each exits with status 2 and one line on stderr that names the valid choices, leaving no
//! report behind.

use std::fs;
use std::path::Path;
use std::process::Output;

use super::support::{gclab, read_report, ScratchDir};

/// Asserts exit status 2 and a one-line message containing every `needle`.
fn assert_usage_error(output: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} missing from: {stderr}");
    }
}

/// The entries of `dir` whose names contain `part`.
fn entries_with(dir: &Path, part: &str) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(part))
        .collect()
}

#[test]
#[cfg(feature = "peers")]
fn a_tiny_report_end_to_end() {
    let dir = ScratchDir::new("cli-report");
    let out = dir.join("report");
    let output = gclab(&[
        "report",
        "--scale",
        "tiny",
        "--reps",
        "2",
        "--only",
        "trees,rings,big-drop,steady-burst,rc,cpython312,gcmodule,std-rc",
        "--out",
        out.to_str().unwrap(),
    ]);
    let report = read_report(&output, &out);
    for file in ["report.json", "report.md", "index.html", "plots/pauses.svg"] {
        assert!(out.join(file).exists(), "{file} missing");
    }
    assert_eq!(report.runs.len(), 4 * 4 * 2);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    // Repetitions interleave: the first runs are repetition 0 of every pair.
    assert!(report.runs[..16].iter().all(|r| r.rep == 0));
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("(1.00×)"), "times relative to rc: {md}");
    assert!(entries_with(&dir, "partial").is_empty());
}

#[test]
fn only_keeps_a_configuration_name_with_commas_whole() {
    let dir = ScratchDir::new("cli-commas");
    let out = dir.join("report");
    let config = "trial-deletion/cpython:100,10,10/system";
    let output = gclab(&[
        "report",
        "--scale",
        "tiny",
        "--reps",
        "1",
        "--only",
        &format!("rings,{config}"),
        "--out",
        out.to_str().unwrap(),
    ]);
    let report = read_report(&output, &out);
    let runs: Vec<(&str, &str)> = report
        .runs
        .iter()
        .map(|r| (r.workload.as_str(), r.config.as_str()))
        .collect();
    assert_eq!(runs, [("rings", config)]);
    let help = gclab(&["report", "--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("comma followed by a digit"));
}

#[test]
fn list_names_workloads_configurations_and_peers() {
    let output = gclab(&["list"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "steady-burst",
        "cpython313",
        "none/manual/system",
        "keep_every",
    ] {
        assert!(text.contains(needle), "{needle} missing from list");
    }
    if cfg!(feature = "peers") {
        assert!(text.contains("gcmodule 0.3") && text.contains("cannot run graph-churn"));
    }
}

#[test]
fn run_prints_a_json_record() {
    let output = gclab(&[
        "run",
        "--workload",
        "rings",
        "--config",
        "cpython312",
        "--scale",
        "tiny",
        "--param",
        "rings=50",
        "--json",
    ]);
    assert!(output.status.success());
    let record: gc_bench::record::RunRecord =
        serde_json::from_slice(&output.stdout).expect("one JSON record");
    assert_eq!(record.params["rings"], 50.0);
    assert!(record.drop_check.passed);
}

#[test]
fn unknown_workload() {
    let output = gclab(&["run", "--workload", "heap", "--config", "rc"]);
    assert_usage_error(&output, &["\"heap\"", "trees", "rings", "steady-burst"]);
}

#[test]
fn unknown_configuration() {
    let output = gclab(&["run", "--workload", "trees", "--config", "cpython399"]);
    assert_usage_error(&output, &["\"cpython399\"", "cpython312", "rc"]);
    if cfg!(feature = "peers") {
        assert_usage_error(&output, &["gcmodule", "dumpster"]);
    }
}

#[test]
fn bad_parameters() {
    let unknown = gclab(&[
        "run",
        "--workload",
        "trees",
        "--config",
        "rc",
        "--param",
        "width=3",
    ]);
    assert_usage_error(&unknown, &["\"width\"", "depth", "iterations"]);
    let malformed = gclab(&[
        "run",
        "--workload",
        "trees",
        "--config",
        "rc",
        "--param",
        "depth=x",
    ]);
    assert_usage_error(&malformed, &["depth", "whole number"]);
    let shape = gclab(&[
        "run",
        "--workload",
        "trees",
        "--config",
        "rc",
        "--param",
        "depth",
    ]);
    assert_usage_error(&shape, &["key=value"]);
}

#[test]
#[cfg(feature = "peers")]
fn a_workload_the_peer_cannot_express() {
    let output = gclab(&["run", "--workload", "graph-churn", "--config", "std-rc"]);
    assert_usage_error(&output, &["std-rc", "graph-churn", "by hand"]);
}

#[test]
fn bad_scale_reps_and_pattern() {
    let scale = gclab(&["report", "--scale", "huge"]);
    assert_usage_error(&scale, &["huge", "tiny, small, medium, large"]);
    let reps = gclab(&["report", "--reps", "0"]);
    assert_usage_error(&reps, &["--reps"]);
    let pattern = gclab(&["report", "--only", "nothing-like-this"]);
    assert_usage_error(&pattern, &["nothing-like-this", "trees", "cpython312"]);
    let unknown = gclab(&["frobnicate"]);
    assert_usage_error(&unknown, &["frobnicate"]);
}

#[test]
fn unwritable_output_directory() {
    let dir = ScratchDir::new("cli-unwritable");
    let file = dir.join("a-file");
    fs::write(&file, "not a directory").unwrap();
    let under_file = file.join("report");
    let output = gclab(&[
        "report",
        "--scale",
        "tiny",
        "--only",
        "trees,rc",
        "--out",
        under_file.to_str().unwrap(),
    ]);
    assert_usage_error(&output, &["--out", "cannot create"]);

    let foreign = dir.join("notes");
    fs::create_dir_all(&foreign).unwrap();
    fs::write(foreign.join("keep.txt"), "mine").unwrap();
    let output = gclab(&[
        "report",
        "--scale",
        "tiny",
        "--only",
        "trees,rc",
        "--out",
        foreign.to_str().unwrap(),
    ]);
    assert_usage_error(&output, &["not a gclab report"]);
    assert!(foreign.join("keep.txt").exists());
    assert!(entries_with(&dir, "partial").is_empty());
}
