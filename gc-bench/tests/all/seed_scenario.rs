//! The `seed-scenario` binary (issue 4's seed scenario): a small run end to end — every
//! (case, allocator) in its child process, the survivors accounted for, the verdicts present —
//! the CPython side run or reported as skipped, and bad flags refused with one line and exit 2.

use std::process::{Command, Output};

use serde_json::Value;

fn seed_scenario(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seed-scenario"))
        .args(args)
        .output()
        .expect("seed-scenario runs")
}

/// Runs with `--json` and returns the parsed report, asserting success.
fn report(args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let output = seed_scenario(&all);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr: {stderr}");
    serde_json::from_slice(&output.stdout).expect("one JSON document on stdout")
}

#[test]
fn a_small_run_end_to_end() {
    // An odd count: the last object is its own partner.
    let report = report(&["--objects", "3001", "--no-python"]);
    assert_eq!(report["failures"].as_array().unwrap().len(), 0);
    assert_eq!(report["python"]["measured"], false);
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 6, "three cases on two allocators");
    for run in runs {
        let case = run["case"].as_str().unwrap();
        let allocator = run["allocator"].as_str().unwrap();
        assert!(
            run["config"].as_str().unwrap().ends_with(allocator),
            "{run}"
        );
        // Objects 0, 100, …, 3000 kept: 30 pairs and the lone last object.
        let survivors = if case == "b" { 61 } else { 0 };
        assert_eq!(run["survivors"], survivors, "{run}");
        assert_eq!(run["live_after_collect"], survivors, "{run}");
        let found = match case {
            "c" => 0,
            _ => 3001 - survivors,
        };
        assert_eq!(run["found"], found, "{run}");
        for step in ["start", "built", "dropped", "collected", "trimmed"] {
            assert!(run["rss_kib"][step].as_u64().unwrap() > 0, "{step}: {run}");
        }
        assert_eq!(run["arenas"].is_null(), allocator == "system", "{run}");
        assert_eq!(
            run["survivor_page_floor_kib"].is_null(),
            case != "b",
            "{run}"
        );
    }
    let verdicts = report["verdicts"].as_array().unwrap();
    // Case a: two allocators × (after collect, after trim); case b likewise, against the issue's
    // CPython figure (no CPython run, the issue's --keep-every).
    assert_eq!(verdicts.len(), 8, "{verdicts:?}");
    assert!(report["reference"]["source"]
        .as_str()
        .unwrap()
        .contains("issue"));
}

#[test]
fn the_cpython_side_runs_or_says_it_was_skipped() {
    let report = report(&[
        "--objects",
        "2000",
        "--case",
        "c",
        "--allocator",
        "pool",
        "--keep-every",
        "7",
    ]);
    let runs = report["runs"].as_array().unwrap();
    let cpython = runs
        .iter()
        .filter(|run| run["allocator"] == "cpython")
        .count();
    if report["python"]["measured"] == true {
        assert_eq!(cpython, 1, "{report}");
    } else {
        assert_eq!(cpython, 0, "{report}");
        assert!(report["python"]["note"]
            .as_str()
            .unwrap()
            .contains("skipped"));
    }
    // No case b, so nothing to compare with CPython.
    assert!(report["reference"].is_null(), "{report}");
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    for args in [
        &["--case", "d"][..],
        &["--allocator", "jemalloc"],
        &["--objects", "0"],
        &["--objects", "many"],
        &["--keep-every", "0"],
        &["--bogus"],
        &["--child", "--case", "all"],
    ] {
        let output = seed_scenario(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?}: not one line: {stderr}"
        );
        assert!(stderr.starts_with("seed-scenario: "), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}
