//! The two visitors of CPython's trial deletion (`visit_decref` and `visit_reachable` in
//! `Modules/gcmodule.c`), compiled once per managed type.
//!
//! Trial deletion traces every examined object twice, and its per-edge work is a flag test and
//! a write to the target's scratch word. Through [`TypeInfo::trace`](crate::TypeInfo::trace) each
//! of those edges would cost an indirect call into the visitor (`&mut dyn Visitor`). Instead,
//! every [`TypeInfo`](crate::TypeInfo) carries [`TypeInfo::trace_decref`] and
//! [`TypeInfo::trace_reachable`]: the type's `Trace` impl instantiated with these two visitors,
//! where the compiler inlines the visit into the traversal. The visitors live here, beside the
//! header whose flags and scratch word they update, so that `gc-core` can build those entries for
//! every type; the detectors that run the passes (`gc-refcount`'s `TrialDeletion` and
//! `MarkSweep`) call them through [`Header::trace_decref`] and [`Header::trace_reachable`].
//!
//! [`TypeInfo::trace_decref`]: crate::TypeInfo::trace_decref
//! [`TypeInfo::trace_reachable`]: crate::TypeInfo::trace_reachable

use crate::header::{flags, Header};
use crate::list::ObjectList;
use crate::trace::{Edge, Visitor};

/// CPython's `visit_decref`: subtracts one from the scratch word (`gc_refs`) of every target
/// flagged [`flags::EXAMINED`], leaving in it the references from outside the examined set.
///
/// With `below > 0` it also lets one pass do the work of CPython's two (`update_refs` then
/// `subtract_refs`): a tracked target not examined yet whose generation tag is below `below` is a
/// member of the set that the walk over the set has not reached; it is flagged examined and its
/// `gc_refs` starts from its strong count, here, before the subtraction. That relies on exact tags
/// (see [`Examined::generation`](crate::Examined::generation)); `below == 0` never does it.
///
/// # Panics
///
/// On an edge to an examined object whose `gc_refs` is already 0: more edges than its strong
/// count holds (a false edge, see the safety rules of [`Trace`](crate::Trace)).
///
/// Crate-private: only [`TypeInfo::trace_decref`](crate::TypeInfo::trace_decref) builds one, and
/// shows it nothing but the edges of a live object's value, whose targets are live.
pub(crate) struct VisitDecref {
    /// The object being traced, named in the panic message of a false edge.
    pub(crate) source: Edge,
    /// Tracked objects tagged with a generation below this are members of the examined set.
    pub(crate) below: u32,
}

/// Makes `header`'s object part of the examined set: flags it examined and copies its strong
/// count into `gc_refs` (CPython's `update_refs` for one object).
#[inline(always)]
pub fn start_examining(header: &Header) {
    header.set(flags::EXAMINED);
    header.set_scratch(header.strong());
}

impl Visitor for VisitDecref {
    #[inline(always)]
    fn visit(&mut self, edge: Edge) {
        // SAFETY: an edge reported by `Trace` is backed by a strong count, so its target is live.
        let target = unsafe { Header::from_ptr(edge) };
        let bits = target.flags();
        if bits & flags::EXAMINED == 0 {
            let member = bits & flags::TRACKED != 0
                && (bits & flags::GENERATION) >> flags::GENERATION_SHIFT < self.below;
            if !member {
                return;
            }
            start_examining(target);
        }
        let refs = target.scratch();
        if refs == 0 {
            // SAFETY: the source is the live object being traced.
            unsafe { false_edge(self.source, target) };
        }
        target.set_scratch(refs - 1);
    }
}

/// Panics for an edge that has no strong count behind it, naming the types of both ends.
///
/// # Safety
///
/// `source` is the header of a live object (the one whose `Trace` reported the edge).
#[cold]
#[inline(never)]
pub unsafe fn false_edge(source: Edge, target: &Header) -> ! {
    // SAFETY: the caller's promise.
    let source = unsafe { Header::from_ptr(source) }.type_info().name();
    panic!(
        "gclab: the Trace impl of {source} reported more references to a {} than its strong \
         count holds (a false edge; see the safety rules of gc_core::Trace). Collection aborted; \
         nothing was freed.",
        target.type_info().name()
    )
}

/// CPython's `visit_reachable`, run on an object known to be reachable: every examined target
/// not yet known reachable gets `gc_refs = 1` (to be scanned when the list walk reaches it), and a
/// target that was set aside as tentatively unreachable ([`flags::UNREACHABLE`]) is moved back to
/// the end of `young` so that the walk reaches it again.
pub struct VisitReachable<'a> {
    /// The list being walked, to which rescued objects are appended.
    young: &'a ObjectList,
    /// How many objects are in the tentatively unreachable list; each rescue subtracts one.
    pub unreachable: usize,
}

impl<'a> VisitReachable<'a> {
    /// A visitor for `move_unreachable`'s walk over `young`, with no object set aside yet.
    ///
    /// # Safety
    ///
    /// The visitor dereferences, and may unlink and re-link, what it is shown. Until it is
    /// dropped it may only be shown the edges that `Trace` impls of live objects report during
    /// one trial-deletion pass over `young`: every target is live, and a target flagged
    /// [`flags::UNREACHABLE`] is linked into a list of live objects.
    pub unsafe fn new(young: &'a ObjectList) -> Self {
        VisitReachable {
            young,
            unreachable: 0,
        }
    }
}

impl Visitor for VisitReachable<'_> {
    #[inline(always)]
    fn visit(&mut self, edge: Edge) {
        // SAFETY: the targets shown are live (the promise of `VisitReachable::new`'s caller).
        let target = unsafe { Header::from_ptr(edge) };
        if !target.has(flags::EXAMINED) || target.scratch() > 0 {
            return; // outside the set, or already known reachable
        }
        target.set_scratch(1);
        if target.has(flags::UNREACHABLE) {
            target.clear(flags::UNREACHABLE);
            // SAFETY: a target flagged UNREACHABLE is linked into a list of live objects (the
            // promise of `VisitReachable::new`'s caller); once unlinked it is in no list, so it
            // may be pushed onto `young`.
            unsafe {
                ObjectList::unlink(edge);
                self.young.push_back(edge);
            }
            self.unreachable -= 1;
        }
    }
}
