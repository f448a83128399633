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

    #[inline]
    fn alloc(&self, key: u64, payload_len: usize) -> Gc<GcCrateNode> {
        Gc::new(GcCrateNode {
            _token: DropToken::new(),
            key,
            _payload: vec![0u8; payload_len].into_boxed_slice(),
            edges: GcCell::new(Default::default()),
        })
    }

    #[inline]
    fn key(&self, node: &Gc<GcCrateNode>) -> u64 {
        node.key
    }

    #[inline]
    fn edge(&self, node: &Gc<GcCrateNode>, slot: usize) -> Option<Gc<GcCrateNode>> {
        node.edges.borrow()[slot].clone()
    }

    #[inline]
    fn set_edge(&self, node: &Gc<GcCrateNode>, slot: usize, target: Option<Gc<GcCrateNode>>) {
        let old = std::mem::replace(&mut node.edges.borrow_mut()[slot], target);
        drop(old);
    }

    #[inline]
    fn take_edge(&self, node: &Gc<GcCrateNode>, slot: usize) -> Option<Gc<GcCrateNode>> {
        node.edges.borrow_mut()[slot].take()
    }

    #[inline]
    fn same(&self, a: &Gc<GcCrateNode>, b: &Gc<GcCrateNode>) -> bool {
        Gc::ptr_eq(a, b)
    }

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
        let stats = gc::stats();
        BackendMetrics {
            // Every collection, automatic ones included, as the crate counts them.
            collections: vec![stats.collections_performed as u64],
            pause_source: "explicit",
            ..BackendMetrics::default()
        }
    }

    fn take_pauses(&self) -> Vec<Duration> {
        self.pauses.take()
    }
}
