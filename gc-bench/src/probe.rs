//! [`Probe`]: what a workload records besides its wall time — time-series samples, figures of
//! its own, and errors (a result the workload found wrong without the run failing outright).

use std::collections::BTreeMap;

use crate::backend::Backend;
use crate::ledger;
use crate::record::Sample;
use crate::rss;

/// The recorder a workload writes to while it runs.
#[derive(Debug, Default)]
pub struct Probe {
    samples: Vec<Sample>,
    figures: BTreeMap<String, f64>,
    errors: Vec<String>,
    read_rss: bool,
}

/// What a probe recorded, when the workload is done.
#[derive(Debug, Default)]
pub struct Recorded {
    /// The samples, in order.
    pub samples: Vec<Sample>,
    /// The figures by name.
    pub figures: BTreeMap<String, f64>,
    /// The errors, in order (see [`Probe::error`]).
    pub errors: Vec<String>,
}

impl Probe {
    /// A probe; `read_rss` says whether samples read the resident memory (a system call each:
    /// workloads that sample often leave it to the [`Probe::sample_with_rss`] points).
    pub fn new(read_rss: bool) -> Probe {
        Probe {
            read_rss,
            ..Probe::default()
        }
    }

    /// Records a point: live nodes, the collector's tracked count, and (if this probe reads it)
    /// resident memory.
    pub fn sample<B: Backend>(&mut self, label: &str, step: u64, heap: &B) {
        let rss_kib = if self.read_rss { rss::current_kib() } else { 0 };
        self.push(label, step, heap, rss_kib);
    }

    /// Records a point with resident memory, whatever the probe's setting.
    pub fn sample_with_rss<B: Backend>(&mut self, label: &str, step: u64, heap: &B) {
        self.push(label, step, heap, rss::current_kib());
    }

    fn push<B: Backend>(&mut self, label: &str, step: u64, heap: &B, rss_kib: u64) {
        self.samples.push(Sample {
            label: label.to_owned(),
            step,
            live_nodes: ledger::live(),
            tracked: heap.tracked(),
            rss_kib,
        });
    }

    /// Records a workload-specific figure (`collect_ms`, `tick_p99_us`).
    pub fn figure(&mut self, name: &str, value: f64) {
        self.figures.insert(name.to_owned(), value);
    }

    /// Records an error: a result the workload knows to be wrong (a snapshot collection that did
    /// not find CPython's count). The run still produces its record, with its figures, so the
    /// numbers can be read; the record's `errors` make it a failed run in reports and in
    /// `gclab run`.
    pub fn error(&mut self, message: String) {
        self.errors.push(message);
    }

    /// Everything recorded.
    pub fn finish(self) -> Recorded {
        Recorded {
            samples: self.samples,
            figures: self.figures,
            errors: self.errors,
        }
    }
}
