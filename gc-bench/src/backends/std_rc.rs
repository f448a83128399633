//! [`StdRcBackend`]: `std::rc::Rc` with `RefCell` edges — the baseline a Rust programmer starts
//! from. It has no cycle collector: workloads break their cycles by hand before dropping them
//! ([`Backend::breaks_cycles_by_hand`]), and a workload that cannot know which cycles are garbage
//! does not run on it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use super::peer_node::node_operations;
use crate::backend::{Backend, BackendMetrics, MAX_EDGES};
use crate::ledger::DropToken;

/// A workload node behind `Rc`.
pub struct RcNode {
    _token: DropToken,
    key: u64,
    _payload: Box<[u8]>,
    edges: RefCell<[Option<Rc<RcNode>>; MAX_EDGES]>,
}

/// `std::rc::Rc`: reference counting only.
#[derive(Debug, Default)]
pub struct StdRcBackend;

impl Backend for StdRcBackend {
    type Handle = Rc<RcNode>;

    node_operations!(Rc<RcNode>, RefCell);

    fn collect(&self) {}

    fn breaks_cycles_by_hand(&self) -> bool {
        true
    }

    fn collects_automatically(&self) -> bool {
        // Nothing to collect: `collect` is a no-op, so periodic calls would measure nothing.
        true
    }

    fn metrics(&self) -> BackendMetrics {
        BackendMetrics {
            pause_source: "none",
            split_markings: None,
            ..BackendMetrics::default()
        }
    }

    fn take_pauses(&self) -> Vec<Duration> {
        Vec::new()
    }
}
