//! [`DumpsterBackend`]: the `dumpster` crate's thread-local collector (`dumpster::unsync`) — a
//! reference-counted `Gc` whose drops to a non-zero count mark the object "dirty"; a collection
//! searches the dirty objects' reachable subgraphs for cycles whose counts are all internal. It
//! collects by itself when more handles were dropped since the last collection than exist.

use std::cell::RefCell;
use std::time::Duration;

use dumpster::unsync::{
    collect, default_collect_condition, set_collect_condition, CollectInfo, Gc,
};
use dumpster::{TraceWith, Visitor};

use super::explicit_pauses::ExplicitPauses;
use crate::backend::{Backend, BackendMetrics, MAX_EDGES};
use crate::ledger::DropToken;

/// A workload node behind `dumpster::unsync::Gc`.
pub struct DumpsterNode {
    _token: DropToken,
    key: u64,
    _payload: Box<[u8]>,
    edges: RefCell<[Option<Gc<DumpsterNode>>; MAX_EDGES]>,
}

// SAFETY: the node's ownership is a tree apart from its `Gc` edges, which are all visited, in slot
// order, through the `RefCell` impl (which reports a borrowed cell as an error, as required).
unsafe impl<V: Visitor> TraceWith<V> for DumpsterNode {
    fn accept(&self, visitor: &mut V) -> Result<(), ()> {
        self.edges.accept(visitor)
    }
}

/// A collect condition that never asks for a collection (automatic collection paused).
fn never(_info: &CollectInfo) -> bool {
    false
}

/// The `dumpster` crate, thread-local flavour.
#[derive(Debug, Default)]
pub struct DumpsterBackend {
    pauses: ExplicitPauses,
}

impl Backend for DumpsterBackend {
    type Handle = Gc<DumpsterNode>;

    #[inline]
    fn alloc(&self, key: u64, payload_len: usize) -> Gc<DumpsterNode> {
        Gc::new(DumpsterNode {
            _token: DropToken::new(),
            key,
            _payload: vec![0u8; payload_len].into_boxed_slice(),
            edges: RefCell::new(Default::default()),
        })
    }

    #[inline]
    fn key(&self, node: &Gc<DumpsterNode>) -> u64 {
        node.key
    }

    #[inline]
    fn edge(&self, node: &Gc<DumpsterNode>, slot: usize) -> Option<Gc<DumpsterNode>> {
        node.edges.borrow()[slot].clone()
    }

    #[inline]
    fn set_edge(&self, node: &Gc<DumpsterNode>, slot: usize, target: Option<Gc<DumpsterNode>>) {
        let old = std::mem::replace(&mut node.edges.borrow_mut()[slot], target);
        drop(old);
    }

    #[inline]
    fn take_edge(&self, node: &Gc<DumpsterNode>, slot: usize) -> Option<Gc<DumpsterNode>> {
        node.edges.borrow_mut()[slot].take()
    }

    #[inline]
    fn same(&self, a: &Gc<DumpsterNode>, b: &Gc<DumpsterNode>) -> bool {
        Gc::ptr_eq(a, b)
    }

    fn collect(&self) {
        self.pauses.time(collect);
    }

    fn collects_automatically(&self) -> bool {
        true
    }

    fn pause_automatic(&self) {
        set_collect_condition(never);
    }

    fn resume_automatic(&self) {
        set_collect_condition(default_collect_condition);
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
