//! The CPU time of runs: a cell's summary (median total, cores kept busy, system share) and the
//! tables that show it.

use gc_bench::record::CpuMs;
use gc_bench::report::markdown;
use gc_bench::report::summary::CellSummary;
use gc_bench::workloads::WorkloadId;

use super::support::{report_section, tiny_report, tiny_run};

#[test]
fn a_cell_gives_the_median_cpu_time_cores_and_system_share_of_the_runs_that_measured_it() {
    let base = tiny_run(WorkloadId::Trees, "rc", 0);
    let with = |wall_ms: f64, cpu_ms: Option<CpuMs>| {
        let mut record = base.clone();
        record.wall_ms = wall_ms;
        record.cpu_ms = cpu_ms;
        record
    };
    // Two cores busy, a quarter in the kernel; one core, a tenth; and a run without a reading.
    let two = with(
        100.0,
        Some(CpuMs {
            user: 150.0,
            system: 50.0,
        }),
    );
    let one = with(
        100.0,
        Some(CpuMs {
            user: 90.0,
            system: 10.0,
        }),
    );
    let unmeasured = with(400.0, None);
    let cpu = CellSummary::of(&[&two, &one, &unmeasured])
        .cpu
        .expect("two runs measured their CPU time");
    assert_eq!(cpu.total_ms.median, 150.0);
    assert_eq!((cpu.total_ms.min, cpu.total_ms.max), (100.0, 200.0));
    assert!((cpu.cores - 1.5).abs() < 1e-9, "{cpu:?}");
    assert!((cpu.system_share - 0.175).abs() < 1e-9, "{cpu:?}");
    assert_eq!(CellSummary::of(&[&unmeasured]).cpu, None);
}

#[test]
#[cfg(unix)]
fn the_report_has_a_cpu_time_table() {
    let report = tiny_report();
    let text = markdown::render(&report);
    let table = report_section(&text, "CPU time (ms)");
    let rc = table
        .lines()
        .find(|l| l.starts_with("| rc |"))
        .expect("a row for rc");
    assert!(rc.contains(" cores) |"), "{rc}");
}

/// A configuration whose detector may split its marking (`mark-sweep-par`: `mark-sweep:2` on
/// this matrix) counts the collections that did, and the CPU-time table says in what share;
/// one that cannot split (`cpython312`: trial deletion) counts nothing and says nothing.
#[test]
#[cfg(unix)]
fn the_cpu_time_table_says_how_often_a_parallel_detector_split_its_marking() {
    let par = tiny_run(WorkloadId::Rings, "mark-sweep-par", 0);
    let counted = par
        .split_markings
        .expect("mark-sweep-par counts its split markings");
    assert!(
        counted <= par.collections.iter().sum::<u64>(),
        "{counted} split markings in {:?} collections",
        par.collections
    );
    let sequential = tiny_run(WorkloadId::Rings, "cpython312", 0);
    assert_eq!(sequential.split_markings, None);

    let report = tiny_report();
    let text = markdown::render(&report);
    let table = report_section(&text, "CPU time (ms)");
    let row = |config: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("| {config} |")))
            .unwrap_or_else(|| panic!("a row for {config}:\n{table}"))
    };
    assert!(
        row("mark-sweep-par").contains("marking split in"),
        "{table}"
    );
    assert!(!row("cpython312").contains("split"), "{table}");
}
