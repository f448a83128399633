//! `gclab report`: the main job — the matrix, run in child processes with a progress bar,
//! written as `report.json`, `report.md` and `index.html` (+ `plots/*.svg`).
//!
//! Snapshot workloads — a CPython program's heap replayed and collected once, named
//! `snapshot-STEM` — come from two places:
//!
//! - `--snapshot FILE` (repeatable): each file is checked before anything runs (a bad one is a
//!   usage error naming its line), and it always runs, whatever `--only` selects among the
//!   workloads;
//! - the example programs of `tools/examples/` ([`examples`]), unless
//!   `--no-examples`: those `--only` keeps are exported with `python3` into `OUT/snapshots/` once
//!   the output directory is prepared. What was done is said on stderr; no `python3`, or a
//!   program that fails to export, leaves those snapshots out without failing the report.
//!
//! Each runs on every configuration the matrix keeps that collects cycles; the others (`rc`,
//! `std-rc`), and a peer that cannot hold one of the snapshot's objects, are listed with the
//! reason. A run whose collection does not find CPython's unreachable count is an error of its
//! record: the report shows it and the exit status is 1.
//!
//! The thread-shared workloads ([`gc_bench::shared`]) run after the matrix, on the thread-shared
//! backends, their repetitions interleaved too; `--only` selects among them as among the others
//! ([`gc_bench::shared::selection`]); the report shows them in the table "Thread-shared heaps".

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gc_bench::backends::BackendChoice;
use gc_bench::matrix::{cannot_run, Matrix};
use gc_bench::params::Params;
use gc_bench::record::RunRecord;
use gc_bench::report::output_dir::ReportDir;
use gc_bench::report::{html, markdown, plots, Report, UnsupportedPair, WorkloadInfo};
use gc_bench::runner::{interleaved_with, time_limit, ChildRunner, PlannedRun};
use gc_bench::shared::selection::{select, Selection};
use gc_bench::snapshot::Snapshot;
use gc_bench::workloads::{snapshot, WorkloadId};
use gc_bench::Scale;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::examples::{self, Program};
use super::{CliError, ReportArgs};

/// Where the exported example snapshots go, inside the report.
const SNAPSHOT_DIR: &str = "snapshots";

/// Runs `gclab report`.
pub fn execute(args: ReportArgs) -> Result<(), CliError> {
    if args.reps == 0 {
        return Err(CliError::Usage(
            "--reps 0: at least one repetition is needed".into(),
        ));
    }
    let given = given_snapshots(&args.snapshots, args.scale)?;
    let mut notes = Vec::new();
    let mut programs = Vec::new();
    let mut exporter = None;
    if !args.no_examples {
        match examples::find() {
            Ok(found) => {
                for program in found.programs {
                    let taken = given.iter().any(|g| g.label == program.label)
                        || programs.iter().any(|p: &Program| p.label == program.label);
                    if taken {
                        notes.push(format!(
                            "{}: another snapshot is already named {}: not exported",
                            program.path.display(),
                            program.label
                        ));
                    } else {
                        programs.push(program);
                    }
                }
                exporter = Some(found.exporter);
            }
            Err(why) => notes.push(format!("{why}: example snapshot workloads skipped")),
        }
    }

    let names = given.iter().map(|g| g.label.clone());
    let names = names.chain(programs.iter().map(|p| p.label.clone()));
    let Selection { matrix, shared } = select(
        Matrix::default_matrix().with_snapshots(names),
        args.only.as_deref(),
    )
    .map_err(CliError::Usage)?;
    let pairs = matrix.runnable();
    let replays_anywhere = matrix
        .backends
        .iter()
        .any(|backend| cannot_run(WorkloadId::Snapshot, backend).is_none());
    programs.retain(|p| replays_anywhere && matrix.snapshots.contains(&p.label));
    let mut planned = plan_snapshots(&given, &matrix);
    if pairs.is_empty() && planned.runs.is_empty() && programs.is_empty() && shared.is_empty() {
        return Err(CliError::Usage(
            "--only: the selected configurations cannot run the selected workloads".into(),
        ));
    }
    let out = ReportDir::prepare(&args.out).map_err(CliError::Usage)?;
    for note in &notes {
        eprintln!("gclab: {note}");
    }

    let started = Instant::now();
    let mut snapshots = given;
    let mut exported_any = false;
    if let (Some(exporter), false) = (exporter, programs.is_empty()) {
        let exported = export_examples(&exporter, &programs, &out, args.scale);
        exported_any = !exported.is_empty();
        let more = plan_snapshots(&exported, &matrix);
        planned.runs.extend(more.runs);
        planned.workloads.extend(more.workloads);
        planned.unsupported.extend(more.unsupported);
        snapshots.extend(exported);
    }
    if pairs.is_empty() && planned.runs.is_empty() && shared.is_empty() {
        return Err(CliError::Usage(match planned.unsupported.first() {
            Some(pair) if exported_any => format!(
                "nothing to run: the selected configurations cannot run the selected snapshots \
                 ({} on {}: {})",
                pair.workload, pair.config, pair.reason
            ),
            _ => "nothing to run: the only workloads selected were example snapshots, and none \
                 was exported"
                .into(),
        }));
    }
    let executable = std::env::current_exe().map_err(|error| {
        CliError::Failed(format!("cannot find gclab's own executable: {error}"))
    })?;
    let runner = ChildRunner {
        executable,
        scale: args.scale,
        limit: time_limit(args.scale),
    };

    let plan = interleaved_with(&pairs, &planned.runs, args.reps);
    let shared_plan = shared.interleaved(args.reps);
    let progress = ProgressBar::with_draw_target(
        Some((plan.len() + shared_plan.len()) as u64),
        ProgressDrawTarget::stderr(),
    );
    progress.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:32}] {pos}/{len} runs, eta {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    progress.enable_steady_tick(Duration::from_millis(200));

    let mut records = Vec::with_capacity(plan.len());
    let mut failures = Vec::new();
    for run in &plan {
        progress.set_message(format!(
            "rep {}/{}: {} on {}",
            run.rep + 1,
            args.reps,
            run.label,
            run.backend.name()
        ));
        match runner.run(run) {
            Ok(record) => {
                if !record.errors.is_empty() {
                    progress.println(format!(
                        "error: {} on {} (rep {}): {}",
                        record.workload,
                        record.config,
                        record.rep,
                        record.errors.join("; ")
                    ));
                }
                records.push(record);
            }
            Err(failure) => {
                progress.println(format!(
                    "failed: {} on {} (rep {}): {}",
                    failure.workload, failure.config, failure.rep, failure.message
                ));
                failures.push(failure);
            }
        }
        progress.inc(1);
    }
    let mut shared_records = Vec::with_capacity(shared_plan.len());
    let mut shared_failures = Vec::new();
    for run in &shared_plan {
        progress.set_message(format!(
            "rep {}/{}: {} on {}",
            run.rep + 1,
            args.reps,
            run.workload,
            run.backend
        ));
        match runner.run_shared(run) {
            Ok(record) => shared_records.push(record),
            Err(failure) => {
                progress.println(format!(
                    "failed: {} on {} (rep {}): {}",
                    failure.workload, failure.config, failure.rep, failure.message
                ));
                shared_failures.push(failure);
            }
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();

    show_final_paths(&mut records, &snapshots);
    let mut report = Report::new(&matrix, args.scale, args.reps, records, failures, elapsed)
        .with_shared(&shared, shared_records, shared_failures);
    report.workloads.extend(planned.workloads);
    report.unsupported.extend(planned.unsupported);
    write_report(&out, &report)?;
    let index = out.target().join("index.html");
    out.commit().map_err(|error| {
        CliError::Failed(format!(
            "cannot move the report into {}: {error}",
            args.out.display()
        ))
    })?;

    eprintln!(
        "gclab: {} runs in {elapsed:.0} s; report in {} (open {})",
        report.runs.len() + report.shared_runs.len() + report.failures.len(),
        args.out.display(),
        index.display()
    );
    if !report.all_passed() {
        return Err(CliError::Failed(format!(
            "{} run(s) failed, {} failed the drop check and {} found a wrong count: see the \
             report's Failures section",
            report.failures.len(),
            report.drop_check_failures().len(),
            report.runs_with_errors().len()
        )));
    }
    Ok(())
}

/// A snapshot workload of the report: a checked snapshot file.
struct SnapshotWorkload {
    /// Its name, `snapshot-STEM`.
    label: String,
    /// The file as the runs read it.
    path: String,
    /// The file as the report names it: `path`, except for an exported example, which is read
    /// from the temporary report directory and named where it ends up.
    shown: String,
    /// The `snapshot` workload's parameters (`file=path`).
    params: Params,
    /// The snapshot itself (read once by the check; the runs read the file again).
    snapshot: Arc<Snapshot>,
}

/// Checks a snapshot file, as a `snapshot` workload's `file`. The error names the file and the
/// line at fault.
fn check_snapshot(path: &str, shown: &str, scale: Scale) -> Result<SnapshotWorkload, String> {
    let workload = WorkloadId::Snapshot;
    let param = format!("file={path}");
    let params = Params::resolve(
        workload.name(),
        workload.params(),
        scale,
        std::slice::from_ref(&param),
    )
    .map_err(|error| error.to_string())?;
    workload.check(&params)?;
    let snapshot = snapshot::load(path)?;
    Ok(SnapshotWorkload {
        label: workload.label(&params),
        path: path.to_owned(),
        shown: shown.to_owned(),
        params,
        snapshot,
    })
}

/// Checks each `--snapshot` file: any problem is a usage error.
fn given_snapshots(
    files: &[impl AsRef<Path>],
    scale: Scale,
) -> Result<Vec<SnapshotWorkload>, CliError> {
    let mut given: Vec<SnapshotWorkload> = Vec::new();
    for file in files {
        let file = file.as_ref();
        let Some(path) = file.to_str() else {
            return Err(CliError::Usage(format!(
                "--snapshot {}: the path is not valid UTF-8",
                file.display()
            )));
        };
        let workload = check_snapshot(path, path, scale)
            .map_err(|error| CliError::Usage(format!("--snapshot {error}")))?;
        if given.iter().any(|g| g.label == workload.label) {
            return Err(CliError::Usage(format!(
                "--snapshot {path}: another snapshot is already named {} (the file's stem \
                 names it in the report): rename one",
                workload.label
            )));
        }
        given.push(workload);
    }
    Ok(given)
}

/// Exports the example `programs` into the report's `snapshots/` directory and checks each
/// file; says on stderr what it did. A program that cannot be exported is left out, with one line
/// saying why.
fn export_examples(
    exporter: &Path,
    programs: &[Program],
    out: &ReportDir,
    scale: Scale,
) -> Vec<SnapshotWorkload> {
    let python = match examples::python3() {
        Ok(python) => python,
        Err(why) => {
            eprintln!("gclab: {why}: example snapshot workloads skipped");
            return Vec::new();
        }
    };
    let dir = out.staged(SNAPSHOT_DIR);
    if let Err(error) = std::fs::create_dir_all(&dir) {
        eprintln!(
            "gclab: cannot create {}: {error}: example snapshot workloads skipped",
            dir.display()
        );
        return Vec::new();
    }
    let started = Instant::now();
    let mut exported = Vec::new();
    for program in programs {
        let relative = format!("{SNAPSHOT_DIR}/{}", program.file_name);
        let staged = out.staged(&relative);
        let shown = out.target().join(&relative).display().to_string();
        let checked = examples::export(&python, exporter, &program.path, &staged).and_then(|()| {
            check_snapshot(&staged.display().to_string(), &shown, scale)
                .map_err(|error| format!("the exported snapshot is not valid: {error}"))
        });
        match checked {
            Ok(workload) => exported.push(workload),
            Err(why) => eprintln!(
                "gclab: exporting {} failed: {why}; {} skipped",
                program.path.display(),
                program.label
            ),
        }
    }
    eprintln!(
        "gclab: exported {} example program{} with {} {} in {:.1} s (into {})",
        exported.len(),
        if exported.len() == 1 { "" } else { "s" },
        python.command,
        python.version,
        started.elapsed().as_secs_f64(),
        out.target().join(SNAPSHOT_DIR).display()
    );
    exported
}

/// The snapshot workloads' runs, and what the report says about them.
struct SnapshotRuns {
    runs: Vec<PlannedRun>,
    workloads: Vec<WorkloadInfo>,
    unsupported: Vec<UnsupportedPair>,
}

/// Plans each snapshot's runs on the matrix's backends: those that collect cycles and can hold
/// the snapshot; the others are listed with the reason.
fn plan_snapshots(snapshots: &[SnapshotWorkload], matrix: &Matrix) -> SnapshotRuns {
    let workload = WorkloadId::Snapshot;
    let mut planned = SnapshotRuns {
        runs: Vec::new(),
        workloads: Vec::new(),
        unsupported: Vec::new(),
    };
    for snapshot in snapshots {
        for backend in &matrix.backends {
            let reason = cannot_run(workload, backend)
                .or_else(|| snapshot::cannot_replay(&snapshot.snapshot, backend));
            match reason {
                None => planned.runs.push(PlannedRun {
                    label: snapshot.label.clone(),
                    params: vec![format!("file={}", snapshot.path)],
                    ..PlannedRun::new(workload, BackendChoice::clone(backend), 0)
                }),
                Some(reason) => planned.unsupported.push(UnsupportedPair {
                    workload: snapshot.label.clone(),
                    config: backend.name().to_owned(),
                    reason,
                }),
            }
        }
        planned.workloads.push(WorkloadInfo {
            name: snapshot.label.clone(),
            summary: format!("{} — {}", workload.summary(), snapshot.shown),
            params: snapshot.params.values().clone(),
            needs_tracing: workload.needs_tracing().map(str::to_owned),
            file: Some(snapshot.shown.clone()),
        });
    }
    planned
}

/// Names each exported snapshot in the records where the report puts it, rather than where the
/// runs read it (the temporary directory, gone once the report is committed).
fn show_final_paths(records: &mut [RunRecord], snapshots: &[SnapshotWorkload]) {
    let renamed: BTreeMap<&str, &str> = snapshots
        .iter()
        .filter(|s| s.path != s.shown)
        .map(|s| (s.path.as_str(), s.shown.as_str()))
        .collect();
    for record in records {
        if let Some(file) = record.text_params.get_mut("file") {
            if let Some(shown) = renamed.get(file.as_str()) {
                *file = (*shown).to_owned();
            }
        }
    }
}

/// Writes every file of the report into the (still temporary) directory.
fn write_report(out: &ReportDir, report: &Report) -> Result<(), CliError> {
    let failed = |what: &str, error: &dyn std::fmt::Display| {
        CliError::Failed(format!("cannot write {what}: {error}"))
    };
    let json = serde_json::to_string_pretty(report).map_err(|e| failed("report.json", &e))?;
    out.write("report.json", &json)
        .map_err(|e| failed("report.json", &e))?;
    out.write("report.md", &markdown::render(report))
        .map_err(|e| failed("report.md", &e))?;
    let figures = plots::render_all(report).map_err(|e| failed("the plots", &e))?;
    for plot in &figures {
        out.write(&plot.file, &plot.svg)
            .map_err(|e| failed(&plot.file, &e))?;
    }
    out.write("index.html", &html::render(report, &figures))
        .map_err(|e| failed("index.html", &e))?;
    Ok(())
}
