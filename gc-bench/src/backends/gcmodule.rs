//! [`GcmoduleBackend`]: the `gcmodule` crate — "cyclic garbage collection inspired by CPython's
//! gc implementation": every tracked object is in a list, and `collect_thread_cycles` runs
//! CPython's `subtract_refs`/`move_unreachable` over all of them (one generation). It never
//! collects by itself, so workloads call it where a program would.

use std::cell::RefCell;
use std::time::Duration;

use gcmodule::{collect_thread_cycles, count_thread_tracked, Cc, Trace, Tracer};

use super::explicit_pauses::ExplicitPauses;
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

/// The `gcmodule` crate.
#[derive(Debug, Default)]
pub struct GcmoduleBackend {
    pauses: ExplicitPauses,
}

impl Backend for GcmoduleBackend {
    type Handle = Cc<GcmoduleNode>;

    #[inline]
    fn alloc(&self, key: u64, payload_len: usize) -> Cc<GcmoduleNode> {
        Cc::new(GcmoduleNode {
            _token: DropToken::new(),
            key,
            _payload: vec![0u8; payload_len].into_boxed_slice(),
            edges: RefCell::new(Default::default()),
        })
    }

    #[inline]
    fn key(&self, node: &Cc<GcmoduleNode>) -> u64 {
        node.key
    }

    #[inline]
    fn edge(&self, node: &Cc<GcmoduleNode>, slot: usize) -> Option<Cc<GcmoduleNode>> {
        node.edges.borrow()[slot].clone()
    }

    #[inline]
    fn set_edge(&self, node: &Cc<GcmoduleNode>, slot: usize, target: Option<Cc<GcmoduleNode>>) {
        let old = std::mem::replace(&mut node.edges.borrow_mut()[slot], target);
        drop(old);
    }

    #[inline]
    fn take_edge(&self, node: &Cc<GcmoduleNode>, slot: usize) -> Option<Cc<GcmoduleNode>> {
        node.edges.borrow_mut()[slot].take()
    }

    #[inline]
    fn same(&self, a: &Cc<GcmoduleNode>, b: &Cc<GcmoduleNode>) -> bool {
        std::ptr::eq::<GcmoduleNode>(&**a, &**b)
    }

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
