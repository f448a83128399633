//! The object header: the part of every managed object that the collector reads.
//!
//! Every managed object is one allocation laid out as [`ObjectBox<T>`](crate::ObjectBox): a
//! `Header` followed by the value. The header is 48 bytes on a 64-bit target, six words:
//!
//! | word | field | why it is there |
//! |---|---|---|
//! | 0–1 | `links` (prev, next) | the intrusive, doubly linked tracked-object list (a generation) the object is in: O(1) link and unlink, no side table. Untracked (leaf) objects leave it null; the refcount free path reuses `next` as its pending-free stack (the trashcan). |
//! | 2 | `strong` | the reference count: live `Gc` handles plus references from other objects. |
//! | 3 | `weak` (32 bits) + `flags` (32 bits) | weak handles keep the *memory* alive (not the value) so `Weak::upgrade` can answer `None` safely; `flags` holds the object's state (tracked, value dropped, …), its generation's number and the collector's per-object marks. |
//! | 4 | `scratch` | one word the current collection may use as it likes: CPython's `gc_refs`, a colour, a mark. |
//! | 5 | `type_info` | the per-type static record: layout, trace, drop and name. CPython's `ob_type`. |
//!
//! CPython spends 32 bytes on the same duties (16 of `PyObject` + 16 of `PyGC_Head`); gclab
//! spends 16 more for a full-width count, the weak count and a scratch word that keeps collection
//! state out of the list pointers (CPython packs flags into the low bits of its pointers).

use std::cell::Cell;
use std::ptr::{self, NonNull};
use std::sync::atomic::AtomicUsize;

use crate::type_info::TypeInfo;

/// The links of an intrusive doubly linked list. The first field of [`Header`], so that a pointer
/// to an object's links is a pointer to its header; a list's sentinel is a bare `Links`.
#[repr(C)]
#[derive(Debug)]
pub struct Links {
    pub(crate) prev: Cell<*const Links>,
    pub(crate) next: Cell<*const Links>,
}

impl Links {
    /// Links that belong to no list.
    pub(crate) const fn unlinked() -> Self {
        Links {
            prev: Cell::new(ptr::null()),
            next: Cell::new(ptr::null()),
        }
    }
}

/// Bits of [`Header::flags`].
///
/// The low 16 bits describe the object's state and stay set across collections; the high 16 bits
/// are marks that a collection sets and clears before it ends.
pub mod flags {
    /// The object is a container, linked into one of its heap's tracked-object lists.
    pub const TRACKED: u32 = 1 << 0;
    /// The value is unreachable: weak handles no longer upgrade. Set when the strong count reaches
    /// zero or when a collection finds the object to be garbage.
    pub const DEAD: u32 = 1 << 1;
    /// The value's `Drop` is running: dereferencing a handle to it panics.
    pub const DROPPING: u32 = 1 << 2;
    /// The value has been dropped; the memory lives on only for handles that still point to it.
    pub const DROPPED: u32 = 1 << 3;
    /// Either bit means the value may not be read any more.
    pub const VALUE_GONE: u32 = DROPPING | DROPPED;
    /// The object's heap uses the buffered discipline (Bacon–Rajan): a decrement that leaves the
    /// count above zero records the object as a cycle candidate. Set at allocation, so the
    /// decrement path tests a bit of the header it has just written instead of asking the heap.
    pub const BUFFER_ON_DECREMENT: u32 = 1 << 4;
    /// The object is in its heap's candidate buffer (Bacon–Rajan's "purple"); its memory is not
    /// freed while it is there, even if its count reaches zero.
    pub const BUFFERED: u32 = 1 << 5;
    /// Where the generation tag starts: bits 8 to 10 hold the number of the generation whose
    /// list the object is in ([`PERMANENT_GENERATION`] for the permanent one). New objects are
    /// tagged 0. Only heaps whose detector reads the tag keep it exact (see
    /// [`Examined::generation`](crate::Examined::generation)).
    pub const GENERATION_SHIFT: u32 = 8;
    /// Mask of the generation tag.
    pub const GENERATION: u32 = 0b111 << GENERATION_SHIFT;
    /// The tag of the permanent generation (`gc.freeze`): above every collectable generation.
    pub const PERMANENT_GENERATION: u32 = 0b111;

    /// The tag of generation `generation` (a generation number beyond the tag's range, which no
    /// schedule uses, saturates at [`PERMANENT_GENERATION`]).
    #[inline(always)]
    pub fn generation_tag(generation: usize) -> u32 {
        u32::try_from(generation).map_or(PERMANENT_GENERATION, |g| g.min(PERMANENT_GENERATION))
    }

    /// Collection mark: the object is in the set being examined.
    pub const EXAMINED: u32 = 1 << 16;
    /// Collection mark: the object is tentatively (or finally) unreachable.
    pub const UNREACHABLE: u32 = 1 << 17;
    /// Collection mark: the object has been reached by a tracing pass (Bacon–Rajan: grey).
    pub const MARKED: u32 = 1 << 18;
    /// Collection mark: Bacon–Rajan's white, found unreachable by `Scan`.
    pub const WHITE: u32 = 1 << 19;
    /// Mask of every collection mark.
    pub const COLLECTION_MARKS: u32 = 0xffff_0000;
}

/// The header in front of every managed value. See the [module docs](self) for its layout.
#[repr(C)]
#[derive(Debug)]
pub struct Header {
    links: Links,
    strong: Cell<usize>,
    weak: Cell<u32>,
    flags: Cell<u32>,
    scratch: Cell<usize>,
    type_info: &'static TypeInfo,
}

impl Header {
    /// A header for a new object with one strong reference and no weak one, not yet tracked.
    pub const fn new(type_info: &'static TypeInfo) -> Self {
        Header {
            links: Links::unlinked(),
            strong: Cell::new(1),
            weak: Cell::new(0),
            flags: Cell::new(0),
            scratch: Cell::new(0),
            type_info,
        }
    }

    /// The header behind an edge or a handle.
    ///
    /// # Safety
    ///
    /// `ptr` points to the header of an object whose memory has not been freed, and stays so for
    /// the lifetime `'a` chosen by the caller.
    #[inline(always)]
    pub unsafe fn from_ptr<'a>(ptr: NonNull<Header>) -> &'a Header {
        // SAFETY: the caller guarantees the header is allocated for `'a`; every field is a `Cell`
        // or immutable, so shared references to it may coexist with the collector's own.
        unsafe { ptr.as_ref() }
    }

    /// The per-type record of this object.
    #[inline(always)]
    pub fn type_info(&self) -> &'static TypeInfo {
        self.type_info
    }

    /// The strong count: handles plus references from other objects.
    #[inline(always)]
    pub fn strong(&self) -> usize {
        self.strong.get()
    }

    /// Sets the strong count.
    #[inline(always)]
    pub fn set_strong(&self, count: usize) {
        self.strong.set(count);
    }

    /// Adds one strong reference. Aborts the process on overflow, as `Rc` does: the count cannot
    /// be allowed to wrap.
    #[inline(always)]
    pub fn inc_strong(&self) {
        let count = self.strong.get().wrapping_add(1);
        if count == 0 {
            std::process::abort();
        }
        self.strong.set(count);
    }

    /// Removes one strong reference and returns the new count.
    #[inline(always)]
    pub fn dec_strong(&self) -> usize {
        let count = self.strong.get() - 1;
        self.strong.set(count);
        count
    }

    /// The number of weak handles.
    #[inline(always)]
    pub fn weak(&self) -> u32 {
        self.weak.get()
    }

    /// Adds a weak handle. Aborts the process on overflow.
    #[inline]
    pub fn inc_weak(&self) {
        let count = self.weak.get().wrapping_add(1);
        if count == 0 {
            std::process::abort();
        }
        self.weak.set(count);
    }

    /// Removes a weak handle and returns the new count.
    #[inline]
    pub fn dec_weak(&self) -> u32 {
        let count = self.weak.get() - 1;
        self.weak.set(count);
        count
    }

    /// All flag bits (see [`flags`]).
    #[inline(always)]
    pub fn flags(&self) -> u32 {
        self.flags.get()
    }

    /// Whether every bit of `mask` is set.
    #[inline(always)]
    pub fn has(&self, mask: u32) -> bool {
        self.flags.get() & mask == mask
    }

    /// Whether any bit of `mask` is set.
    #[inline(always)]
    pub fn has_any(&self, mask: u32) -> bool {
        self.flags.get() & mask != 0
    }

    /// Sets the bits of `mask`.
    #[inline(always)]
    pub fn set(&self, mask: u32) {
        self.flags.set(self.flags.get() | mask);
    }

    /// Clears the bits of `mask`.
    #[inline(always)]
    pub fn clear(&self, mask: u32) {
        self.flags.set(self.flags.get() & !mask);
    }

    /// Clears the collection marks and tags the object with `generation` (at most
    /// [`flags::PERMANENT_GENERATION`]) in one write: what a surviving object needs when a
    /// collection moves it to that generation.
    #[inline(always)]
    pub fn clear_marks_into(&self, generation: u32) {
        debug_assert!(generation <= flags::PERMANENT_GENERATION);
        let kept = self.flags.get() & !(flags::COLLECTION_MARKS | flags::GENERATION);
        self.flags
            .set(kept | (generation << flags::GENERATION_SHIFT));
    }

    /// The collection scratch word.
    #[inline(always)]
    pub fn scratch(&self) -> usize {
        self.scratch.get()
    }

    /// Sets the collection scratch word.
    #[inline(always)]
    pub fn set_scratch(&self, value: usize) {
        self.scratch.set(value);
    }

    /// The scratch word seen as an `AtomicUsize`, for collection work that several threads share
    /// (the parallel marker's test-and-set mark, [`crate::mark`]).
    ///
    /// Every other accessor of the header is single-threaded: its fields are `Cell`s and `Header`
    /// is not `Sync`. This view is the one way for several threads to update a header at once,
    /// and it covers exactly one word: `Cell<usize>` has the layout of `usize`, and
    /// `AtomicUsize` has the size and (checked at compile time below) the alignment of `usize`.
    ///
    /// # Safety
    ///
    /// For as long as the view (or another atomic view of the same word) is in use, no
    /// non-atomic access to the scratch word ([`Header::scratch`], [`Header::set_scratch`], on any
    /// thread) may be concurrent with an atomic one: each must be ordered with all atomic accesses
    /// by happens-before. This is `AtomicUsize::from_ptr`'s rule against mixing atomic and
    /// non-atomic accesses.
    ///
    /// The parallel marker keeps it so: the heap's thread writes `gc_refs` with plain stores
    /// *before* it starts the workers (starting a thread happens-before everything the thread
    /// does); while they run, that thread is blocked in the collection and the workers touch the
    /// word only through this view; it reads the marks with plain loads *after* joining them
    /// (everything a thread did happens-before the join returns).
    #[inline(always)]
    pub unsafe fn scratch_atomic(&self) -> &AtomicUsize {
        const {
            assert!(std::mem::align_of::<AtomicUsize>() == std::mem::align_of::<usize>());
        }
        // SAFETY: `AtomicUsize::from_ptr`'s requirements hold because:
        //  [1] `Cell::as_ptr` gives a pointer valid for reads and writes of the `usize` for as long
        //      as `self` is borrowed (a `Cell` may be written through a shared reference);
        //  [2] the word is aligned for `AtomicUsize`, whose alignment is `usize`'s (asserted above);
        //  [3] no non-atomic access races with the atomic ones: the caller's promise.
        unsafe { AtomicUsize::from_ptr(self.scratch.as_ptr()) }
    }

    /// Whether the object is linked into a list.
    #[inline]
    pub fn is_linked(&self) -> bool {
        !self.links.next.get().is_null()
    }

    pub(crate) fn links(&self) -> &Links {
        &self.links
    }

    /// The next object on the pending-free stack that the refcount free path threads through the
    /// `next` link of objects that are in no list.
    #[inline]
    pub fn pending_next(&self) -> Option<NonNull<Header>> {
        debug_assert!(self.links.prev.get().is_null());
        NonNull::new(self.links.next.get().cast_mut().cast::<Header>())
    }

    /// Stores the pending-free stack link (see [`Header::pending_next`]).
    ///
    /// # Safety
    ///
    /// The object is in no list (its links are unused), and `next` is null or an object in the
    /// same situation.
    #[inline]
    pub unsafe fn set_pending_next(&self, next: Option<NonNull<Header>>) {
        debug_assert!(self.links.prev.get().is_null());
        let next = next.map_or(ptr::null(), |p| p.as_ptr().cast_const().cast::<Links>());
        self.links.next.set(next);
    }

    /// Reports the value's edges to `visitor`. Does nothing once the value is gone.
    ///
    /// # Safety
    ///
    /// `this` points to a live header (memory not freed) of an object whose value, unless flagged
    /// [`flags::VALUE_GONE`], is initialised and not mutably borrowed by safe code in a way that
    /// conflicts with a shared read (`GcCell` guards itself).
    #[inline]
    pub unsafe fn trace(this: NonNull<Header>, visitor: &mut dyn Visitor) {
        // SAFETY: the caller guarantees the header is live.
        let header = unsafe { Header::from_ptr(this) };
        if !header.has_any(flags::VALUE_GONE) {
            // SAFETY: the value is initialised (not gone) and `trace` was built for its type.
            unsafe { (header.type_info.trace)(this, visitor) }
        }
    }

    /// [`Header::trace`] with CPython's `visit_decref` as the visitor, through the type's
    /// monomorphised entry [`TypeInfo::trace_decref`] (no indirect call per edge).
    ///
    /// Tracked targets not yet examined whose generation tag is below `below` start being
    /// examined when this meets them (see [`gc_core::trial_visitors`](crate::trial_visitors));
    /// `below == 0` never does that.
    ///
    /// # Safety
    ///
    /// As [`Header::trace`].
    #[inline]
    pub unsafe fn trace_decref(this: NonNull<Header>, below: u32) {
        // SAFETY: the caller guarantees the header is live.
        let header = unsafe { Header::from_ptr(this) };
        if !header.has_any(flags::VALUE_GONE) {
            // SAFETY: as in `trace`.
            unsafe { (header.type_info.trace_decref)(this, below) }
        }
    }

    /// [`Header::trace`] into a vector: pushes every edge of the value onto `edges`, through the
    /// type's monomorphised entry [`TypeInfo::trace_into`].
    ///
    /// # Safety
    ///
    /// As [`Header::trace`].
    #[inline]
    pub unsafe fn trace_into(this: NonNull<Header>, edges: &mut Vec<Edge>) {
        // SAFETY: the caller guarantees the header is live.
        let header = unsafe { Header::from_ptr(this) };
        if !header.has_any(flags::VALUE_GONE) {
            // SAFETY: as in `trace`.
            unsafe { (header.type_info.trace_into)(this, edges) }
        }
    }

    /// [`Header::trace`] into a vector of marking nodes: pushes every edge of the value onto
    /// `nodes`, through the type's monomorphised entry [`TypeInfo::trace_nodes`].
    ///
    /// # Safety
    ///
    /// As [`Header::trace`].
    #[inline]
    pub unsafe fn trace_nodes(this: NonNull<Header>, nodes: &mut Vec<HeaderNode>) {
        // SAFETY: the caller guarantees the header is live.
        let header = unsafe { Header::from_ptr(this) };
        if !header.has_any(flags::VALUE_GONE) {
            // SAFETY: as in `trace`.
            unsafe { (header.type_info.trace_nodes)(this, nodes) }
        }
    }

    /// [`Header::trace`] with a [`VisitReachable`] visitor, through the type's monomorphised
    /// entry [`TypeInfo::trace_reachable`].
    ///
    /// # Safety
    ///
    /// As [`Header::trace`].
    #[inline]
    pub unsafe fn trace_reachable(this: NonNull<Header>, visitor: &mut VisitReachable<'_>) {
        // SAFETY: the caller guarantees the header is live.
        let header = unsafe { Header::from_ptr(this) };
        if !header.has_any(flags::VALUE_GONE) {
            // SAFETY: as in `trace`.
            unsafe { (header.type_info.trace_reachable)(this, visitor) }
        }
    }
}

use crate::mark::HeaderNode;
use crate::trace::{Edge, Visitor};
use crate::trial_visitors::VisitReachable;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn header_is_six_words() {
        assert_eq!(std::mem::size_of::<Header>(), 48);
    }
}
