//! The table "Thread-shared heaps": the shared runs ([`crate::shared`]) of a report, one row per
//! (workload, backend), throughput and CPU time relative to `arc` measured in the same report, and
//! gclab's stop-the-world figures.

use super::summary::{CellSummary, Spread};
use super::tables::{count, sig, Table};
use super::Report;
use crate::shared::choice::SHARED_BASELINE;

/// The thread-shared table.
pub fn table(report: &Report) -> Table {
    let mut rows = Vec::new();
    for workload in &report.shared_workloads {
        let baseline = Baseline {
            ns_per_node: ns_per_node(report, &workload.name, SHARED_BASELINE).median,
            cpu_ms: report
                .shared_summaries
                .iter()
                .find(|c| c.workload == workload.name && c.config == SHARED_BASELINE)
                .and_then(|c| c.cpu)
                .map_or(0.0, |cpu| cpu.total_ms.median),
        };
        for config in &report.shared_configs {
            let mut row = vec![workload.name.clone(), config.name.clone()];
            match report
                .shared_summaries
                .iter()
                .find(|c| c.workload == workload.name && c.config == config.name)
            {
                Some(cell) => row.extend(cells(report, cell, &baseline)),
                None => row.extend(
                    std::iter::once("failed".to_owned())
                        .chain(std::iter::repeat_n("—".to_owned(), 7)),
                ),
            }
            rows.push(row);
        }
    }
    let params: Vec<String> = report
        .shared_workloads
        .iter()
        .map(|w| {
            let values: Vec<String> = w.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("`{}` ({})", w.name, values.join(", "))
        })
        .collect();
    Table {
        id: "thread-shared",
        title: "Thread-shared heaps".into(),
        intro: format!(
            "Workloads whose objects several threads share, on gclab's `sync` heap (biased and \
             atomic reference counts, stop-the-world cycle collector), `std::sync::Arc` (cycles \
             broken by hand: the baseline) and `dumpster::sync`. `ns per node`: the threads' \
             working phase over the nodes they allocated together — median over {} repetitions, \
             ± half the range in percent, and the ratio to `{SHARED_BASELINE}` in this report \
             (lower is better). `CPU ms`: the CPU time of the run's process over the whole \
             workload (its setup included; user and system time of every thread, those parked \
             in a spin among them) — median, the ratio to `{SHARED_BASELINE}`'s, the cores the \
             run kept busy (CPU time over wall time) and the share spent in the kernel; `—` \
             where not measured. `collections`: every collection of the run (those the \
             coordinator of shared-churn asked for, with every mutator running, in \
             parentheses). `stop`: the time from a collection's request until every other \
             thread stopped — p50 / max over every collection, then over the coordinator's only \
             (the time to stop all mutators), medians over repetitions; gclab only. `pause`: \
             request to restart, p50 / max; for `dumpster-sync` only its explicit collect calls \
             are timed. `owner frees`: the fraction of nodes that died on the thread that made \
             them (biased counting frees on the owner, after its merge). `drop check`: every \
             node dropped exactly once after a final collection; `dumpster::sync` documents \
             that a collection may miss some unreachable objects, so what it leaves is counted \
             (the most in any repetition), not failed. Parameters: {}.",
            report.reps,
            params.join("; ")
        ),
        header: [
            "workload",
            "configuration",
            "ns per node",
            "CPU ms",
            "collections",
            "stop p50 / max µs",
            "stop, all mutators, p50 / max µs",
            "pause p50 / max µs",
            "owner frees",
            "drop check",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
    }
}

/// The baseline's medians in one workload, against which the other rows' ratios are given (0
/// where the baseline did not run).
struct Baseline {
    ns_per_node: f64,
    cpu_ms: f64,
}

/// The cells after the names: throughput, CPU time, collections, stops, pauses, owner frees, drop
/// check.
fn cells(report: &Report, cell: &CellSummary, baseline: &Baseline) -> Vec<String> {
    let figure = |name: &str| cell.figures.get(name).copied();
    let pair = |p50: Option<f64>, max: Option<f64>| match (p50, max) {
        (Some(p50), Some(max)) => format!("{} / {}", sig(p50), sig(max)),
        _ => "—".to_owned(),
    };
    let ns = ns_per_node(report, &cell.workload, &cell.config);
    let mut throughput = format!("{} ±{:.0}%", sig(ns.median), ns.relative_half_range());
    if baseline.ns_per_node > 0.0 {
        throughput.push_str(&format!(" ({:.2}×)", ns.median / baseline.ns_per_node));
    }
    let cpu = match cell.cpu {
        Some(cpu) => {
            let mut text = sig(cpu.total_ms.median);
            if baseline.cpu_ms > 0.0 {
                text.push_str(&format!(" ({:.2}×)", cpu.total_ms.median / baseline.cpu_ms));
            }
            text.push_str(&format!(
                ", {:.2} cores, {:.0}% system",
                cpu.cores,
                cpu.system_share * 100.0
            ));
            text
        }
        None => "—".to_owned(),
    };
    let collections = match (cell.pauses.source.as_str(), figure("explicit_collections")) {
        ("none", _) => "—".to_owned(),
        (_, Some(explicit)) if explicit > 0.0 => {
            format!("{} ({})", count(cell.collections), count(explicit))
        }
        _ => count(cell.collections),
    };
    let pauses = if cell.pauses.count > 0.0 {
        pair(Some(cell.pauses.p50_us), Some(cell.pauses.max_us))
    } else {
        "—".to_owned()
    };
    vec![
        throughput,
        cpu,
        collections,
        pair(figure("stop_p50_us"), figure("stop_max_us")),
        pair(
            figure("explicit_stop_p50_us"),
            figure("explicit_stop_max_us"),
        ),
        pauses,
        figure("dropped_by_creator").map_or("—".to_owned(), |f| format!("{:.0}%", f * 100.0)),
        match (cell.drop_check_passed, cell.unreclaimed_nodes) {
            (true, 0) => "ok".to_owned(),
            (true, left) => format!("ok, up to {left} left (documented)"),
            (false, left) => format!("FAIL ({left} left)"),
        },
    ]
}

/// The spread of `ns_per_node` over the repetitions of one shared cell.
fn ns_per_node(report: &Report, workload: &str, config: &str) -> Spread {
    let values: Vec<f64> = report
        .shared_runs
        .iter()
        .filter(|r| r.workload == workload && r.config == config)
        .filter_map(|r| r.figures.get("ns_per_node").copied())
        .collect();
    Spread::of(&values)
}
