//! The shared heap as a graph for gc-core's marking engine: the shared collector marks what its
//! roots reach with the same engine, sequential or parallel, as the thread-local `MarkSweep`.
//!
//! A node is a tracked object's header ([`SharedNode`]); its mark word is the collector's state
//! word (the engine owns the top bit; below it the collector keeps the object's index among the
//! examined objects and its flags). Its edges are not traced again: they are the ones the
//! collector recorded, in an [`EdgeTable`], when it traced every examined value once to subtract
//! internal references — so that the marking sees exactly the edges the subtraction saw.

use std::ptr::NonNull;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use gc_core::mark::{Graph, MARK_BIT};
use gc_core::sync::Std;

use super::tracked::{state, TrackedLinks};

/// A tracked shared object, as a node the marking engine may send between its workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SharedNode(pub(crate) NonNull<TrackedLinks>);

// SAFETY: an address of a thread-shared object (its value is `Send + Sync`); the engine
// dereferences it only under `Marker::mark`'s contract, which the collector upholds with the world
// stopped.
unsafe impl Send for SharedNode {}
// SAFETY: as above.
unsafe impl Sync for SharedNode {}

/// The examined objects of one collection and their recorded edges: the edges of member `i` are
/// `edges[offsets[i]..offsets[i + 1]]`, each the index of a member.
pub(crate) struct EdgeTable {
    /// The examined objects, by index (the index is in each one's state word).
    pub(crate) members: Vec<NonNull<TrackedLinks>>,
    /// Where each member's edges start in `edges`, and (last) where the last one's end.
    pub(crate) offsets: Vec<usize>,
    /// The members' edges, as member indices.
    pub(crate) edges: Vec<u32>,
}

impl EdgeTable {
    /// An empty table.
    pub(crate) const fn new() -> Self {
        EdgeTable {
            members: Vec::new(),
            offsets: Vec::new(),
            edges: Vec::new(),
        }
    }
}

// SAFETY: addresses of thread-shared objects and plain indices; the table is only read while the
// marking runs (see `SharedNode`).
unsafe impl Send for EdgeTable {}
// SAFETY: as above.
unsafe impl Sync for EdgeTable {}

/// The examined shared objects of the current collection, as a [`Graph`] (empty between
/// collections).
#[derive(Clone, Default)]
pub(crate) struct SharedGraph {
    table: Option<Arc<EdgeTable>>,
}

impl SharedGraph {
    /// The graph of `table`'s members and recorded edges.
    pub(crate) fn new(table: Arc<EdgeTable>) -> Self {
        SharedGraph { table: Some(table) }
    }
}

// SAFETY: [1] a node's mark word is its own state word, allocated while the object is live (the
// world is stopped: nothing is freed during the marking). [2] `trace` reads the recorded edges:
// the same every time, no side effects, no user code.
unsafe impl Graph for SharedGraph {
    type Platform = Std;
    type Node = SharedNode;

    #[inline(always)]
    unsafe fn mark_word(&self, node: SharedNode) -> &AtomicUsize {
        // SAFETY: the object is live (the caller's promise).
        unsafe { node.0.as_ref() }.state_word()
    }

    unsafe fn trace(&self, node: SharedNode, visit: &mut impl FnMut(SharedNode)) {
        let Some(table) = &self.table else {
            unreachable!("a marking without an edge table")
        };
        // SAFETY: a live member (the caller's promise).
        let word = unsafe { node.0.as_ref() }.state() & !MARK_BIT;
        debug_assert_ne!(word & state::EXAMINED, 0, "marking a non-member");
        let index = word >> state::SHIFT;
        for &edge in &table.edges[table.offsets[index]..table.offsets[index + 1]] {
            visit(SharedNode(table.members[edge as usize]));
        }
    }
}
