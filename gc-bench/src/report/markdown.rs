//! `report.md`: the report as Markdown — the tables of [`tables`], the pairs that
//! did not run and the failures.

use std::fmt::Write;

use super::tables::{self, Table};
use super::Report;

/// Renders the whole report as Markdown.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# gclab comparison report\n");
    let _ = writeln!(out, "{}\n", headline(report));
    for table in tables::all(report) {
        render_table(&mut out, &table);
    }
    if !report.unsupported.is_empty() {
        let _ = writeln!(out, "## Not run\n");
        for pair in &report.unsupported {
            let _ = writeln!(
                out,
                "- `{}` on `{}`: {}",
                pair.workload, pair.config, pair.reason
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Failures\n");
    if report.all_passed() {
        let _ = writeln!(
            out,
            "None: every run produced a record and passed the drop check.\n"
        );
    } else {
        for failure in &report.failures {
            let _ = writeln!(
                out,
                "- `{}` on `{}`, repetition {}: {}",
                failure.workload,
                failure.config,
                failure.rep,
                escape(&failure.message)
            );
        }
        for run in report.drop_check_failures() {
            let check = &run.drop_check;
            let _ = writeln!(
                out,
                "- `{}` on `{}`, repetition {}: drop check failed ({} created, {} dropped, {} \
                 dropped twice)",
                run.workload, run.config, run.rep, check.created, check.dropped, check.double_drops
            );
        }
        for run in report.runs_with_errors() {
            let _ = writeln!(
                out,
                "- `{}` on `{}`, repetition {}: {}",
                run.workload,
                run.config,
                run.rep,
                escape(&run.errors.join("; "))
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Workload parameters\n");
    for workload in report.workloads.iter().chain(&report.shared_workloads) {
        let params: Vec<String> = workload
            .params
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let _ = writeln!(
            out,
            "- `{}` — {} ({})",
            workload.name,
            workload.summary,
            params.join(", ")
        );
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "The plots (time per configuration, pause distributions, tracked objects over time, RSS \
         steps) are in `index.html` beside this file; every run's record is in `report.json`."
    );
    out
}

/// The sentence under the title: scale, repetitions, machine, duration.
pub fn headline(report: &Report) -> String {
    format!(
        "Scale `{}`, {} repetition(s) per cell, interleaved, each run in a fresh process; {} runs, \
         {} failed; {} cores ({}/{}); {:.0} s in all. gc-bench {}.",
        report.scale,
        report.reps,
        report.runs.len() + report.shared_runs.len() + report.failures.len(),
        report.failures.len(),
        report.machine.cores,
        report.machine.os,
        report.machine.arch,
        report.elapsed_s,
        report.gclab_version
    )
}

fn render_table(out: &mut String, table: &Table) {
    let _ = writeln!(out, "## {}\n", table.title);
    let _ = writeln!(out, "{}\n", table.intro);
    let _ = writeln!(
        out,
        "| {} |",
        table
            .header
            .iter()
            .map(|h| escape(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|{}|", vec!["---"; table.header.len()].join("|"));
    for row in &table.rows {
        let _ = writeln!(
            out,
            "| {} |",
            row.iter()
                .map(|c| escape(c))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    out.push('\n');
}

/// Escapes the characters that would break a Markdown table cell.
fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
