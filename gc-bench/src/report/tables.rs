//! The report's tables, laid out once from a [`Report`] and rendered by both
//! [`markdown`](super::markdown) and [`html`](super::html).
//!
//! Rows are configurations (gclab presets first, then peers), columns mostly workloads. A cell a
//! configuration cannot run shows `n/a`, a cell whose runs all failed `failed`.

use super::summary::CellSummary;
use super::Report;

/// One table: a title, a sentence saying how to read it, a header row and rows of text cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// A short identifier (used as the HTML anchor).
    pub id: &'static str,
    /// The heading.
    pub title: String,
    /// How to read it.
    pub intro: String,
    /// Column headings.
    pub header: Vec<String>,
    /// Rows of cells, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

/// Every table of the report, in reading order. Tables about a workload that did not run are
/// left out.
pub fn all(report: &Report) -> Vec<Table> {
    let mut tables = vec![configurations(report), wall_time(report)];
    if report.summaries.iter().any(|c| c.cpu.is_some()) {
        tables.push(cpu_time(report));
    }
    let ran = |w: &str| report.summaries.iter().any(|c| c.workload == w);
    if ran("steady-burst") {
        tables.push(steady_burst_pauses(report));
    }
    tables.push(longest_pause(report));
    tables.push(collector_work(report));
    if ran("rings") {
        tables.push(rings_collect(report));
    }
    if report.snapshot_workloads().iter().any(|w| ran(&w.name)) {
        tables.push(snapshot_collect(report));
    }
    if ran("big-drop") {
        tables.push(big_drop_memory(report));
    }
    tables.push(peak_rss(report));
    tables.push(drop_check(report));
    if !report.shared_summaries.is_empty() {
        tables.push(super::shared::table(report));
    }
    tables
}

/// What each configuration is.
pub fn configurations(report: &Report) -> Table {
    Table {
        id: "configurations",
        title: "Configurations".into(),
        intro: "gclab presets (read from gc_refcount::PRESETS at run time) and peer crates \
                (versions from this build's Cargo.lock)."
            .into(),
        header: vec!["name".into(), "kind".into(), "what it is".into()],
        rows: report
            .configs
            .iter()
            .map(|c| {
                let mut description = c.description.clone();
                if !c.aliases.is_empty() {
                    description.push_str(&format!(" (also: {})", c.aliases.join(", ")));
                }
                vec![c.name.clone(), c.kind.clone(), description]
            })
            .collect(),
    }
}

/// Median wall time per workload, spread and ratio to the baseline.
pub fn wall_time(report: &Report) -> Table {
    per_workload(
        report,
        "wall-time",
        "Wall time (ms)",
        &format!(
            "Median over {} repetitions, ± half the range in percent, and the ratio to `{}` \
             (plain reference counting, which leaks cycles) on the same workload. Lower is \
             better.",
            report.reps, report.baseline
        ),
        |cell| {
            let mut text = format!(
                "{} ±{:.0}%",
                sig(cell.wall_ms.median),
                cell.wall_ms.relative_half_range()
            );
            if let Some(ratio) = cell.relative_to_baseline {
                text.push_str(&format!(" ({ratio:.2}×)"));
            }
            text
        },
    )
}

/// Median CPU time per workload, and the cores it kept busy.
pub fn cpu_time(report: &Report) -> Table {
    per_workload(
        report,
        "cpu-time",
        "CPU time (ms)",
        &format!(
            "The CPU time of the run's process over the workload: user and system time of every \
             thread (a parallel marker's workers count, as does the waiting they do), median \
             over {} repetitions, and in parentheses the cores the run kept busy (CPU time over \
             wall time, median). One thread alone keeps at most one core busy; less where it \
             waited (for the kernel, for memory to be paged in). For a detector that may split \
             its marking over several threads (`mark-sweep:N`, N > 1), the cell also says in \
             what share of the collections it did (median): it marks a set by one walk when \
             the set is small or its edges mostly lead near their source, and then its workers \
             idle. `—`: not measured (no `getrusage` on this system).",
            report.reps
        ),
        |cell| {
            let mut text = match cell.cpu {
                Some(cpu) => format!("{} ({:.2} cores)", sig(cpu.total_ms.median), cpu.cores),
                None => "—".to_owned(),
            };
            if let Some(split) = cell.split_markings {
                text.push_str(&format!(", marking split in {:.0}%", split * 100.0));
            }
            text
        },
    )
}

/// The pauses of `steady-burst`, where they matter.
pub fn steady_burst_pauses(report: &Report) -> Table {
    let header = [
        "configuration",
        "pauses from",
        "collections",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "total ms",
        "tick p99 ms",
        "tick max ms",
    ];
    let rows = report
        .configs
        .iter()
        .filter_map(|c| report.cell("steady-burst", &c.name))
        .map(|cell| {
            let tick = |name: &str| {
                cell.figures
                    .get(name)
                    .map_or("—".to_owned(), |us| sig(us / 1e3))
            };
            vec![
                cell.config.clone(),
                cell.pauses.source.clone(),
                count(cell.collections),
                sig(cell.pauses.p50_us / 1e3),
                sig(cell.pauses.p90_us / 1e3),
                sig(cell.pauses.p99_us / 1e3),
                sig(cell.pauses.max_us / 1e3),
                sig(cell.pauses.total_ms),
                tick("tick_p99_us"),
                tick("tick_max_us"),
            ]
        })
        .collect();
    Table {
        id: "steady-burst-pauses",
        title: "Pauses in steady-burst (a service with bursts of cyclic garbage)".into(),
        intro: format!(
            "Collection pauses (medians over repetitions); the column `pauses from` says what \
             each row's pauses cover. {} The tick latencies — every tick timed, automatic \
             collections included — are the figures to compare across all of them.",
            pause_coverage(report)
        ),
        header: header.map(str::to_owned).to_vec(),
        rows,
    }
}

/// The longest pause per workload.
pub fn longest_pause(report: &Report) -> Table {
    per_workload(
        report,
        "longest-pause",
        "Longest pause (ms)",
        &format!(
            "Median over repetitions of each run's longest collection pause, and the number of \
             pauses. {}",
            pause_coverage(report)
        ),
        |cell| {
            if cell.pauses.count == 0.0 {
                "none".to_owned()
            } else {
                format!(
                    "{} ({} pauses)",
                    sig(cell.pauses.max_us / 1e3),
                    count(cell.pauses.count)
                )
            }
        },
    )
}

/// The configurations of the report whose pauses come from `source` (see
/// [`PauseSummary::source`](crate::record::PauseSummary)), in report order.
pub fn configs_with_pause_source<'a>(report: &'a Report, source: &str) -> Vec<&'a str> {
    report
        .configs
        .iter()
        .filter(|config| {
            report
                .summaries
                .iter()
                .any(|cell| cell.config == config.name && cell.pauses.source == source)
        })
        .map(|config| config.name.as_str())
        .collect()
}

/// What the pause figures cover, backend by backend: which configurations time every collection,
/// and which only the explicit collect calls the workload makes (the peer crates, whose automatic
/// collections run inside the crate where they cannot be timed from outside).
pub fn pause_coverage(report: &Report) -> String {
    let list = |names: &[&str]| {
        names
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let every = configs_with_pause_source(report, "collector");
    let explicit = configs_with_pause_source(report, "explicit");
    let none = configs_with_pause_source(report, "none");
    let mut text = String::new();
    let gclab: Vec<&str> = report
        .configs
        .iter()
        .filter(|config| config.kind == "gclab")
        .map(|config| config.name.as_str())
        .collect();
    if !every.is_empty() {
        // A long list of presets says less than its name.
        let whom = if every == gclab && every.len() > 3 {
            "every gclab configuration".to_owned()
        } else {
            list(&every)
        };
        text.push_str(&format!(
            "Every collection, automatic ones included, is timed for {whom} (`collector`)."
        ));
    }
    if !explicit.is_empty() {
        text.push_str(&format!(
            " Only the explicit collect calls are timed for {} (`explicit`): a collection such a \
             crate starts by itself is not in these figures (the Configurations table says which \
             of them collect automatically).",
            list(&explicit)
        ));
    }
    if !none.is_empty() {
        text.push_str(&format!(
            " {} {} no collector, so no pauses (`none`).",
            list(&none),
            if none.len() == 1 { "has" } else { "have" }
        ));
    }
    text.trim_start().to_owned()
}

/// Objects examined by collections, per workload.
pub fn collector_work(report: &Report) -> Table {
    per_workload(
        report,
        "collector-work",
        "Collector work: objects examined (thousands)",
        "Objects the detector examined over all collections of a run (median), and the \
         collections. Only gclab counts them; peers show their collection count alone.",
        |cell| match cell.examined {
            Some(examined) => format!(
                "{} ({} coll.)",
                sig(examined / 1e3),
                count(cell.collections)
            ),
            None => format!("— ({} coll.)", count(cell.collections)),
        },
    )
}

/// The collect call of `rings`.
pub fn rings_collect(report: &Report) -> Table {
    let objects = report
        .workloads
        .iter()
        .find(|w| w.name == "rings")
        .map(|w| {
            w.params.get("rings").copied().unwrap_or(0.0)
                * w.params.get("ring_size").copied().unwrap_or(0.0)
        })
        .unwrap_or(0.0);
    let rows = report
        .configs
        .iter()
        .filter_map(|c| report.cell("rings", &c.name))
        .map(|cell| {
            let figure = |name: &str| cell.figures.get(name).map_or("—".to_owned(), |v| sig(*v));
            vec![
                cell.config.clone(),
                figure("collect_ms"),
                figure("collect_ns_per_object"),
                sig(cell.wall_ms.median),
                count(cell.collections),
            ]
        })
        .collect();
    Table {
        id: "rings-collect",
        title: format!("rings: the collect call ({} ring objects)", count(objects)),
        intro: "The explicit full collection after every ring was dropped (median), automatic \
                collections paused while the rings were built, so the call finds all the \
                garbage; wall time is build + drop + collect."
            .into(),
        header: [
            "configuration",
            "collect ms",
            "ns per object",
            "wall ms",
            "collections",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
    }
}

/// The replayed CPython heaps: each configuration's collection against CPython's own, and
/// whether it found CPython's unreachable count.
pub fn snapshot_collect(report: &Report) -> Table {
    let snapshots = report.snapshot_workloads();
    let mut header = vec!["configuration".to_owned()];
    header.extend(snapshots.iter().map(|w| w.name.clone()));
    // The file's own figures, the same in every cell of a snapshot: take them from any.
    let file_figure = |workload: &str, name: &str| {
        report
            .summaries
            .iter()
            .find(|cell| cell.workload == workload)
            .and_then(|cell| cell.figures.get(name).copied())
    };
    let mut objects = vec!["objects (edges)".to_owned()];
    let mut cpython = vec!["CPython gc.collect()".to_owned()];
    for workload in &snapshots {
        let figure = |name| file_figure(&workload.name, name);
        objects.push(match (figure("objects"), figure("edges")) {
            (Some(objects), Some(edges)) => format!("{} ({})", count(objects), count(edges)),
            _ => "—".to_owned(),
        });
        cpython.push(
            match (figure("cpython_collect_ms"), figure("cpython_unreachable")) {
                (Some(ms), Some(unreachable)) => {
                    format!("{} ms, {} unreachable", sig(ms), count(unreachable))
                }
                _ => "—".to_owned(),
            },
        );
    }
    let mut rows = vec![objects, cpython];
    for config in &report.configs {
        let mut row = vec![config.name.clone()];
        for workload in &snapshots {
            row.push(match report.cell(&workload.name, &config.name) {
                Some(cell) => snapshot_cell(report, cell),
                None if report
                    .unsupported
                    .iter()
                    .any(|u| u.workload == workload.name && u.config == config.name) =>
                {
                    "n/a".to_owned()
                }
                None => "failed".to_owned(),
            });
        }
        rows.push(row);
    }
    Table {
        id: "snapshot-collect",
        title: "Replayed CPython heaps: the collection against CPython's".into(),
        intro: "Each snapshot's heap rebuilt, released as the Python program left it, and \
                collected once (median over repetitions); the ratio is that time over CPython's \
                own gc.collect() on the same heap, timed once when it was exported (below 1: \
                faster). Then the unreachable objects found: `ok` when every repetition found \
                exactly CPython's count; anything else is an error of the run (see Failures). \
                Peer crates and gclab replay the same graph through the runner's node type, \
                whose nodes have a few edge slots: objects with more references get helper \
                nodes, which are not counted as unreachable objects. `n/a`: the configuration \
                cannot run the snapshot (see Not run)."
            .into(),
        header,
        rows,
    }
}

/// One cell of [`snapshot_collect`]: collect time, ratio to CPython, unreachable found.
fn snapshot_cell(report: &Report, cell: &CellSummary) -> String {
    let figure = |name: &str| cell.figures.get(name).copied();
    let mut text = figure("collect_ms").map_or("—".to_owned(), |ms| format!("{} ms", sig(ms)));
    if let Some(ratio) = figure("ratio_to_cpython") {
        text.push_str(&format!(" ({ratio:.2}×)"));
    }
    let runs: Vec<_> = report
        .runs
        .iter()
        .filter(|r| r.workload == cell.workload && r.config == cell.config)
        .collect();
    let Some(expected) = figure("cpython_unreachable") else {
        text.push_str(", count unknown");
        return text;
    };
    let wrong: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.figures.get("unreachable_found").copied())
        .filter(|found| *found != expected)
        .collect();
    if let Some(found) = wrong.first() {
        text.push_str(&format!(
            ", MISMATCH: {} found (CPython {}) in {} of {} repetitions",
            count(*found),
            count(expected),
            wrong.len(),
            runs.len()
        ));
    } else if runs.iter().any(|r| !r.errors.is_empty()) {
        text.push_str(", ERROR (see Failures)");
    } else {
        text.push_str(&format!(", {} ok", count(expected)));
    }
    text
}

/// Resident memory at each step of `big-drop`.
pub fn big_drop_memory(report: &Report) -> Table {
    let labels: Vec<String> = report
        .summaries
        .iter()
        .find(|c| c.workload == "big-drop")
        .map(|c| c.rss_steps_kib.iter().map(|(l, _)| l.clone()).collect())
        .unwrap_or_default();
    let mut header = vec!["configuration".to_owned()];
    header.extend(labels.iter().cloned());
    header.push("collect ms".into());
    let rows = report
        .configs
        .iter()
        .filter_map(|c| report.cell("big-drop", &c.name))
        .map(|cell| {
            let mut row = vec![cell.config.clone()];
            for label in &labels {
                let kib = cell
                    .rss_steps_kib
                    .iter()
                    .find(|(l, _)| l == label)
                    .map(|(_, kib)| *kib);
                row.push(kib.map_or("—".to_owned(), mib));
            }
            row.push(
                cell.figures
                    .get("collect_ms")
                    .map_or("—".to_owned(), |v| sig(*v)),
            );
            row
        })
        .collect();
    Table {
        id: "big-drop-memory",
        title: "big-drop: resident memory at each step (MiB)".into(),
        intro: "The process's RSS (median over repetitions) when the objects are built, after \
                the drop (one pair in keep_every kept), after a collection, and after the kept \
                ones are released. A fall from `built` is memory the allocator returned to the \
                OS."
        .into(),
        header,
        rows,
    }
}

/// Peak resident memory per workload.
pub fn peak_rss(report: &Report) -> Table {
    per_workload(
        report,
        "peak-rss",
        "Peak resident memory (MiB)",
        "The child process's high-water mark (VmHWM), median over repetitions: each run has a \
         process of its own.",
        |cell| mib(cell.rss_peak_kib),
    )
}

/// The drop check and what was left unreclaimed.
pub fn drop_check(report: &Report) -> Table {
    per_workload(
        report,
        "drop-check",
        "Drop check: every object dropped exactly once",
        "`ok`: every node dropped exactly once, in every repetition. `leaked N (by design)`: the \
         policy does not collect cycles, N nodes were never dropped, none twice. `FAIL`: a \
         double drop, or nodes left where the policy frees everything.",
        |cell| match (cell.drop_check_passed, cell.unreclaimed_nodes) {
            (true, 0) => "ok".to_owned(),
            (true, left) if cell.leaks_by_design => format!("leaked {left} (by design)"),
            (true, left) => format!("ok, {left} left"),
            (false, left) => format!("FAIL ({left} left)"),
        },
    )
}

/// A configurations × workloads table with one formatted cell per pair.
fn per_workload(
    report: &Report,
    id: &'static str,
    title: &str,
    intro: &str,
    format: impl Fn(&CellSummary) -> String,
) -> Table {
    let mut header = vec!["configuration".to_owned()];
    header.extend(report.workloads.iter().map(|w| w.name.clone()));
    let rows = report
        .configs
        .iter()
        .map(|config| {
            let mut row = vec![config.name.clone()];
            for workload in &report.workloads {
                row.push(match report.cell(&workload.name, &config.name) {
                    Some(cell) => format(cell),
                    None if report
                        .unsupported
                        .iter()
                        .any(|u| u.workload == workload.name && u.config == config.name) =>
                    {
                        "n/a".to_owned()
                    }
                    None => "failed".to_owned(),
                });
            }
            row
        })
        .collect();
    Table {
        id,
        title: title.to_owned(),
        intro: intro.to_owned(),
        header,
        rows,
    }
}

/// A number with three significant digits (no exponent; thousands written in full).
pub fn sig(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude == 0.0 {
        "0".to_owned()
    } else if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else if magnitude >= 0.01 {
        format!("{value:.3}")
    } else {
        format!("{value:.2e}")
    }
}

/// A count (a median, so perhaps a half): whole numbers without decimals.
pub fn count(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// KiB as MiB with one decimal.
pub fn mib(kib: f64) -> String {
    format!("{:.1}", kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::sig;

    #[test]
    fn three_significant_digits() {
        assert_eq!(sig(0.0), "0");
        assert_eq!(sig(1234.5), "1234");
        assert_eq!(sig(12.345), "12.3");
        assert_eq!(sig(1.2345), "1.23");
        assert_eq!(sig(0.12345), "0.123");
        assert_eq!(sig(0.001234), "1.23e-3");
    }
}
