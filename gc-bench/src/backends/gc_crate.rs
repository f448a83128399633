//! [`GcCrateBackend`]: the `gc` crate (rust-gc) — a tracing mark-and-sweep collector: a `Gc`
//! held outside the heap is a *root* (counted by rooting and unrooting on moves into and out of
//! the heap); a collection marks from the roots and sweeps every unmarked object. It collects by
//! itself when its allocated bytes pass a threshold that grows with the heap.

// The `gc` crate's derives (gc_derive 0.5) put their impls inside a `const _` block, which
// today's compiler reports as non-local; the impls are correct.
#![allow(non_local_definitions)]

use std::time::Duration;

use gc::{force_collect, Finalize, Gc, GcCell, Trace};

use super::explicit_pauses::ExplicitPauses;
use super::peer_node::node_operations;
use crate::backend::{Backend, BackendMetrics, MAX_EDGES};
use crate::ledger::DropToken;

/// A workload node behind `gc::Gc`.
#[derive(Trace, Finalize)]
pub struct GcCrateNode {
    #[unsafe_ignore_trace]
    _token: DropToken,
    key: u64,
    #[unsafe_ignore_trace]
    _payload: Box<[u8]>,
    edges: GcCell<[Option<Gc<GcCrateNode>>; MAX_EDGES]>,
}

/// The `gc` crate.
#[derive(Debug, Default)]
pub struct GcCrateBackend {
    pauses: ExplicitPauses,
}

impl Backend for GcCrateBackend {
    type Handle = Gc<GcCrateNode>;

    node_operations!(Gc<GcCrateNode>, GcCell);

    fn collect(&self) {
        self.pauses.time(force_collect);
    }

    fn collects_automatically(&self) -> bool {
        true
    }

    fn pause_automatic(&self) {
        // A collection runs when the allocated bytes pass the threshold: make it unreachable.
        gc::configure(|config| config.threshold = usize::MAX);
    }

    fn resume_automatic(&self) {
        gc::configure(|config| config.threshold = gc::GcConfig::default().threshold);
    }

    fn metrics(&self) -> BackendMetrics {
        // Every collection, automatic ones included, as the crate counts them.
        self.pauses
            .metrics(gc::stats().collections_performed as u64)
    }

    fn take_pauses(&self) -> Vec<Duration> {
        self.pauses.take()
    }
}
