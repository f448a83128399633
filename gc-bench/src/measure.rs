//! Measuring one run in this process: [`RunSpec`] in, [`RunRecord`] out.
//!
//! The run executes on a thread of its own, for three reasons: gclab's heap and the drop ledger
//! are per thread, so a fresh thread starts both empty; a panic in the workload (a damaged
//! structure, a collector bug) ends the thread, not the caller; and the thread gets a large stack
//! ([`RUN_STACK_BYTES`]), because some peers mark and drop recursively and a long list would
//! overflow the default 8 MiB — only the pages touched become resident.
//!
//! Sequence: configure the backend → read RSS → time the workload (its own collect calls
//! included) → take the backend's pauses and counters → one more full collection, timed apart
//! (it finds what the workload left) → read the ledger and RSS.

use std::time::Instant;

use crate::backend::Backend;
use crate::backends::{BackendChoice, BackendUser};
use crate::cpu_time::CpuTime;
use crate::ledger;
use crate::params::Params;
use crate::pauses;
use crate::probe::Probe;
use crate::record::{DropCheck, RssKib, RunRecord};
use crate::rss;
use crate::scale::Scale;
use crate::workloads::WorkloadId;

/// Stack reserved for a run's thread: 1 GiB of address space, of which only what recursion
/// touches becomes resident.
pub const RUN_STACK_BYTES: usize = 1 << 30;

/// One run to measure.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The workload.
    pub workload: WorkloadId,
    /// The backend.
    pub backend: BackendChoice,
    /// The scale the parameters came from.
    pub scale: Scale,
    /// The parameter values.
    pub params: Params,
    /// The repetition number, recorded as is.
    pub rep: u32,
}

/// Runs `spec` on a fresh thread and measures it. An error is a failed run: the backend could
/// not be set up, or the workload panicked (its message is returned).
pub fn run(spec: &RunSpec) -> Result<RunRecord, String> {
    let spec = spec.clone();
    on_run_thread(
        format!("{}-{}", spec.workload, spec.backend.name()),
        move || {
            let backend = spec.backend.clone();
            backend.open(Measure { spec: &spec })
        },
    )
}

/// Runs `measure` on a fresh thread named `name`, with [`RUN_STACK_BYTES`] of stack, and returns
/// its result; an error if the thread cannot start, or the panic's message if `measure` panics.
pub fn on_run_thread<T: Send + 'static>(
    name: String,
    measure: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let thread = std::thread::Builder::new()
        .name(name)
        .stack_size(RUN_STACK_BYTES)
        .spawn(measure)
        .map_err(|error| format!("cannot start the run's thread: {error}"))?;
    match thread.join() {
        Ok(result) => result,
        Err(payload) => Err(panic_message(payload.as_ref())),
    }
}

/// The resident set of a run that started at `start` KiB: that, the peak so far and now.
pub fn rss_since(start: u64) -> RssKib {
    RssKib {
        start,
        peak: rss::peak_kib(),
        end: rss::current_kib(),
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        format!("panicked: {text}")
    } else if let Some(text) = payload.downcast_ref::<String>() {
        format!("panicked: {text}")
    } else {
        "panicked (no message)".to_owned()
    }
}

/// The measurement, as a [`BackendUser`] so it is monomorphised per backend.
struct Measure<'a> {
    spec: &'a RunSpec,
}

impl BackendUser for Measure<'_> {
    type Output = RunRecord;

    fn run<B: Backend>(self, heap: &B) -> RunRecord {
        let spec = self.spec;
        ledger::reset();
        let rss_start = rss::current_kib();
        let mut probe = Probe::new(true);

        let cpu_start = CpuTime::now();
        let clock = Instant::now();
        spec.workload.run(&spec.params, heap, &mut probe);
        let wall = clock.elapsed();
        let cpu_ms = CpuTime::since(cpu_start);

        let pauses = heap.take_pauses();
        let during = heap.metrics();
        let clock = Instant::now();
        heap.collect();
        let final_collect = clock.elapsed();
        let _ = heap.take_pauses();
        let after = heap.metrics();
        let counts = ledger::counts();
        let leaks_by_design = heap.leaks_cycles_by_design();
        let recorded = probe.finish();

        let all_expected = !leaks_by_design;
        let passed = counts.double_drops == 0
            && counts.dropped <= counts.created
            && (!all_expected || counts.dropped == counts.created);

        RunRecord {
            workload: spec.workload.label(&spec.params),
            config: spec.backend.name().to_owned(),
            config_full: spec.backend.describe(),
            kind: spec.backend.kind().to_owned(),
            crate_version: spec.backend.crate_version().map(str::to_owned),
            scale: spec.scale,
            rep: spec.rep,
            params: spec.params.values().clone(),
            text_params: spec.params.texts().clone(),
            wall_ms: wall.as_secs_f64() * 1e3,
            final_collect_ms: final_collect.as_secs_f64() * 1e3,
            objects_allocated: after.objects_allocated.unwrap_or(counts.created),
            objects_freed: after.objects_freed.unwrap_or(counts.dropped),
            bytes_allocated: after.bytes_allocated,
            bytes_freed: after.bytes_freed,
            collections: during.collections,
            pauses: pauses::summarize(&pauses, during.pause_source),
            examined: during.examined,
            collected: during.collected,
            peak_live_nodes: counts.peak_live,
            peak_tracked: during.peak_tracked,
            peak_live_bytes: during.peak_live_bytes,
            rss_kib: rss_since(rss_start),
            cpu_ms,
            split_markings: during.split_markings,
            unreclaimed_nodes: counts.live(),
            leaks_by_design,
            drop_check: DropCheck {
                created: counts.created,
                dropped: counts.dropped,
                double_drops: counts.double_drops,
                all_expected,
                passed,
            },
            samples: recorded.samples,
            figures: recorded.figures,
            errors: recorded.errors,
        }
    }
}
