//! `gclab run`: one run in this process, printed as a summary or as its JSON record.

use gc_bench::backends::BackendChoice;
use gc_bench::matrix::cannot_run;
use gc_bench::measure::{self, RunSpec};
use gc_bench::params::Params;
use gc_bench::record::RunRecord;
use gc_bench::shared::measure::{self as shared_measure, SharedRunSpec};
use gc_bench::shared::{SharedBackendChoice, SharedWorkloadId};
use gc_bench::workloads::{snapshot, WorkloadId};
use gc_bench::Scale;
use std::fmt::Write;

use super::{CliError, RunArgs};

/// Checks the names and parameters of a run: any problem is a usage error naming the choices.
pub fn resolve(
    workload: &str,
    config: &str,
    scale: Scale,
    overrides: &[String],
    rep: u32,
) -> Result<RunSpec, CliError> {
    let workload_id = WorkloadId::from_name(workload).ok_or_else(|| {
        CliError::Usage(format!(
            "unknown workload {workload:?}: valid workloads are {}, and the thread-shared {}",
            WorkloadId::names(),
            SharedWorkloadId::names()
        ))
    })?;
    let backend =
        BackendChoice::parse(config).map_err(|error| CliError::Usage(error.to_string()))?;
    if let Some(reason) = cannot_run(workload_id, &backend) {
        return Err(CliError::Usage(reason));
    }
    let params = Params::resolve(workload, workload_id.params(), scale, overrides)
        .map_err(|error| CliError::Usage(error.to_string()))?;
    workload_id.check(&params).map_err(CliError::Usage)?;
    if workload_id == WorkloadId::Snapshot {
        let file = params.text("file");
        let snapshot = snapshot::load(file).map_err(CliError::Usage)?;
        if let Some(reason) = snapshot::cannot_replay(&snapshot, &backend) {
            return Err(CliError::Usage(format!("{file}: {reason}")));
        }
    }
    Ok(RunSpec {
        workload: workload_id,
        backend,
        scale,
        params,
        rep,
    })
}

/// Checks the names and parameters of a thread-shared run (`None`: `workload` is not one).
pub fn resolve_shared(
    workload: &str,
    config: &str,
    scale: Scale,
    overrides: &[String],
    rep: u32,
) -> Option<Result<SharedRunSpec, CliError>> {
    let workload = SharedWorkloadId::from_name(workload)?;
    Some(shared_spec(workload, config, scale, overrides, rep))
}

/// The spec of a thread-shared run, or a usage error naming the choices.
fn shared_spec(
    workload: SharedWorkloadId,
    config: &str,
    scale: Scale,
    overrides: &[String],
    rep: u32,
) -> Result<SharedRunSpec, CliError> {
    let backend = SharedBackendChoice::parse(config).map_err(|error| {
        CliError::Usage(format!("{workload} is a thread-shared workload: {error}"))
    })?;
    let params = Params::resolve(workload.name(), workload.params(), scale, overrides)
        .map_err(|error| CliError::Usage(error.to_string()))?;
    Ok(SharedRunSpec {
        workload,
        backend,
        scale,
        params,
        rep,
    })
}

/// Measures one run, single-threaded or thread-shared, in this process.
pub fn measure_named(
    workload: &str,
    config: &str,
    scale: Scale,
    overrides: &[String],
    rep: u32,
) -> Result<Result<RunRecord, String>, CliError> {
    match resolve_shared(workload, config, scale, overrides, rep) {
        Some(spec) => Ok(shared_measure::run(&spec?)),
        None => Ok(measure::run(&resolve(
            workload, config, scale, overrides, rep,
        )?)),
    }
}

/// Runs `gclab run`.
pub fn execute(args: RunArgs) -> Result<(), CliError> {
    let record = measure_named(&args.workload, &args.config, args.scale, &args.params, 0)?
        .map_err(|error| {
            CliError::Failed(format!("{} on {}: {error}", args.workload, args.config))
        })?;
    if args.json {
        let json = serde_json::to_string(&record)
            .map_err(|error| CliError::Failed(format!("cannot encode the record: {error}")))?;
        super::emit(&format!("{json}\n"));
    } else {
        super::emit(&summary(&record));
    }
    if !record.errors.is_empty() {
        Err(CliError::Failed(record.errors.join("; ")))
    } else if record.drop_check.passed {
        Ok(())
    } else {
        Err(CliError::Failed("the drop check failed".into()))
    }
}

/// A human summary of one record.
fn summary(record: &RunRecord) -> String {
    let mut out = String::new();
    let params: Vec<String> = record
        .params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let _ = writeln!(
        out,
        "{} on {} ({})",
        record.workload, record.config, record.config_full
    );
    let _ = writeln!(out, "  parameters      {}", params.join(" "));
    let _ = writeln!(out, "  wall time       {:.1} ms", record.wall_ms);
    if let Some(cpu) = record.cpu_ms {
        let _ = writeln!(
            out,
            "  CPU time        {:.1} ms (user {:.1}, system {:.1}; every thread)",
            cpu.total(),
            cpu.user,
            cpu.system
        );
    }
    let _ = writeln!(
        out,
        "  objects         {} allocated, {} freed",
        record.objects_allocated, record.objects_freed
    );
    let _ = writeln!(
        out,
        "  collections     {:?} (per generation)",
        record.collections
    );
    let p = &record.pauses;
    let _ = writeln!(
        out,
        "  pauses ({})  {} pauses, p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, max {:.1} µs, total {:.1} ms",
        p.source, p.count, p.p50_us, p.p90_us, p.p99_us, p.max_us, p.total_ms
    );
    if let (Some(examined), Some(collected)) = (record.examined, record.collected) {
        let _ = writeln!(out, "  examined        {examined}, collected {collected}");
    }
    // Shared runs do not follow the live count (0).
    if record.peak_live_nodes > 0 {
        let _ = writeln!(
            out,
            "  peak            {} live nodes{}{}",
            record.peak_live_nodes,
            record
                .peak_tracked
                .map_or(String::new(), |t| format!(", {t} tracked")),
            record
                .peak_live_bytes
                .map_or(String::new(), |b| format!(", {b} live bytes")),
        );
    }
    let _ = writeln!(
        out,
        "  RSS             start {} KiB, peak {} KiB, end {} KiB",
        record.rss_kib.start, record.rss_kib.peak, record.rss_kib.end
    );
    for (name, value) in &record.figures {
        let _ = writeln!(out, "  {name:<15} {value:.3}");
    }
    for error in &record.errors {
        let _ = writeln!(out, "  ERROR           {error}");
    }
    let check = &record.drop_check;
    let _ = writeln!(
        out,
        "  drop check      {} ({} created, {} dropped, {} twice{})",
        if check.passed { "ok" } else { "FAILED" },
        check.created,
        check.dropped,
        check.double_drops,
        if record.leaks_by_design {
            format!("; {} leaked by design", record.unreclaimed_nodes)
        } else {
            String::new()
        }
    );
    out
}
