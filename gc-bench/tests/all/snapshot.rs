//! Heap snapshots: a hand-written snapshot and generated ones replayed under every preset with a
//! cycle detector give CPython's count; every kind of bad input is refused with its line number;
//! `gclab replay` exits 2 on a bad file and 1 never on a good one; `gclab report` exports the
//! example programs itself (unless `--no-examples`), `--only` selects them, and a run that does
//! not find CPython's count is an error of the report.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

use gc_bench::rng::Rng;
use gc_bench::snapshot::replay::{default_configs, replay};
use gc_bench::snapshot::{graph, Header, ObjectRecord, ReplayError, ReplayOptions, Snapshot};

use super::support::{gclab, read_report, ScratchDir};

/// `tests/snapshots/NAME`.
fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name)
}

/// The small snapshot's lines: a 2-cycle (0, 1) and a self-loop (2), unreachable; a chain
/// 3 → 4 → 5 (twice) kept by `ext` on 3 and 5.
fn small_lines() -> Vec<String> {
    std::fs::read_to_string(fixture("small.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The small snapshot with line `line` (1-based) replaced by `text`, newline-terminated.
fn with_line(line: usize, text: &str) -> String {
    let mut lines = small_lines();
    lines[line - 1] = text.to_owned();
    lines.join("\n") + "\n"
}

/// Asserts that `text` is refused at `line`, with a message containing each of `needles`.
fn refused(text: &str, line: usize, needles: &[&str]) {
    let error = Snapshot::parse_str(text).expect_err("a bad snapshot was accepted");
    assert_eq!(error.line, Some(line), "{error}");
    let shown = error.to_string();
    assert!(shown.starts_with(&format!("line {line}: ")), "{shown}");
    for needle in needles {
        assert!(shown.contains(needle), "{needle:?} missing from: {shown}");
    }
}

fn detector_configs() -> Vec<String> {
    let (run, skipped) = default_configs();
    assert!(skipped.iter().any(|(name, _)| name == "rc"), "{skipped:?}");
    assert!(run.iter().any(|(name, _)| name == "cpython312"), "{run:?}");
    run.into_iter().map(|(name, _)| name).collect()
}

#[test]
fn the_small_snapshot_gives_three_under_every_detector() {
    let snapshot = Snapshot::read(&fixture("small.jsonl")).unwrap();
    assert_eq!(graph::unreachable(&snapshot), 3);
    for config in detector_configs() {
        for payload in [false, true] {
            let result = replay(&snapshot, &config, ReplayOptions { payload })
                .unwrap_or_else(|e| panic!("{config}: {e}"));
            assert_eq!(result.unreachable, 3, "{config} (payload {payload})");
            assert!(result.matches);
            assert_eq!((result.objects, result.edges), (6, 6));
            assert_eq!(result.config, config);
        }
    }
}

#[test]
fn a_configuration_without_a_detector_is_refused() {
    let snapshot = Snapshot::read(&fixture("small.jsonl")).unwrap();
    let error = replay(&snapshot, "rc", ReplayOptions::default()).unwrap_err();
    assert!(matches!(error, ReplayError::NoDetector { .. }), "{error}");
    let error = replay(&snapshot, "bogus", ReplayOptions::default()).unwrap_err();
    assert!(matches!(error, ReplayError::Config(_)), "{error}");
}

/// A random heap in the snapshot format: `n` objects, out-degrees 0 to 6 with repeats and
/// self-loops, a few roots, short back-edges that close garbage cycles; the header's count is the
/// graph's own (computed by [`graph::unreachable`]).
fn random_snapshot(n: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    // The first half may be live (roots, edges within the half); the second half is garbage
    // (no roots, edges anywhere): nothing live references it.
    let half = n / 2;
    let region = |id: usize| if id < half { 0..half } else { 0..n };
    let mut objects: Vec<ObjectRecord> = Vec::with_capacity(n);
    for id in 0..n {
        let targets = region(id);
        let degree = rng.below(5);
        let mut out: Vec<usize> = (0..degree)
            .map(|_| targets.start + rng.below(targets.len()))
            .collect();
        if id % 50 == 49 {
            out.push(id - rng.below(10)); // a short cycle, or a self-loop
        }
        let ext = if id < half && rng.chance(0.05) {
            1 + rng.below(3) as u64
        } else {
            0
        };
        objects.push(ObjectRecord {
            type_name: "list".into(),
            size: 56 + 8 * out.len() as u64,
            ext,
            out,
        });
    }
    // Every object needs one reference at least: give each orphan an edge from its own half.
    let mut in_degree = vec![0usize; n];
    for object in &objects {
        for &target in &object.out {
            in_degree[target] += 1;
        }
    }
    for id in 0..n {
        if objects[id].ext == 0 && in_degree[id] == 0 {
            let from = if id < half {
                rng.below(half)
            } else {
                half + rng.below(n - half)
            };
            objects[from].out.push(id);
        }
    }
    let mut snapshot = Snapshot {
        header: Header {
            python: "3.12.0".into(),
            objects: n,
            edges: objects.iter().map(|o| o.out.len() as u64).sum(),
            cpython_unreachable: 0,
            cpython_collect_ns: 1_000_000,
        },
        objects,
    };
    snapshot.header.cpython_unreachable = graph::unreachable(&snapshot) as u64;
    let h = &snapshot.header;
    let mut text = format!(
        r#"{{"format": "gclab-heap-snapshot", "version": 1, "python": "{}", "objects": {}, "edges": {}, "cpython_unreachable": {}, "cpython_collect_ns": {}}}"#,
        h.python, h.objects, h.edges, h.cpython_unreachable, h.cpython_collect_ns
    );
    text.push('\n');
    for (id, o) in snapshot.objects.iter().enumerate() {
        let _ = writeln!(
            text,
            r#"{{"id": {id}, "type": "{}", "size": {}, "ext": {}, "out": {:?}}}"#,
            o.type_name, o.size, o.ext, o.out
        );
    }
    text
}

#[test]
fn generated_heaps_replay_to_their_own_count_under_every_detector() {
    for seed in [1, 2] {
        let snapshot = Snapshot::parse_str(&random_snapshot(3000, seed)).unwrap();
        let expected = graph::unreachable(&snapshot);
        assert!((1500..3000).contains(&expected), "seed {seed}: {expected}");
        assert_eq!(snapshot.header.cpython_unreachable, expected as u64);
        for config in detector_configs() {
            let result = replay(&snapshot, &config, ReplayOptions::default())
                .unwrap_or_else(|e| panic!("{config}: {e}"));
            assert_eq!(result.unreachable, expected, "{config}, seed {seed}");
        }
    }
}

// --- bad input: one test per kind, each naming the line --------------------------------------

#[test]
fn not_json() {
    refused(
        &with_line(3, r#"{"id": 1, "type": "Node", "#),
        3,
        &["not JSON"],
    );
    refused(&with_line(4, "hello"), 4, &["not JSON"]);
    refused(&with_line(1, "[1, 2, 3]"), 1, &["expected a JSON object"]);
}

#[test]
fn wrong_format_or_version() {
    let header = &small_lines()[0];
    refused(
        &with_line(1, &header.replace("gclab-heap-snapshot", "heapdump")),
        1,
        &["\"heapdump\"", "gclab-heap-snapshot"],
    );
    refused(
        &with_line(1, &header.replace(r#""version": 1"#, r#""version": 2"#)),
        1,
        &["version 2", "version 1"],
    );
}

#[test]
fn missing_fields() {
    let header = &small_lines()[0];
    refused(
        &with_line(1, &header.replace(r#""edges": 6, "#, "")),
        1,
        &["missing field \"edges\""],
    );
    refused(
        &with_line(5, r#"{"id": 3, "type": "dict", "size": 232, "out": [4]}"#),
        5,
        &["missing field \"ext\""],
    );
    refused(
        &with_line(5, r#"{"id": 3, "type": "dict", "size": 232, "ext": 1}"#),
        5,
        &["missing field \"out\""],
    );
    refused(
        &with_line(5, r#"{"id": 3, "size": 232, "ext": 1, "out": [4]}"#),
        5,
        &["missing field \"type\""],
    );
    refused(
        &with_line(
            5,
            r#"{"id": 3, "type": "dict", "size": "big", "ext": 1, "out": [4]}"#,
        ),
        5,
        &["\"size\" must be a non-negative integer"],
    );
}

#[test]
fn ids_not_dense_or_out_of_order() {
    refused(
        &with_line(
            4,
            r#"{"id": 3, "type": "list", "size": 64, "ext": 0, "out": [2]}"#,
        ),
        4,
        &["id 3 where id 2 was expected"],
    );
    let mut lines = small_lines();
    lines.swap(2, 3);
    refused(
        &(lines.join("\n") + "\n"),
        3,
        &["id 2 where id 1 was expected"],
    );
}

#[test]
fn an_out_id_outside_the_snapshot() {
    refused(
        &with_line(
            6,
            r#"{"id": 4, "type": "list", "size": 72, "ext": 0, "out": [5, 6]}"#,
        ),
        6,
        &["out[1] is 6", "0 to 5"],
    );
    refused(
        &with_line(
            6,
            r#"{"id": 4, "type": "list", "size": 72, "ext": 0, "out": [-1, 5]}"#,
        ),
        6,
        &["out[0] is -1"],
    );
}

#[test]
fn a_negative_or_immortal_ext() {
    refused(
        &with_line(
            5,
            r#"{"id": 3, "type": "dict", "size": 232, "ext": -1, "out": [4]}"#,
        ),
        5,
        &["negative ext -1"],
    );
    refused(
        &with_line(
            5,
            r#"{"id": 3, "type": "dict", "size": 232, "ext": 4294967295, "out": [4]}"#,
        ),
        5,
        &["ext 4294967295", "limit"],
    );
}

#[test]
fn counts_that_do_not_match_the_header() {
    let header = &small_lines()[0];
    // One object more than announced.
    let mut lines = small_lines();
    lines.push(r#"{"id": 6, "type": "list", "size": 56, "ext": 1, "out": []}"#.to_owned());
    refused(
        &(lines.join("\n") + "\n"),
        8,
        &["more object lines than the 6"],
    );
    // Edges.
    refused(
        &with_line(1, &header.replace(r#""edges": 6"#, r#""edges": 7"#)),
        1,
        &["7 edges", "list 6"],
    );
    // CPython's count against the graph's own.
    refused(
        &with_line(
            1,
            &header.replace(r#""cpython_unreachable": 3"#, r#""cpython_unreachable": 2"#),
        ),
        1,
        &["cpython_unreachable is 2", "3 objects"],
    );
    refused(
        &with_line(
            1,
            &header.replace(r#""cpython_unreachable": 3"#, r#""cpython_unreachable": 9"#),
        ),
        1,
        &["more than the 6 objects"],
    );
    // An object nothing references (ext 0, no incoming edge): object 3 loses its ext.
    refused(
        &with_line(
            5,
            r#"{"id": 3, "type": "dict", "size": 232, "ext": 0, "out": [4]}"#,
        ),
        5,
        &["object 3 has no reference at all"],
    );
}

#[test]
fn a_truncated_file() {
    let lines = small_lines();
    // Fewer lines than announced (the last one complete).
    refused(
        &(lines[..5].join("\n") + "\n"),
        6,
        &["ends after 4 of the 6 objects", "truncated"],
    );
    // The last line cut in the middle of its JSON, no newline.
    let cut = lines.join("\n");
    let cut = &cut[..cut.len() - 10];
    refused(cut, 7, &["ends in the middle of this line", "truncated"]);
    // Empty file, empty line in the middle.
    refused("", 1, &["empty file"]);
    let mut gap = lines.clone();
    gap.insert(3, String::new());
    refused(&(gap.join("\n") + "\n"), 4, &["empty line", "object 2"]);
    // Trailing empty lines are harmless.
    assert!(Snapshot::parse_str(&(lines.join("\n") + "\n\n\n")).is_ok());
}

// --- the command line ------------------------------------------------------------------------

#[test]
fn replay_on_a_bad_file_exits_2_naming_the_file_and_line() {
    let dir = ScratchDir::new("snapshot-replay");
    let bad = dir.join("bad.jsonl");
    std::fs::write(
        &bad,
        with_line(
            6,
            r#"{"id": 4, "type": "list", "size": 72, "ext": 0, "out": [9]}"#,
        ),
    )
    .unwrap();
    let output = gclab(&["replay", bad.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(
        stderr.contains("bad.jsonl: line 6: out[0] is 9"),
        "{stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "nothing replayed before the error"
    );

    let missing = gclab(&["replay", dir.join("absent.jsonl").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("absent.jsonl"));
}

#[test]
fn replay_refuses_configurations_it_cannot_check() {
    let file = fixture("small.jsonl");
    let file = file.to_str().unwrap();
    for (config, needle) in [
        ("rc", "no cycle detector"),
        ("cpython399", "unknown configuration"),
    ] {
        let output = gclab(&["replay", file, "--config", config]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{config}: {stderr}");
        assert!(
            stderr.contains(needle) && stderr.contains("cpython312"),
            "{stderr}"
        );
    }
}

#[test]
fn replay_prints_a_json_document_and_a_table() {
    let file = fixture("small.jsonl");
    let file = file.to_str().unwrap();
    let output = gclab(&[
        "replay",
        file,
        "--config",
        "cpython312",
        "--config",
        "bacon-rajan",
        "--json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let results = document["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for result in results {
        assert_eq!(result["unreachable"], 3);
        assert_eq!(result["matches"], true);
    }
    assert_eq!(document["cpython_unreachable"], 3);

    let table = gclab(&["replay", file]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("skipped rc"), "{text}");
    assert!(
        text.contains("cpython312") && text.contains(" ok"),
        "{text}"
    );
}

// --- the `snapshot` workload of the runner -----------------------------------------------------

/// A snapshot with an object of 11 references (3 helper nodes on a backend) in a garbage cycle,
/// and a root holding a list of 6 (2 helpers): written to the file `name` in a scratch directory
/// of its own (each caller's, so that one test's clean-up cannot remove another's file), which
/// lives as long as the returned `ScratchDir`.
fn wide_snapshot_file(name: &str) -> (ScratchDir, PathBuf) {
    let text = [
        r#"{"format": "gclab-heap-snapshot", "version": 1, "python": "3.12.3", "objects": 5, "edges": 19, "cpython_unreachable": 2, "cpython_collect_ns": 5000}"#,
        r#"{"id": 0, "type": "list", "size": 152, "ext": 0, "out": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]}"#,
        r#"{"id": 1, "type": "dict", "size": 232, "ext": 0, "out": [0]}"#,
        r#"{"id": 2, "type": "list", "size": 104, "ext": 1, "out": [3, 3, 4, 4, 3, 4]}"#,
        r#"{"id": 3, "type": "tuple", "size": 40, "ext": 0, "out": []}"#,
        r#"{"id": 4, "type": "Frame", "size": 48, "ext": 2, "out": [4]}"#,
    ]
    .join("\n")
        + "\n";
    let stem = std::path::Path::new(name)
        .file_stem()
        .unwrap()
        .to_string_lossy();
    let dir = ScratchDir::new(&format!("snapshot-workload-{stem}"));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn the_snapshot_workload_frees_the_unreachable_objects_and_their_helpers() {
    use gc_bench::backends::BackendChoice;
    use gc_bench::measure::{self, RunSpec};
    use gc_bench::params::Params;
    use gc_bench::workloads::WorkloadId;
    use gc_bench::Scale;

    let (_scratch, file) = wide_snapshot_file("wide.jsonl");
    let mut configs = vec!["cpython312", "bacon-rajan", "mark-sweep"];
    if cfg!(feature = "peers") {
        configs.extend(["gcmodule", "rust-cc"]);
    }
    for config in configs {
        let workload = WorkloadId::Snapshot;
        let overrides = [format!("file={}", file.display()), "payload=1".to_owned()];
        let params =
            Params::resolve(workload.name(), workload.params(), Scale::Tiny, &overrides).unwrap();
        workload.check(&params).unwrap();
        let spec = RunSpec {
            workload,
            backend: BackendChoice::parse(config).unwrap(),
            scale: Scale::Tiny,
            params,
            rep: 0,
        };
        let record = measure::run(&spec).unwrap_or_else(|e| panic!("{config}: {e}"));
        assert_eq!(record.workload, "snapshot-wide");
        assert!(
            record.drop_check.passed,
            "{config}: {:?}",
            record.drop_check
        );
        // 11 references: 3 helpers; 6 references: 2 helpers.
        assert_eq!(record.figures["helper_nodes"], 5.0, "{config}");
        // Objects 0 and 1 and the 3 helpers of object 0.
        assert_eq!(record.figures["expected_freed"], 5.0, "{config}");
        assert_eq!(record.figures["freed_by_collect"], 5.0, "{config}");
        assert_eq!(
            record.text_params["file"],
            file.display().to_string(),
            "{config}"
        );
    }
}

#[test]
fn run_and_report_refuse_a_missing_or_bad_snapshot_file() {
    let missing = gclab(&["run", "--workload", "snapshot", "--config", "cpython312"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("needs --param file=PATH"));

    let (_scratch, bad) = wide_snapshot_file("bad-for-run.jsonl");
    let text = std::fs::read_to_string(&bad)
        .unwrap()
        .replace(r#""ext": 2"#, r#""ext": -2"#);
    std::fs::write(&bad, text).unwrap();
    let param = format!("file={}", bad.display());
    let run = gclab(&[
        "run",
        "--workload",
        "snapshot",
        "--config",
        "cpython312",
        "--param",
        &param,
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad-for-run.jsonl: line 6: negative ext -2"),
        "{stderr}"
    );

    let out = bad.with_file_name("report-never-written");
    let report = gclab(&[
        "report",
        "--scale",
        "tiny",
        "--only",
        "trees,rc",
        "--snapshot",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&report.stderr);
    assert_eq!(report.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 6"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn a_report_includes_given_snapshots_on_the_configurations_that_collect_cycles() {
    let dir = ScratchDir::new("snapshot-report");
    let run_report = |out: &str, snapshot: Option<&str>| {
        let out = dir.join(out);
        let mut args = vec![
            "report".to_owned(),
            "--scale".into(),
            "tiny".into(),
            "--reps".into(),
            "1".into(),
            "--only".into(),
            "rings,cpython312,rc".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ];
        if let Some(file) = snapshot {
            args.extend(["--snapshot".into(), file.into()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        read_report(&gclab(&args), &out)
    };
    let without = run_report("without", None);
    assert!(without.workloads.iter().all(|w| w.name == "rings"));

    let small = fixture("small.jsonl");
    let with = run_report("with", Some(small.to_str().unwrap()));
    let names: Vec<&str> = with.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["rings", "snapshot-small"]);
    let snapshot_run = with
        .runs
        .iter()
        .find(|r| r.workload == "snapshot-small" && r.config == "cpython312")
        .expect("the snapshot ran on cpython312");
    assert_eq!(snapshot_run.figures["freed_by_collect"], 3.0);
    assert_eq!(snapshot_run.figures["unreachable_found"], 3.0);
    assert!(snapshot_run.errors.is_empty());
    // A configuration without a cycle detector cannot find CPython's count: not run.
    assert!(with.cell("snapshot-small", "rc").is_none());
    assert!(with
        .unsupported
        .iter()
        .any(|u| u.workload == "snapshot-small" && u.config == "rc"));
    assert_eq!(
        with.snapshot_workloads()
            .iter()
            .map(|w| w.file.as_deref())
            .collect::<Vec<_>>(),
        [small.to_str()]
    );
    let md = std::fs::read_to_string(dir.join("with/report.md")).unwrap();
    assert!(md.contains("| snapshot-small |"), "{md}");
    assert!(
        md.contains("| cpython312 | ") && md.contains(", 3 ok |"),
        "{md}"
    );
}

// --- the example programs of tools/examples, exported by CPython itself -------------------------

/// `python3`, if this machine has one that runs.
fn python3() -> Option<&'static str> {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    ok.then_some("python3")
}

#[test]
fn the_example_programs_replay_to_cpythons_count_under_every_detector() {
    let tools = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools");
    let exporter = tools.join("export_heap.py");
    let Some(python) = python3() else {
        eprintln!("skipped: no python3 on this machine (CI has one)");
        return;
    };
    if !exporter.exists() {
        eprintln!("skipped: no {}", exporter.display());
        return;
    }
    let mut programs: Vec<PathBuf> = std::fs::read_dir(tools.join("examples"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "py"))
                .collect()
        })
        .unwrap_or_default();
    programs.sort();
    assert!(
        !programs.is_empty(),
        "no example programs in tools/examples"
    );
    let dir = ScratchDir::new("examples");
    let configs = detector_configs();
    for program in &programs {
        let name = program.file_stem().unwrap().to_string_lossy().into_owned();
        let out = dir.join(format!("{name}.jsonl"));
        let export = Command::new(python)
            .arg(&exporter)
            .arg(program)
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            export.status.success(),
            "exporting {name} failed: {}",
            String::from_utf8_lossy(&export.stderr)
        );
        let snapshot = Snapshot::read(&out).unwrap_or_else(|e| panic!("{name}: {e}"));
        for config in &configs {
            let result = replay(&snapshot, config, ReplayOptions::default())
                .unwrap_or_else(|e| panic!("{name} on {config}: {e}"));
            assert!(
                result.matches,
                "{name} on {config}: found {}, CPython {}",
                result.unreachable, result.cpython_unreachable
            );
        }
        eprintln!(
            "{name}: {} objects, CPython's {} unreachable found by all {} configurations",
            snapshot.objects.len(),
            snapshot.header.cpython_unreachable,
            configs.len()
        );
    }
}

// --- `gclab report` and the example programs ---------------------------------------------------

/// `gclab report --scale tiny --reps 1 --out OUT` with `args`, and `PATH` replaced by `path` if
/// given.
fn tiny_report(out: &std::path::Path, args: &[&str], path: Option<&std::ffi::OsStr>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gclab"));
    command
        .args(["report", "--scale", "tiny", "--reps", "1", "--out"])
        .arg(out)
        .args(args);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    command.output().expect("gclab runs")
}

/// The snapshot workloads' names the example programs give, `snapshot-STEM`, sorted.
fn example_names() -> Vec<String> {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/examples");
    let mut names: Vec<String> = std::fs::read_dir(examples)
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "py"))
        .map(|path| format!("snapshot-{}", path.file_stem().unwrap().to_string_lossy()))
        .collect();
    names.sort();
    names
}

#[test]
fn the_report_exports_the_selected_example_programs_and_replays_them() {
    if python3().is_none() {
        eprintln!("skipped: no python3 on this machine (CI has one)");
        return;
    }
    let dir = ScratchDir::new("examples-selected");
    let out = dir.join("report");
    let output = tiny_report(
        &out,
        &[
            "--only",
            "rings,snapshot-parent_trees,snapshot-tracebacks,cpython312,rc",
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = read_report(&output, &out);
    assert!(
        stderr.contains("exported 2 example programs with python3 3."),
        "{stderr}"
    );
    let names: Vec<&str> = report.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(
        names,
        ["rings", "snapshot-parent_trees", "snapshot-tracebacks"]
    );
    for name in ["parent_trees", "tracebacks"] {
        let file = out.join(format!("snapshots/{name}.jsonl"));
        assert!(file.is_file(), "{} missing", file.display());
        let workload = format!("snapshot-{name}");
        let run = report
            .runs
            .iter()
            .find(|r| r.workload == workload && r.config == "cpython312")
            .unwrap_or_else(|| panic!("{workload} did not run on cpython312"));
        // The record names the file where the report keeps it, not the temporary directory.
        assert_eq!(run.text_params["file"], file.display().to_string());
        assert!(run.errors.is_empty(), "{:?}", run.errors);
        assert!(run.figures["cpython_unreachable"] > 0.0);
        assert_eq!(
            run.figures["unreachable_found"],
            run.figures["cpython_unreachable"]
        );
        assert!(report.cell(&workload, "rc").is_none(), "rc cannot run it");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Replayed CPython heaps"), "{md}");
    assert!(md.contains("| CPython gc.collect() |"), "{md}");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("id=\"snapshot-collect\""));
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(&html, options)
        .unwrap_or_else(|e| panic!("index.html is not well formed: {e}"));
}

#[test]
fn only_snapshot_star_selects_every_example_and_nothing_else() {
    if python3().is_none() {
        eprintln!("skipped: no python3 on this machine (CI has one)");
        return;
    }
    let dir = ScratchDir::new("examples-star");
    let out = dir.join("report");
    let output = tiny_report(&out, &["--only", "snapshot*,cpython312"], None);
    let report = read_report(&output, &out);
    let names: Vec<String> = report.workloads.iter().map(|w| w.name.clone()).collect();
    assert_eq!(names, example_names());
    assert_eq!(report.runs.len(), names.len());
    assert!(report.runs.iter().all(|r| r.config == "cpython312"));
    assert!(report.all_passed(), "{:?}", report.runs_with_errors());
}

#[test]
fn no_examples_leaves_the_example_programs_out() {
    let dir = ScratchDir::new("examples-none");
    let out = dir.join("report");
    let output = tiny_report(&out, &["--no-examples", "--only", "rings,cpython312"], None);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = read_report(&output, &out);
    assert!(report.snapshot_workloads().is_empty());
    assert!(!out.join("snapshots").exists());
    assert!(
        !stderr.contains("exported") && !stderr.contains("skipped"),
        "{stderr}"
    );
    // Without the examples, their names are not workloads `--only` can select.
    let refused = tiny_report(
        &dir.join("never"),
        &["--no-examples", "--only", "snapshot*"],
        None,
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("\"snapshot*\" matches no workload") && stderr.contains("--snapshot FILE"),
        "{stderr}"
    );
    assert!(!dir.join("never").exists());
}

#[test]
fn without_python3_the_examples_are_skipped_and_the_report_goes_on() {
    let dir = ScratchDir::new("examples-no-python");
    let empty = dir.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let out = dir.join("report");
    let output = tiny_report(
        &out,
        &["--only", "rings,snapshot-parent_trees,cpython312"],
        Some(empty.as_os_str()),
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = read_report(&output, &out);
    assert!(
        stderr.contains("python3 not found: example snapshot workloads skipped"),
        "{stderr}"
    );
    let names: Vec<&str> = report.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["rings"]);
}

#[cfg(unix)]
#[test]
fn a_program_that_fails_to_export_is_skipped_not_fatal() {
    use std::os::unix::fs::PermissionsExt;

    // The interpreter itself, not a launcher script (pyenv's shims need their own PATH).
    let real = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .filter(|path| !path.is_empty());
    let Some(real) = real else {
        eprintln!("skipped: no python3 on this machine (CI has one)");
        return;
    };
    // A python3 that fails on one program and is the real one otherwise.
    let dir = ScratchDir::new("examples-failing");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let wrapper = bin.join("python3");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ncase \"$2\" in *tracebacks.py) echo 'boom: cannot export' >&2; exit 1;; \
             esac\nexec '{}' \"$@\"\n",
            real
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut path = vec![bin];
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let path = std::env::join_paths(path).unwrap();
    let out = dir.join("report");
    let output = tiny_report(
        &out,
        &[
            "--only",
            "snapshot-tracebacks,snapshot-parent_trees,cpython312",
        ],
        Some(&path),
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = read_report(&output, &out);
    assert!(
        stderr.contains("tracebacks.py failed: the exporter exited with")
            && stderr.contains("boom: cannot export; snapshot-tracebacks skipped"),
        "{stderr}"
    );
    assert!(
        stderr.contains("exported 1 example program with python3"),
        "{stderr}"
    );
    let names: Vec<&str> = report.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["snapshot-parent_trees"]);
}

#[test]
fn a_wrong_count_is_an_error_of_the_run_and_of_the_report() {
    use gc_bench::backends::BackendChoice;
    use gc_bench::matrix::Matrix;
    use gc_bench::measure::{self, RunSpec};
    use gc_bench::params::Params;
    use gc_bench::report::{markdown, Report, WorkloadInfo};
    use gc_bench::workloads::WorkloadId;
    use gc_bench::Scale;

    let file = fixture("small.jsonl");
    let workload = WorkloadId::Snapshot;
    let overrides = [format!("file={}", file.display())];
    let params =
        Params::resolve(workload.name(), workload.params(), Scale::Tiny, &overrides).unwrap();
    let spec = RunSpec {
        workload,
        backend: BackendChoice::parse("cpython312").unwrap(),
        scale: Scale::Tiny,
        params,
        rep: 0,
    };
    let good = measure::run(&spec).unwrap();
    assert!(good.errors.is_empty(), "{:?}", good.errors);
    // What a collector that missed an object would have recorded.
    let mut bad = good.clone();
    bad.rep = 1;
    bad.figures.insert("unreachable_found".into(), 2.0);
    bad.errors
        .push("the collection found 2 unreachable objects, CPython's gc.collect() 3".into());
    let matrix = Matrix::default_matrix().only("cpython312").unwrap();
    let mut report = Report::new(&matrix, Scale::Tiny, 2, vec![good, bad], Vec::new(), 0.1);
    report.workloads = vec![WorkloadInfo {
        name: "snapshot-small".into(),
        summary: "the small snapshot".into(),
        params: Default::default(),
        needs_tracing: None,
        file: Some(file.display().to_string()),
    }];
    assert!(!report.all_passed());
    assert_eq!(report.runs_with_errors().len(), 1);
    let md = markdown::render(&report);
    assert!(
        md.contains("| cpython312 | ")
            && md.contains(", MISMATCH: 2 found (CPython 3) in 1 of 2 repetitions |"),
        "{md}"
    );
    assert!(
        md.contains("repetition 1: the collection found 2 unreachable objects"),
        "{md}"
    );
    // A record without errors reads as before (the field is absent from its JSON).
    let json = serde_json::to_string(&report.runs[0]).unwrap();
    assert!(!json.contains("\"errors\""), "{json}");
}

#[cfg(feature = "peers")]
#[test]
fn a_peer_that_caps_references_cannot_run_a_snapshot_above_its_cap() {
    // Object 0 has 20 000 references from outside: more than rust-cc's 16 382.
    let text = [
        r#"{"format": "gclab-heap-snapshot", "version": 1, "python": "3.12.3", "objects": 3, "edges": 3, "cpython_unreachable": 2, "cpython_collect_ns": 5000}"#,
        r#"{"id": 0, "type": "type", "size": 1000, "ext": 20000, "out": []}"#,
        r#"{"id": 1, "type": "list", "size": 72, "ext": 0, "out": [2, 0]}"#,
        r#"{"id": 2, "type": "list", "size": 72, "ext": 0, "out": [1]}"#,
    ]
    .join("\n")
        + "\n";
    let dir = ScratchDir::new("examples-cap");
    let file = dir.join("popular.jsonl");
    std::fs::write(&file, text).unwrap();
    let param = format!("file={}", file.display());
    let run = |config: &str| {
        gclab(&[
            "run",
            "--workload",
            "snapshot",
            "--config",
            config,
            "--param",
            &param,
        ])
    };
    let refused = run("rust-cc");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("rust-cc holds at most 16382 references to one object; object 0 (type)"),
        "{stderr}"
    );
    let fine = run("gcmodule");
    assert!(
        fine.status.success(),
        "{}",
        String::from_utf8_lossy(&fine.stderr)
    );
    let out = dir.join("report");
    let output = tiny_report(
        &out,
        &[
            "--no-examples",
            "--only",
            "snapshot*,rust-cc,gcmodule",
            "--snapshot",
            file.to_str().unwrap(),
        ],
        None,
    );
    let report = read_report(&output, &out);
    assert!(report.cell("snapshot-popular", "gcmodule").is_some());
    assert!(report
        .unsupported
        .iter()
        .any(|u| u.workload == "snapshot-popular"
            && u.config == "rust-cc"
            && u.reason.contains("16382")));
}
