//! `gclab report`: the main job — the matrix, run in child processes with a progress bar,
//! written as `report.json`, `report.md` and `index.html` (+ `plots/*.svg`).

use std::time::{Duration, Instant};

use gc_bench::matrix::Matrix;
use gc_bench::report::output_dir::ReportDir;
use gc_bench::report::{html, markdown, plots, Report};
use gc_bench::runner::{interleaved, time_limit, ChildRunner};
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
    if pairs.is_empty() {
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

    let plan = interleaved(&pairs, args.reps);
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
            run.workload,
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

    let report = Report::new(&matrix, args.scale, args.reps, records, failures, elapsed);
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
