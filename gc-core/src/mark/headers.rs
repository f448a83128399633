//! The production graph: gclab's objects, seen through their headers.
//!
//! A node is an object's header ([`HeaderNode`], an [`Edge`] that may cross threads); its mark
//! word is the header's scratch word, seen atomically ([`Header::scratch_atomic`]); its edges are
//! what its `Trace` impl reports, restricted to *members* — objects whose flags hold the graph's
//! member bits (for a collection, [`flags::EXAMINED`](crate::header::flags::EXAMINED): the
//! examined set). The engine owns the word's top bit ([`MARK_BIT`]); the heap's `gc_refs` stays
//! in the bits below, so the roots computed by trial deletion's first pass need no clearing
//! before marking.
//!
//! ## Why the mark lives in the header, not in a side bitmap
//!
//! To follow an edge the engine must read the target's header anyway (the member bits in its
//! flags), so the mark word is on a cache line that is already being loaded: testing it costs no
//! extra miss. A side bitmap would need an index per object — which could only live in the
//! header, in the scratch word that holds `gc_refs` — plus a pass to assign the indices and the
//! bitmap's own lines. Its one advantage, that clearing the marks is a `memset`, buys nothing here:
//! every reachable header is visited anyway (by the walk that traces it, or by a sweep), and its
//! word is cleared then.

use std::ptr::NonNull;
use std::sync::atomic::AtomicUsize;

use super::engine::{Graph, MARK_BIT};
use super::finger::FingerGraph;
use crate::header::Header;
use crate::prefetch::{prefetch_walk_ahead, WALK_AHEAD};
use crate::sync::Std;
use crate::trace::{Edge, Visitor};

/// An object, as a node the marking engine may send between its workers.
///
/// `Edge` is a raw pointer, neither `Send` nor `Sync`, because a heap belongs to one thread. A
/// `HeaderNode` may cross threads because the engine only uses it under [`Marker::mark`]'s
/// contract (see the [module docs of `mark`](super) for why that is sound while the heap's
/// thread is blocked).
///
/// [`Marker::mark`]: super::Marker::mark
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HeaderNode(Edge);

// SAFETY: a `HeaderNode` is an address. Dereferencing it is unsafe and happens only in
// `HeaderGraph`'s methods, whose callers vouch (through `Marker::mark`'s contract) that the object
// is live and that its owning thread does not touch it concurrently.
unsafe impl Send for HeaderNode {}
// SAFETY: as above; a shared `HeaderNode` gives no access that an owned one does not.
unsafe impl Sync for HeaderNode {}

impl HeaderNode {
    /// The object's header.
    #[inline(always)]
    pub fn edge(self) -> Edge {
        self.0
    }
}

impl From<Edge> for HeaderNode {
    #[inline(always)]
    fn from(edge: Edge) -> Self {
        HeaderNode(edge)
    }
}

/// A vector of nodes collects the edges it is shown, in order, after those it already holds: the
/// finger walk traces each object onto its found edges through the type's monomorphised
/// [`TypeInfo::trace_nodes`](crate::TypeInfo::trace_nodes), with no indirect call per edge.
impl Visitor for Vec<HeaderNode> {
    #[inline(always)]
    fn visit(&mut self, edge: Edge) {
        self.push(HeaderNode(edge));
    }
}

/// Whether the engine marked the object (read after the marking, on the heap's thread).
#[inline(always)]
pub fn is_marked(header: &Header) -> bool {
    header.scratch() & MARK_BIT != 0
}

/// gclab's objects as a [`Graph`]: edges are followed only to objects whose flags hold every bit
/// of the member mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderGraph {
    members: u32,
}

impl HeaderGraph {
    /// The graph of the objects whose flags include every bit of `members`, usually
    /// [`flags::EXAMINED`](crate::header::flags::EXAMINED).
    pub const fn new(members: u32) -> Self {
        HeaderGraph { members }
    }
}

/// Reports the member targets of a value's edges to the engine's closure.
struct Members<'a, F> {
    visit: &'a mut F,
    members: u32,
}

impl<F: FnMut(HeaderNode)> Visitor for Members<'_, F> {
    #[inline]
    fn visit(&mut self, edge: Edge) {
        // SAFETY: an edge reported by `Trace` is backed by a strong count: its target is live.
        // Reading its flags races with nothing: during a marking no thread writes them.
        if unsafe { Header::from_ptr(edge) }.has(self.members) {
            (self.visit)(HeaderNode(edge));
        }
    }
}

// SAFETY: [1] an object's mark word is its own scratch word: one per object, distinct for
// distinct objects, allocated as long as the object is live (which `Marker::mark`'s caller
// promises for every node reached). [2] `trace` runs the object's `Trace` impl, which reports the
// same edges every time and has no side effects (`Trace`'s safety rule 2); the visitor only
// reads the targets' flags. [3] `trace_candidates` reports every edge of the value, a superset
// of `trace`'s; `is_node` reads the target's flags, the test `trace` applies. See the `mark`
// module docs for the argument that these reads may happen on a worker thread.
unsafe impl Graph for HeaderGraph {
    type Platform = Std;
    type Node = HeaderNode;

    #[inline(always)]
    unsafe fn mark_word(&self, node: HeaderNode) -> &AtomicUsize {
        // SAFETY: the object is live (the caller's promise), and during a marking no other thread
        // accesses its scratch word but through atomic views: `Marker::mark`'s caller promises
        // that no other code touches mark words while it runs. (A sequential retiring walk,
        // `FingerMarker::mark_retiring`, clears the words of retired nodes with plain writes on
        // the marking thread itself, ordered with its atomic accesses by program order.)
        unsafe { Header::from_ptr(node.0).scratch_atomic() }
    }

    /// Prefetches the header's cache line and the next one (where a small value starts).
    #[inline(always)]
    fn prefetch(&self, node: HeaderNode) {
        crate::prefetch::prefetch_object(node.0.as_ptr().cast_const());
    }

    #[inline]
    unsafe fn trace(&self, node: HeaderNode, visit: &mut impl FnMut(HeaderNode)) {
        let mut members = Members {
            visit,
            members: self.members,
        };
        // SAFETY: the object is live and, being reached during a collection, either has its
        // value or is flagged as having none (which `Header::trace` checks); a `GcCell` guards
        // its own borrows.
        unsafe { Header::trace(node.0, &mut members) };
    }

    #[inline]
    unsafe fn trace_candidates(&self, node: HeaderNode, visit: &mut impl FnMut(HeaderNode)) {
        // SAFETY: as in `trace`.
        unsafe { Header::trace(node.0, &mut Candidates { visit }) };
    }

    /// Through the type's monomorphised [`Header::trace_nodes`]: no indirect call per edge.
    #[inline]
    unsafe fn trace_candidates_into(&self, node: HeaderNode, found: &mut Vec<HeaderNode>) {
        // SAFETY: as in `trace`.
        unsafe { Header::trace_nodes(node.0, found) };
    }

    #[inline(always)]
    unsafe fn is_node(&self, target: HeaderNode) -> bool {
        // SAFETY: a root, or a target reported by `Trace`, backed by a strong count: live.
        // Reading its flags races with nothing: during a marking no other thread writes them (a
        // sequential retiring walk clears a retired node's flags on the marking thread itself).
        unsafe { Header::from_ptr(target.0) }.has(self.members)
    }
}

/// A target at most this many bytes behind the finger is tested at once: the walk passed its line
/// recently, so it is likely still cached.
const NEAR_BEHIND: usize = 64 * 1024;

/// A target less than this many bytes ahead of the finger is tested at once: the walk prefetches
/// that far ahead ([`walk_reaches`](FingerGraph::walk_reaches)), so its line is cached or on its
/// way. Measured against 1 KiB (the hardware prefetcher's stream alone), `full_collection`
/// `mark-sweep:1`, two alternating runs: `local` 27.4–28.9 ms → 22.9–23.4, `fields-local`
/// 16.1–16.2 → 14.2–15.0; `random` and `fields-random` within noise.
const NEAR_AHEAD: usize = WALK_AHEAD;

// SAFETY: as for `Graph`; a root is an object with `gc_refs > 0`, the count below the finger's
// bits that trial deletion's first pass leaves in the scratch word and nobody changes while
// marking.
unsafe impl FingerGraph for HeaderGraph {
    /// `gc_refs > 0`: referenced from outside the examined set.
    #[inline(always)]
    fn is_root(&self, word: usize) -> bool {
        word > 0
    }

    /// Within 64 KiB behind or [`WALK_AHEAD`] bytes ahead: the walk goes down the list in
    /// allocation order, which the pool allocator makes address order.
    #[inline(always)]
    fn is_near(&self, finger: HeaderNode, target: HeaderNode) -> bool {
        // `target - finger` in `-NEAR_BEHIND..NEAR_AHEAD`, in one comparison.
        let offset = (target.0.as_ptr() as usize)
            .wrapping_sub(finger.0.as_ptr() as usize)
            .wrapping_add(NEAR_BEHIND);
        offset < NEAR_BEHIND + NEAR_AHEAD
    }

    /// Prefetches [`WALK_AHEAD`] bytes ahead ([`prefetch_walk_ahead`]).
    #[inline(always)]
    fn walk_reaches(&self, node: HeaderNode) {
        prefetch_walk_ahead(node.0.as_ptr());
    }
}

/// Reports every edge of a value to the engine's closure, members or not.
struct Candidates<'a, F> {
    visit: &'a mut F,
}

impl<F: FnMut(HeaderNode)> Visitor for Candidates<'_, F> {
    #[inline]
    fn visit(&mut self, edge: Edge) {
        (self.visit)(HeaderNode(edge));
    }
}

/// A header pointer from a node (for tests and callers that hold `NonNull<Header>`).
impl From<HeaderNode> for NonNull<Header> {
    #[inline(always)]
    fn from(node: HeaderNode) -> Self {
        node.0
    }
}
