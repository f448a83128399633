//! [`TrialDeletion`]: CPython's cycle detector (`update_refs`, `subtract_refs`,
//! `move_unreachable` in `Modules/gcmodule.c`).
//!
//! 1. [`gc_refs::compute_by_generation`]: `gc_refs = strong count − references from inside the
//!    set`, in one walk (CPython's `update_refs` and `subtract_refs` take two).
//! 2. `move_unreachable`: walk the examined list once. An object with `gc_refs > 0` is reachable;
//!    each examined child it references gets `gc_refs = 1` (reachable, to be scanned when the walk
//!    gets there), and a child that was already set aside as tentatively unreachable is moved back
//!    to the end of the list so the walk reaches it again. An object with `gc_refs == 0` is moved
//!    to the garbage list, tentatively. When the walk ends, whatever is still in the garbage list
//!    is unreachable.
//!
//! No recursion: the only state is the list cursor, so a 10 000 000-node chain costs no stack.

use gc_core::header::flags;
use gc_core::prefetch::prefetch_walk_ahead;
use gc_core::trial_visitors::VisitReachable;
use gc_core::{CycleDetector, Detection, Examined, Header, ObjectList};

use super::gc_refs;

/// CPython's trial deletion. The default detector.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrialDeletion;

// SAFETY: an object reaches `garbage` only with `gc_refs == 0` and is moved back the moment any
// reachable object is found to reference it; every reachable object is scanned (appended to the
// list walk), so the objects left in `garbage` are exactly those unreachable from roots.
unsafe impl CycleDetector for TrialDeletion {
    fn name(&self) -> &'static str {
        "trial-deletion"
    }

    unsafe fn find_garbage(&mut self, examined: Examined<'_>, garbage: &ObjectList) -> Detection {
        // SAFETY: the caller's promise covers `compute_by_generation`'s, and the tags are exact:
        // the heap keeps them wherever it moves objects, and `move_unreachable` tags every
        // survivor (see `Examined::generation`).
        let members =
            unsafe { gc_refs::compute_by_generation(examined.objects, examined.generation) };
        let survivors_to = flags::generation_tag(examined.survivors_to);
        // SAFETY: as above.
        let unreachable = unsafe { move_unreachable(examined.objects, garbage, survivors_to) };
        Detection {
            examined: members,
            garbage: unreachable,
            split: false,
        }
    }
}

/// Splits `young` (after [`gc_refs::compute_by_generation`]) into reachable objects, left in
/// `young` with their marks cleared and tagged `survivors_to`, and unreachable ones, moved to
/// `unreachable` and flagged. Returns how many are unreachable.
///
/// A reachable object leaves the examined set (its marks are cleared) as soon as it has been
/// scanned; a later edge to it is then ignored, which is right: it is already known reachable.
///
/// # Safety
///
/// Every member of `young` is live; `unreachable` is empty.
unsafe fn move_unreachable(
    young: &ObjectList,
    unreachable: &ObjectList,
    survivors_to: u32,
) -> usize {
    // SAFETY: the visitor is shown only the edges of live members' values during this walk;
    // every object flagged UNREACHABLE is in `unreachable`, whose members are live.
    let mut visitor = unsafe { VisitReachable::new(young) };
    let mut cursor = young.first();
    while let Some(object) = cursor {
        prefetch_walk_ahead(object.as_ptr());
        // SAFETY: members are live.
        let header = unsafe { Header::from_ptr(object) };
        if header.scratch() > 0 {
            // SAFETY: live, tracked, value present.
            unsafe { Header::trace_reachable(object, &mut visitor) };
            // Scanned and known reachable: it leaves the examined set now (as CPython clears
            // its collecting flag here), so later visits skip it and no final pass is needed;
            // it is tagged with the generation it moves to.
            header.clear_marks_into(survivors_to);
            header.set_scratch(0);
            // SAFETY: `object` is still in `young`: the visitor only appends to it.
            cursor = unsafe { young.next(object) };
        } else {
            // SAFETY: `object` is in `young`.
            cursor = unsafe { young.next(object) };
            // SAFETY: `object` is linked into `young`, whose members are live.
            unsafe { ObjectList::unlink(object) };
            header.set(flags::UNREACHABLE);
            // SAFETY: `object` is live and now in no list.
            unsafe { unreachable.push_back(object) };
            visitor.unreachable += 1;
        }
    }
    visitor.unreachable
}
