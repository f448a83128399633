//! [`GcmoduleBackend`]: the `gcmodule` crate — "cyclic garbage collection inspired by CPython's
//! gc implementation": every tracked object is in a list, and `collect_thread_cycles` runs
//! CPython's `subtract_refs`/`move_unreachable` over all of them (one generation). It never
//! collects by itself, so workloads call it where a program would.

use std::cell::RefCell;
use std::time::Duration;

use gcmodule::{collect_thread_cycles, count_thread_tracked, Cc, Trace, Tracer};

use super::explicit_pauses::ExplicitPauses;
use super::peer_node::node_operations;
use crate::backend::{Backend, BackendMetrics, MAX_EDGES};
use crate::ledger::DropToken;

/// A workload node behind `gcmodule::Cc`.
pub struct GcmoduleNode {
    _token: DropToken,
    key: u64,
    _payload: Box<[u8]>,
    edges: RefCell<[Option<Cc<GcmoduleNode>>; MAX_EDGES]>,
}

impl Trace for GcmoduleNode {
    fn trace(&self, tracer: &mut Tracer) {
        // A borrowed cell is skipped: its targets then look externally referenced, which can
        // only delay a collection (the same rule as gcmodule's own `RefCell` impl).
        if let Ok(edges) = self.edges.try_borrow() {
            for edge in edges.iter().flatten() {
                edge.trace(tracer);
            }
        }
    }

    fn is_type_tracked() -> bool {
        true
    }
}

/// Whether two handles point to the same node (`gcmodule::Cc` has no `ptr_eq`).
#[inline]
fn same_node(a: &Cc<GcmoduleNode>, b: &Cc<GcmoduleNode>) -> bool {
    std::ptr::eq::<GcmoduleNode>(&**a, &**b)
}

/// The `gcmodule` crate.
#[derive(Debug, Default)]
pub struct GcmoduleBackend {
    pauses: ExplicitPauses,
}

impl Backend for GcmoduleBackend {
    type Handle = Cc<GcmoduleNode>;

    node_operations!(Cc<GcmoduleNode>, RefCell, same_node);

    fn collect(&self) {
        self.pauses.time(|| {
            collect_thread_cycles();
        });
    }

    fn collects_automatically(&self) -> bool {
        false
    }

    fn tracked(&self) -> Option<u64> {
        Some(count_thread_tracked() as u64)
    }

    fn metrics(&self) -> BackendMetrics {
        self.pauses.metrics(self.pauses.calls())
    }

    fn take_pauses(&self) -> Vec<Duration> {
        self.pauses.take()
    }
}
