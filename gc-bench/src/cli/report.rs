//! `gclab report`: the main job — the matrix, run in child processes with a progress bar,
//! written as `report.json`, `report.md` and `index.html` (+ `plots/*.svg`).
//!
//! With `--snapshot FILE` (repeatable), each heap snapshot becomes one more workload,
//! `snapshot-FILE_STEM`, run on every configuration the matrix keeps (after `--only`) that can run
//! it; each file is checked before any run starts (a bad one is a usage error naming its line).

use std::path::Path;
use std::time::{Duration, Instant};

use gc_bench::matrix::{cannot_run, Matrix};
use gc_bench::params::Params;
use gc_bench::report::output_dir::ReportDir;
use gc_bench::report::{html, markdown, plots, Report, UnsupportedPair, WorkloadInfo};
use gc_bench::runner::{interleaved_with, time_limit, ChildRunner, PlannedRun};
use gc_bench::workloads::WorkloadId;
use gc_bench::Scale;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{CliError, ReportArgs};

/// Runs `gclab report`.
pub fn execute(args: ReportArgs) -> Result<(), CliError> {
    if args.reps == 0 {
        return Err(CliError::Usage(
            "--reps 0: at least one repetition is needed".into(),
        ));
    }
    let mut matrix = Matrix::default_matrix();
    if let Some(pattern) = &args.only {
        matrix = matrix.only(pattern).map_err(CliError::Usage)?;
    }
    let pairs = matrix.runnable();
    let snapshots = snapshot_runs(&args.snapshots, &matrix, args.scale)?;
    if pairs.is_empty() && snapshots.runs.is_empty() {
        return Err(CliError::Usage(
            "--only: the selected configurations cannot run the selected workloads".into(),
        ));
    }
    let out = ReportDir::prepare(&args.out).map_err(CliError::Usage)?;
    let executable = std::env::current_exe().map_err(|error| {
        CliError::Failed(format!("cannot find gclab's own executable: {error}"))
    })?;
    let runner = ChildRunner {
        executable,
        scale: args.scale,
        limit: time_limit(args.scale),
    };

    let plan = interleaved_with(&pairs, &snapshots.runs, args.reps);
    let progress =
        ProgressBar::with_draw_target(Some(plan.len() as u64), ProgressDrawTarget::stderr());
    progress.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:32}] {pos}/{len} runs, eta {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    progress.enable_steady_tick(Duration::from_millis(200));

    let started = Instant::now();
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
            Ok(record) => records.push(record),
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
    progress.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();

    let mut report = Report::new(&matrix, args.scale, args.reps, records, failures, elapsed);
    report.workloads.extend(snapshots.workloads);
    report.unsupported.extend(snapshots.unsupported);
    write_report(&out, &report)?;
    let index = out.target().join("index.html");
    out.commit().map_err(|error| {
        CliError::Failed(format!(
            "cannot move the report into {}: {error}",
            args.out.display()
        ))
    })?;

    let bad_drops = report.drop_check_failures().len();
    eprintln!(
        "gclab: {} runs in {elapsed:.0} s; report in {} (open {})",
        report.runs.len() + report.failures.len(),
        args.out.display(),
        index.display()
    );
    if !report.failures.is_empty() || bad_drops > 0 {
        return Err(CliError::Failed(format!(
            "{} run(s) failed and {bad_drops} failed the drop check: see the report's Failures \
             section",
            report.failures.len()
        )));
    }
    Ok(())
}

/// The snapshot workloads of a report: the runs to add to every repetition, and what the report
/// says about them.
struct SnapshotRuns {
    runs: Vec<PlannedRun>,
    workloads: Vec<WorkloadInfo>,
    unsupported: Vec<UnsupportedPair>,
}

/// Checks each `--snapshot` file and plans its runs on the matrix's backends.
fn snapshot_runs(
    files: &[impl AsRef<Path>],
    matrix: &Matrix,
    scale: Scale,
) -> Result<SnapshotRuns, CliError> {
    let workload = WorkloadId::Snapshot;
    let mut planned = SnapshotRuns {
        runs: Vec::new(),
        workloads: Vec::new(),
        unsupported: Vec::new(),
    };
    for file in files {
        let file = file.as_ref();
        let Some(path) = file.to_str() else {
            return Err(CliError::Usage(format!(
                "--snapshot {}: the path is not valid UTF-8",
                file.display()
            )));
        };
        let param = format!("file={path}");
        let params = Params::resolve(
            workload.name(),
            workload.params(),
            scale,
            std::slice::from_ref(&param),
        )
        .map_err(|error| CliError::Usage(format!("--snapshot: {error}")))?;
        workload
            .check(&params)
            .map_err(|error| CliError::Usage(format!("--snapshot {error}")))?;
        let label = workload.label(&params);
        if planned.workloads.iter().any(|w| w.name == label) {
            return Err(CliError::Usage(format!(
                "--snapshot {path}: another snapshot is already named {label} (the file's stem \
                 names it in the report): rename one"
            )));
        }
        for backend in &matrix.backends {
            match cannot_run(workload, backend) {
                None => planned.runs.push(PlannedRun {
                    label: label.clone(),
                    params: vec![param.clone()],
                    ..PlannedRun::new(workload, backend.clone(), 0)
                }),
                Some(reason) => planned.unsupported.push(UnsupportedPair {
                    workload: label.clone(),
                    config: backend.name().to_owned(),
                    reason,
                }),
            }
        }
        planned.workloads.push(WorkloadInfo {
            name: label,
            summary: format!("{} — {path}", workload.summary()),
            params: params.values().clone(),
            needs_tracing: workload.needs_tracing().map(str::to_owned),
        });
    }
    Ok(planned)
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
