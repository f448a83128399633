//! The shared heap as a graph for gc-core's marking engine: the shared collector marks what its
//! roots reach with the same engine, sequential or parallel, as the thread-local `MarkSweep`.
//!
//! A node is a tracked object's header ([`SharedNode`]); its mark word is the collector's state
//! word (the engine owns the top bit, the collector's flags and `gc_refs` sit below it); its
//! edges are the shared edges its value's `Trace` impl reports, restricted to the objects the
//! collection examines.

use std::ptr::NonNull;
use std::sync::atomic::AtomicUsize;

use gc_core::mark::Graph;
use gc_core::sync::Std;
use gc_core::{Edge, Visitor};

use super::object::type_info_of;
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

/// The examined shared objects, as a [`Graph`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SharedGraph;

/// Reports the examined targets of a value's shared edges to the engine's closure.
struct Examined<'a, F> {
    visit: &'a mut F,
}

impl<F: FnMut(SharedNode)> Visitor for Examined<'_, F> {
    fn visit(&mut self, _edge: Edge) {}

    #[inline]
    fn visit_shared(&mut self, object: NonNull<u8>) {
        let obj = object.cast::<TrackedLinks>();
        // SAFETY: a reported edge holds a reference: the target is live. Its state word is read
        // atomically; during a marking only the engine writes it (the mark bit).
        if unsafe { obj.as_ref() }.state() & state::EXAMINED != 0 {
            (self.visit)(SharedNode(obj));
        }
    }
}

// SAFETY: [1] a node's mark word is its own state word, allocated while the object is live (the
// world is stopped: nothing is freed during the marking). [2] `trace` runs the value's `Trace`
// impl (same edges each time, no side effects; a `GcLock` is only tried, and no thread takes a
// lock while the world is stopped, so every worker sees it as the subtraction pass did).
unsafe impl Graph for SharedGraph {
    type Platform = Std;
    type Node = SharedNode;

    #[inline(always)]
    unsafe fn mark_word(&self, node: SharedNode) -> &AtomicUsize {
        // SAFETY: the object is live (the caller's promise).
        unsafe { node.0.as_ref() }.state_word()
    }

    unsafe fn trace(&self, node: SharedNode, visit: &mut impl FnMut(SharedNode)) {
        let obj = node.0;
        // SAFETY: a live examined object, whose value no mutator changes while the world is
        // stopped.
        unsafe { (type_info_of(obj).trace)(obj, &mut Examined { visit }) };
    }
}
