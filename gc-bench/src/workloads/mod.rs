//! The workloads: program shapes, each written once against [`Backend`] and run on every backend.
//!
//! | workload | what it is | cyclic garbage |
//! |---|---|---|
//! | [`trees`] | GCBench: binary trees built and dropped beside a long-lived tree | none |
//! | [`rings`] | rings of k nodes, all dropped, then one collection | all of it |
//! | [`dlist`] | a doubly linked list under insert/remove churn | the list, at the end |
//! | [`graph_churn`] | random graph mutation: survival rate, cycle fraction, size mix | random |
//! | [`lru`] | an LRU cache whose entries and values reference each other | every eviction |
//! | [`big_drop`] | build many small objects, drop them (keeping every Nth), collect | pairs |
//! | [`steady_burst`] | a service: steady live heap, periodic bursts of cyclic garbage | bursts |
//! | [`snapshot`] | the heap of a real CPython program (a snapshot file), rebuilt and collected | what the program left |
//!
//! The first seven are synthetic and make up the default report's matrix ([`WorkloadId::ALL`]);
//! `snapshot` needs a file (`--param file=PATH`) and joins a report once per file, as
//! `snapshot-STEM`: the example programs of `tools/examples/`, exported when `python3` is there,
//! and any file given with `gclab report --snapshot FILE`.
//!
//! Each workload is a unit type implementing [`Workload`]: a name, a summary, documented
//! parameters with a default per [`Scale`](crate::Scale) and a generic `run`. [`WorkloadId`] names
//! them at run time and dispatches to the right `run`. A workload drops every structure it built
//! before it returns; the measurement then runs a final full collection and checks the drop
//! ledger.

pub mod big_drop;
pub mod dlist;
pub mod graph_churn;
pub mod lru;
pub mod manual_collection;
pub mod rings;
pub mod snapshot;
pub mod steady_burst;
pub mod trees;

use std::fmt;

use crate::backend::Backend;
use crate::params::{ParamSpec, Params};
use crate::probe::Probe;

/// A program shape that runs on any backend.
pub trait Workload {
    /// The name on the command line.
    const NAME: &'static str;
    /// What it does, in one line.
    const SUMMARY: &'static str;
    /// Its parameters, with defaults per scale.
    const PARAMS: &'static [ParamSpec];
    /// Why a backend without a cycle collector cannot run it (its cycles cannot be broken by
    /// hand), or `None` if it can.
    const NEEDS_TRACING: Option<&'static str> = None;

    /// Runs the workload on `heap`, recording samples and figures in `probe`. Drops everything
    /// it built before returning.
    ///
    /// # Panics
    ///
    /// If the structure it keeps alive is found damaged (a reachable node freed or an edge
    /// lost): that is a collector bug, and the run fails loudly.
    fn run<B: Backend>(params: &Params, heap: &B, probe: &mut Probe);
}

/// A workload, named at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkloadId {
    /// [`trees`].
    Trees,
    /// [`rings`].
    Rings,
    /// [`dlist`].
    Dlist,
    /// [`graph_churn`].
    GraphChurn,
    /// [`lru`].
    Lru,
    /// [`big_drop`].
    BigDrop,
    /// [`steady_burst`].
    SteadyBurst,
    /// [`snapshot`].
    Snapshot,
}

/// Expands `$body` with `$w` bound to the workload type of `$id`.
macro_rules! with_workload {
    ($id:expr, $w:ident => $body:expr) => {
        match $id {
            WorkloadId::Trees => {
                type $w = trees::Trees;
                $body
            }
            WorkloadId::Rings => {
                type $w = rings::Rings;
                $body
            }
            WorkloadId::Dlist => {
                type $w = dlist::Dlist;
                $body
            }
            WorkloadId::GraphChurn => {
                type $w = graph_churn::GraphChurn;
                $body
            }
            WorkloadId::Lru => {
                type $w = lru::Lru;
                $body
            }
            WorkloadId::BigDrop => {
                type $w = big_drop::BigDrop;
                $body
            }
            WorkloadId::SteadyBurst => {
                type $w = steady_burst::SteadyBurst;
                $body
            }
            WorkloadId::Snapshot => {
                type $w = snapshot::SnapshotReplay;
                $body
            }
        }
    };
}

impl WorkloadId {
    /// The synthetic workloads — the default report's, in report order (`snapshot`, which needs
    /// a file, is not among them).
    pub const ALL: [WorkloadId; 7] = [
        WorkloadId::Trees,
        WorkloadId::Rings,
        WorkloadId::Dlist,
        WorkloadId::GraphChurn,
        WorkloadId::Lru,
        WorkloadId::BigDrop,
        WorkloadId::SteadyBurst,
    ];

    /// Every workload: [`WorkloadId::ALL`] and `snapshot`.
    pub const EVERY: [WorkloadId; 8] = [
        WorkloadId::Trees,
        WorkloadId::Rings,
        WorkloadId::Dlist,
        WorkloadId::GraphChurn,
        WorkloadId::Lru,
        WorkloadId::BigDrop,
        WorkloadId::SteadyBurst,
        WorkloadId::Snapshot,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        with_workload!(self, W => W::NAME)
    }

    /// What it does, in one line.
    pub fn summary(self) -> &'static str {
        with_workload!(self, W => W::SUMMARY)
    }

    /// Its parameters.
    pub fn params(self) -> &'static [ParamSpec] {
        with_workload!(self, W => W::PARAMS)
    }

    /// Why a backend that breaks cycles by hand cannot run it, if it cannot.
    pub fn needs_tracing(self) -> Option<&'static str> {
        with_workload!(self, W => W::NEEDS_TRACING)
    }

    /// The workload named `name`.
    pub fn from_name(name: &str) -> Option<WorkloadId> {
        WorkloadId::EVERY.into_iter().find(|w| w.name() == name)
    }

    /// The valid names, comma separated (for error messages).
    pub fn names() -> String {
        WorkloadId::EVERY.map(WorkloadId::name).join(", ")
    }

    /// The name a run of this workload with `params` goes by in records and reports: the
    /// workload's name, except for `snapshot`, which is told apart by its file
    /// (`snapshot-parent_trees`).
    pub fn label(self, params: &Params) -> String {
        match self {
            WorkloadId::Snapshot => snapshot::label(params.text("file")),
            _ => self.name().to_owned(),
        }
    }

    /// Checks what the parameters' types cannot: for `snapshot`, that the file is a valid
    /// snapshot (the message names the file and the line). Call it before the run, so that bad
    /// input is refused up front rather than failing the run.
    pub fn check(self, params: &Params) -> Result<(), String> {
        match self {
            WorkloadId::Snapshot => snapshot::check(params),
            _ => Ok(()),
        }
    }

    /// Runs it (see [`Workload::run`]).
    pub fn run<B: Backend>(self, params: &Params, heap: &B, probe: &mut Probe) {
        with_workload!(self, W => W::run(params, heap, probe))
    }
}

impl fmt::Display for WorkloadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Builds a closed ring of `size` nodes linked through edge `slot` and returns its first node.
/// Shared by [`rings`] and [`steady_burst`].
pub(crate) fn make_ring<B: Backend>(heap: &B, size: usize, slot: usize, key: u64) -> B::Handle {
    let first = heap.alloc(key, 0);
    let mut last = first.clone();
    for i in 1..size {
        let node = heap.alloc(key + i as u64, 0);
        heap.set_edge(&last, slot, Some(node.clone()));
        last = node;
    }
    heap.set_edge(&last, slot, Some(first.clone()));
    first
}

/// Drops the last outside handle to a ring made by [`make_ring`]. On a backend that breaks
/// cycles by hand, it first opens the ring (takes the first node's edge), so that reference
/// counting frees it all.
pub(crate) fn drop_ring<B: Backend>(heap: &B, first: B::Handle, slot: usize) {
    if heap.breaks_cycles_by_hand() {
        let rest = heap.take_edge(&first, slot);
        drop(rest);
    }
    drop(first);
}
