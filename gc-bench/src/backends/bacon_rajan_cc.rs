//! [`BaconRajanCcBackend`]: the `bacon_rajan_cc` crate — Bacon and Rajan's synchronous cycle
//! collector ("Concurrent Cycle Collection in Reference Counted Systems", 2001): a decrement to
//! a non-zero count buffers the object as a possible cycle root; `collect_cycles` runs
//! MarkGray/Scan/CollectWhite over the buffer. It never collects by itself, so workloads call
//! `collect_cycles` where a program would.

use std::cell::RefCell;
use std::time::Duration;

use bacon_rajan_cc::{collect_cycles, Cc, Trace, Tracer};

use super::explicit_pauses::ExplicitPauses;
use super::peer_node::node_operations;
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

    node_operations!(Cc<BrNode>, RefCell);

    fn collect(&self) {
        self.pauses.time(collect_cycles);
    }

    fn collects_automatically(&self) -> bool {
        false
    }

    fn metrics(&self) -> BackendMetrics {
        self.pauses.metrics(self.pauses.calls())
    }

    fn take_pauses(&self) -> Vec<Duration> {
        self.pauses.take()
    }
}
