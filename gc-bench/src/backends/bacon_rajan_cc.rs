//! [`BaconRajanCcBackend`]: the `bacon_rajan_cc` crate — Bacon and Rajan's synchronous cycle
//! collector ("Concurrent Cycle Collection in Reference Counted Systems", 2001): a decrement to
//! a non-zero count buffers the object as a possible cycle root; `collect_cycles` runs
//! MarkGray/Scan/CollectWhite over the buffer. It never collects by itself, so workloads call
//! `collect_cycles` where a program would.

use std::cell::RefCell;
use std::time::Duration;

use bacon_rajan_cc::{collect_cycles, Cc, Trace, Tracer};

use super::explicit_pauses::ExplicitPauses;
use crate::backend::{Backend, BackendMetrics, MAX_EDGES};
use crate::ledger::DropToken;

/// A workload node behind `bacon_rajan_cc::Cc`.
pub struct BrNode {
    _token: DropToken,
    key: u64,
    _payload: Box<[u8]>,
    edges: RefCell<[Option<Cc<BrNode>>; MAX_EDGES]>,
}

impl Trace for BrNode {
    fn trace(&self, tracer: &mut Tracer) {
        // Collections only run in explicit `collect_cycles` calls, when no edge cell is
        // borrowed; a borrowed cell is skipped rather than panicking.
        if let Ok(edges) = self.edges.try_borrow() {
            for edge in edges.iter().flatten() {
                edge.trace(tracer);
            }
        }
    }
}

/// The `bacon_rajan_cc` crate.
#[derive(Debug, Default)]
pub struct BaconRajanCcBackend {
    pauses: ExplicitPauses,
}

impl Backend for BaconRajanCcBackend {
    type Handle = Cc<BrNode>;

    #[inline]
    fn alloc(&self, key: u64, payload_len: usize) -> Cc<BrNode> {
        Cc::new(BrNode {
            _token: DropToken::new(),
            key,
            _payload: vec![0u8; payload_len].into_boxed_slice(),
            edges: RefCell::new(Default::default()),
        })
    }

    #[inline]
    fn key(&self, node: &Cc<BrNode>) -> u64 {
        node.key
    }

    #[inline]
    fn edge(&self, node: &Cc<BrNode>, slot: usize) -> Option<Cc<BrNode>> {
        node.edges.borrow()[slot].clone()
    }

    #[inline]
    fn set_edge(&self, node: &Cc<BrNode>, slot: usize, target: Option<Cc<BrNode>>) {
        let old = std::mem::replace(&mut node.edges.borrow_mut()[slot], target);
        drop(old);
    }

    #[inline]
    fn take_edge(&self, node: &Cc<BrNode>, slot: usize) -> Option<Cc<BrNode>> {
        node.edges.borrow_mut()[slot].take()
    }

    #[inline]
    fn same(&self, a: &Cc<BrNode>, b: &Cc<BrNode>) -> bool {
        Cc::ptr_eq(a, b)
    }

    fn collect(&self) {
        self.pauses.time(collect_cycles);
    }

    fn collects_automatically(&self) -> bool {
        false
    }

    fn metrics(&self) -> BackendMetrics {
        BackendMetrics {
            collections: vec![self.pauses.calls()],
            pause_source: "explicit",
            ..BackendMetrics::default()
        }
    }

    fn take_pauses(&self) -> Vec<Duration> {
        self.pauses.take()
    }
}
