//! The cycle-detector axis: given the objects to examine, which of them are garbage.
//!
//! Reference counting frees everything except cycles. A detector looks at a set of tracked
//! objects (the generations a scheduler chose, spliced into one list) and moves the ones that
//! nothing outside the set keeps alive into a garbage list. The heap then tears the garbage down;
//! a detector never frees anything itself.

use crate::discipline::Discipline;
use crate::list::ObjectList;
use crate::trace::Edge;

/// What a detector is given to examine.
#[derive(Debug)]
pub struct Examined<'a> {
    /// The tracked objects of the generations being collected, spliced into one list. Objects
    /// that survive stay in it.
    pub objects: &'a ObjectList,
    /// Cycle candidates recorded by the buffered discipline since the last collection: live,
    /// tracked objects flagged [`BUFFERED`](crate::header::flags::BUFFERED), each once. Empty
    /// under other disciplines. A detector that uses them clears the flag of each one it takes
    /// out; whatever it leaves stays buffered for the next collection.
    pub candidates: &'a mut Vec<Edge>,
    /// The oldest generation examined: `objects` holds generations `0..=generation`.
    ///
    /// Every tracked object carries its generation's number in its header
    /// ([`flags::GENERATION_SHIFT`](crate::header::flags::GENERATION_SHIFT)). The heap keeps the
    /// tag exact wherever it moves objects between generations itself (allocation, freeze and
    /// unfreeze, restoring after a panic, garbage kept for `gc.garbage`); the survivors of a
    /// collection are tagged by the detector, which touches each of them anyway. A detector that
    /// reads the tags to tell members from other objects (`TrialDeletion`, `MarkSweep`: a tracked
    /// object tagged `generation` or younger is a member) must therefore tag every survivor with
    /// [`survivors_to`](Self::survivors_to); one that does not read them may leave them stale,
    /// since a heap's detector never changes while it holds objects.
    pub generation: usize,
    /// The generation the survivors move to after the detection.
    pub survivors_to: usize,
}

/// What one detection pass saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detection {
    /// Objects in the examined set.
    pub examined: usize,
    /// Objects moved to the garbage list.
    pub garbage: usize,
    /// Whether the marking was split over several threads (a parallel detector's choice, which
    /// a researcher comparing it with one walk needs to see); `false` for one walk on the
    /// collecting thread.
    pub split: bool,
}

/// Decides which examined objects are garbage.
///
/// # Safety
///
/// The heap frees every object a detector moves to `garbage`, so an implementation promises that
/// it moves only objects that are unreachable: referenced neither by a handle outside the heap
/// nor by any object outside `garbage`, directly or through other objects. It leaves every other
/// object in `examined`, leaves no object in both lists, and clears the
/// [collection marks](crate::header::flags::COLLECTION_MARKS) of the survivors before it returns.
/// Every object it moves to `garbage` leaves with
/// [`UNREACHABLE`](crate::header::flags::UNREACHABLE) set (its other collection marks may stay):
/// while the values of the garbage drop, the heap tells its members from live objects by that
/// flag alone, and would free a member whose count reaches zero without it.
pub unsafe trait CycleDetector {
    /// A short name for reports (`"trial-deletion"`).
    fn name(&self) -> &'static str;

    /// The refcount disciplines this detector works with (a heap configuration pairing it with
    /// another is refused). By default the immediate and the deferred ones: a detector that
    /// examines generations finds zero-count objects as garbage like any other.
    fn disciplines(&self) -> &'static [Discipline] {
        &[Discipline::Immediate, Discipline::Deferred]
    }

    /// Moves garbage into `garbage` (which starts empty): objects of `examined.objects`, or — for a
    /// detector that works from candidates — objects anywhere in the heap, unlinked from whatever
    /// list they are in.
    ///
    /// # Safety
    ///
    /// Every object in `examined.objects` and `examined.candidates`, and every tracked object
    /// reachable from them, is live, of this thread's heap, linked into one of its lists, with a
    /// valid `Trace`; the strong counts of all objects are exact (no handle is being created or
    /// dropped while the detector runs); both lists stay alive for the call.
    unsafe fn find_garbage(&mut self, examined: Examined<'_>, garbage: &ObjectList) -> Detection;
}
