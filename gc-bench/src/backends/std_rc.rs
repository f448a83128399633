//! [`StdRcBackend`]: `std::rc::Rc` with `RefCell` edges — the baseline a Rust programmer starts
//! from. It has no cycle collector: workloads break their cycles by hand before dropping them
//! ([`Backend::breaks_cycles_by_hand`]), and a workload that cannot know which cycles are garbage
//! does not run on it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

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

    #[inline]
    fn alloc(&self, key: u64, payload_len: usize) -> Rc<RcNode> {
        Rc::new(RcNode {
            _token: DropToken::new(),
            key,
            _payload: vec![0u8; payload_len].into_boxed_slice(),
            edges: RefCell::new(Default::default()),
        })
    }

    #[inline]
    fn key(&self, node: &Rc<RcNode>) -> u64 {
        node.key
    }

    #[inline]
    fn edge(&self, node: &Rc<RcNode>, slot: usize) -> Option<Rc<RcNode>> {
        node.edges.borrow()[slot].clone()
    }

    #[inline]
    fn set_edge(&self, node: &Rc<RcNode>, slot: usize, target: Option<Rc<RcNode>>) {
        let old = std::mem::replace(&mut node.edges.borrow_mut()[slot], target);
        drop(old);
    }

    #[inline]
    fn take_edge(&self, node: &Rc<RcNode>, slot: usize) -> Option<Rc<RcNode>> {
        node.edges.borrow_mut()[slot].take()
    }

    #[inline]
    fn same(&self, a: &Rc<RcNode>, b: &Rc<RcNode>) -> bool {
        Rc::ptr_eq(a, b)
    }

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
            ..BackendMetrics::default()
        }
    }

    fn take_pauses(&self) -> Vec<Duration> {
        Vec::new()
    }
}
