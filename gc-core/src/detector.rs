//! The cycle-detector axis: given the objects to examine, which of them are garbage.
//!
//! Reference counting frees everything except cycles. A detector looks at a set of tracked
//! objects (the generations a scheduler chose, spliced into one list) and moves the ones that
//! nothing outside the set keeps alive into a garbage list. The heap then tears the garbage down;
//! a detector never frees anything itself.

use crate::list::ObjectList;

/// What one detection pass saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detection {
    /// Objects in the examined set.
    pub examined: usize,
    /// Objects moved to the garbage list.
    pub garbage: usize,
}

/// Decides which examined objects are garbage.
///
/// # Safety
///
/// The heap frees every object a detector moves to `garbage`, so an implementation promises that
/// it moves only objects that are unreachable: referenced neither by a handle outside the heap
/// nor by any object outside `garbage`, directly or through other objects. It leaves every other
/// object in `examined`, leaves no object in both lists, and clears the
/// [collection marks](crate::header::flags::COLLECTION_MARKS) of the survivors before it returns
/// (the garbage may keep [`EXAMINED`](crate::header::flags::EXAMINED)).
pub unsafe trait CycleDetector {
    /// A short name for reports (`"trial-deletion"`).
    fn name(&self) -> &'static str;

    /// Moves the garbage among `examined` into `garbage` (which starts empty).
    ///
    /// # Safety
    ///
    /// Every object in `examined` is live, tracked, of this thread's heap, with a valid `Trace`;
    /// the strong counts of all objects are exact (no handle is being created or dropped while the
    /// detector runs); both lists stay alive for the call.
    unsafe fn find_garbage(&mut self, examined: &ObjectList, garbage: &ObjectList) -> Detection;
}
