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
use super::peer_node::node_operations;
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

    node_operations!(Gc<DumpsterNode>, RefCell);

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
        self.pauses.metrics(self.pauses.calls())
    }

    fn take_pauses(&self) -> Vec<Duration> {
        self.pauses.take()
    }
}
