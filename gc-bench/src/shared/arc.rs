//! [`ArcBackend`]: `std::sync::Arc` with `Mutex` edges — what a Rust programmer shares between
//! threads without a collector, and the baseline of the thread-shared table. It has no cycle
//! collector: workloads break their cycles by hand before dropping them
//! ([`SharedBackend::breaks_cycles_by_hand`]).

use std::sync::{Arc, Mutex, PoisonError};

use super::ledger::SharedToken;
use super::{Collection, SharedBackend, MAX_EDGES};

/// A workload node behind `Arc`.
pub struct ArcNode {
    _token: SharedToken,
    key: u64,
    edges: Mutex<[Option<Arc<ArcNode>>; MAX_EDGES]>,
}

/// `std::sync::Arc`: reference counting only.
#[derive(Debug, Default)]
pub struct ArcBackend;

impl SharedBackend for ArcBackend {
    type Handle = Arc<ArcNode>;

    #[inline]
    fn alloc(&self, key: u64) -> Arc<ArcNode> {
        Arc::new(ArcNode {
            _token: SharedToken::new(),
            key,
            edges: Mutex::new(Default::default()),
        })
    }

    #[inline]
    fn key(&self, node: &Arc<ArcNode>) -> u64 {
        node.key
    }

    #[inline]
    fn edge(&self, node: &Arc<ArcNode>, slot: usize) -> Option<Arc<ArcNode>> {
        node.edges.lock().unwrap_or_else(PoisonError::into_inner)[slot].clone()
    }

    #[inline]
    fn replace_edge(
        &self,
        node: &Arc<ArcNode>,
        slot: usize,
        target: Option<Arc<ArcNode>>,
    ) -> Option<Arc<ArcNode>> {
        let mut edges = node.edges.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut edges[slot], target)
    }

    fn breaks_cycles_by_hand(&self) -> bool {
        true
    }

    #[inline]
    fn same(&self, a: &Self::Handle, b: &Self::Handle) -> bool {
        Arc::ptr_eq(a, b)
    }

    fn collect(&self) {}

    fn take_collections(&self) -> Vec<Collection> {
        Vec::new()
    }

    fn pause_source(&self) -> &'static str {
        "none"
    }
}
