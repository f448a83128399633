//! The layout of a thread-shared object: a [`SharedHeader`] followed by the value, and the one
//! place where such an object is allocated, its value dropped and its memory freed.

use std::alloc::Layout;
use std::marker::PhantomData;
use std::mem::{offset_of, ManuallyDrop};
use std::ptr::NonNull;

use gc_core::{Trace, Visitor};

use super::counts::Counts;
use super::runtime::Runtime;
use super::tracked::TrackedLinks;
use super::trashcan;

/// The header in front of every thread-shared value: the links and state the shared collector
/// uses, the per-type record, then the counts of the discipline `C`.
///
/// ## The header
///
/// ```text
/// SharedHeader<C> = [ links: number | state ][ type_info ][ counts: C ]
/// ```
///
/// | discipline | `counts` | header size (64-bit) |
/// |---|---|---|
/// | [`AtomicCounts`](super::AtomicCounts) | one word: the strong count; its top bit says "published in an `AtomicGc`" | 32 bytes |
/// | [`BiasedCounts`](super::BiasedCounts) | three words: owner thread, owner's local count, shared count with 3 flag bits (queued, merged, published) | 48 bytes |
///
/// - `links` (two words, [`TrackedLinks`]): the object's number in the collection examining it,
///   and the collector's state word (dead; old, under the generational schedule). In a free
///   block the first word links the free list (see the `pages` module). A leaf value (one that
///   can hold no handle, `Trace::MAY_CONTAIN_GC == false`) uses only the state word.
/// - `type_info`: the per-type record — layout, drop, trace, name, and the discipline's
///   operations, type-erased. It is what lets a thread that did not create an object free it
///   (the owner merging a queued object) and what the shared collector traces through. It is
///   also how the collector tells the objects in a page from the free blocks: a tracked object
///   that is freed forgets it (`forget_type`) before its block is free.
/// - `counts`: the discipline's counts, last, so that the collector finds `links` and
///   `type_info` at the same offsets whatever the discipline.
///
/// Free-threaded CPython spends 32 bytes (`ob_tid`, `ob_ref_local`, `ob_ref_shared`,
/// `ob_type`) and finds its objects by walking mimalloc's heaps — as the collector here walks the
/// pages — reusing `ob_tid` as `gc_refs` during a collection. The thread-local
/// [`gc_core::Header`] is not reused: its fields are `Cell`s that only one thread may touch.
///
/// There is no weak count yet (no `sync::Weak`).
#[repr(C)]
pub struct SharedHeader<C: 'static> {
    links: TrackedLinks,
    type_info: &'static SharedTypeInfo,
    counts: C,
}

impl<C: 'static> SharedHeader<C> {
    /// The reference counts.
    #[inline(always)]
    pub fn counts(&self) -> &C {
        &self.counts
    }

    /// The collector's links and state.
    #[inline(always)]
    pub(crate) fn links(&self) -> &TrackedLinks {
        &self.links
    }

    /// The header behind a pointer.
    ///
    /// # Safety
    ///
    /// `ptr` points to the header of an object whose memory is allocated for `'a` (the object
    /// may be dead — value dropped — but its memory not yet freed, as during a deferred free).
    #[inline(always)]
    pub(crate) unsafe fn from_ptr<'a>(ptr: NonNull<SharedHeader<C>>) -> &'a SharedHeader<C> {
        // SAFETY: the caller guarantees the memory is allocated for `'a`; every field is an atomic,
        // immutable, or touched only under a lock (the links), so shared references from several
        // threads may coexist.
        unsafe { ptr.as_ref() }
    }
}

/// What a thread-shared object's type contributes: layout, drop and name, and, for the shared
/// collector, its trace and its discipline's operations. Every function takes the object's
/// header address, type-erased; it must be an object of the type (and discipline) that the
/// record was made for.
pub struct SharedTypeInfo {
    /// Layout of the whole allocation (header and value).
    layout: Layout,
    /// Whether the value may hold handles to tracked objects (then the object is tracked).
    pub(crate) tracked: bool,
    /// Drops the value in place.
    pub(crate) drop_value: unsafe fn(NonNull<TrackedLinks>),
    /// The references the collector counts ([`Counts::collector_count`]) and, unless there are
    /// none, the value's shared edges, reported to the visitor: one call per examined object.
    pub(crate) examine: unsafe fn(NonNull<TrackedLinks>, &mut dyn Visitor) -> usize,
    /// [`Counts::hold_for_teardown`].
    pub(crate) hold_for_teardown: unsafe fn(NonNull<TrackedLinks>),
    /// Gives up one reference ([`Counts::decrement`]).
    pub(crate) release: unsafe fn(NonNull<TrackedLinks>),
    /// `std::any::type_name` of the value.
    type_name: fn() -> &'static str,
}

impl SharedTypeInfo {
    /// The value type's name.
    pub fn name(&self) -> &'static str {
        (self.type_name)()
    }
}

/// The type record of the object at `obj`.
///
/// # Safety
///
/// `obj` is the header of an allocated shared object (of any discipline).
#[inline]
pub(crate) unsafe fn type_info_of(obj: NonNull<TrackedLinks>) -> &'static SharedTypeInfo {
    // SAFETY: the object is allocated, so its record is set.
    unsafe {
        *type_info_field(obj)
            .cast::<&'static SharedTypeInfo>()
            .as_ptr()
    }
}

/// Where the type record of the object (or free block) at `obj` is.
///
/// # Safety
///
/// `obj` starts an allocated block at least a header long.
#[inline(always)]
unsafe fn type_info_field(obj: NonNull<TrackedLinks>) -> NonNull<u8> {
    // SAFETY: `SharedHeader` is `#[repr(C)]` with `links` first and `type_info` second, so for
    // every discipline the record sits right after the links, inside the block.
    unsafe {
        obj.cast::<u8>()
            .add(offset_of!(SharedHeader<()>, type_info))
    }
}

/// The type record of the object in a block, if the block holds one whose type the collector may
/// look at: `None` for a tracked object freed normally ([`forget_type`]).
///
/// # Safety
///
/// `block` is a block handed out by the pages (in use or free); no thread writes its
/// `type_info` during the call (the world is stopped).
#[inline]
pub(crate) unsafe fn type_info_in(block: NonNull<TrackedLinks>) -> Option<&'static SharedTypeInfo> {
    // SAFETY: a block handed out is allocated and a header long; the word is a record's
    // address or null (`forget_type`), both valid for `Option<&'static _>`, and no thread writes
    // it now (the caller's promise).
    unsafe {
        *type_info_field(block)
            .cast::<Option<&'static SharedTypeInfo>>()
            .as_ptr()
    }
}

/// Clears the type record of a tracked object whose count has reached zero for good and whose
/// value is dropped, so that a collection walking its page skips it from now on, whether its
/// memory goes back now or after an epoch.
///
/// # Safety
///
/// `obj` is such an object, the current thread holds heap access (no collection is walking the
/// pages), and nothing reads the object's type record after the call.
pub(crate) unsafe fn forget_type(obj: NonNull<TrackedLinks>) {
    // SAFETY: an allocated object; the caller's promise that nobody reads or writes the word now.
    unsafe {
        type_info_field(obj)
            .cast::<Option<&'static SharedTypeInfo>>()
            .write(None)
    };
}

/// One thread-shared object: the header, then the value.
#[repr(C)]
pub(crate) struct SharedBox<T, C: 'static> {
    header: SharedHeader<C>,
    value: ManuallyDrop<T>,
}

impl<T: Trace + Send + Sync + 'static, C: Counts> SharedBox<T, C> {
    const TYPE_INFO: &'static SharedTypeInfo = &SharedTypeInfo {
        layout: Layout::new::<SharedBox<T, C>>(),
        tracked: T::MAY_CONTAIN_GC,
        drop_value: Self::drop_erased,
        examine: Self::examine_erased,
        hold_for_teardown: Self::hold_erased,
        release: Self::release_erased,
        type_name: std::any::type_name::<T>,
    };

    /// Allocates an object holding `value`, its counts made by `counts` (one reference, held by
    /// the caller), and tracks it if its value may hold handles.
    pub(crate) fn allocate(value: T, counts: C) -> NonNull<SharedHeader<C>> {
        let layout = Layout::new::<SharedBox<T, C>>();
        // SAFETY: `SharedBox` contains a header of several words, so `layout` is non-zero.
        let raw = unsafe { C::Runtime::alloc(layout, T::MAY_CONTAIN_GC) };
        let Some(ptr) = NonNull::new(raw.cast::<SharedBox<T, C>>()) else {
            std::alloc::handle_alloc_error(layout)
        };
        // SAFETY: `ptr` was just allocated with `SharedBox<T, C>`'s layout and is not shared yet.
        unsafe {
            ptr.write(SharedBox {
                header: SharedHeader {
                    links: TrackedLinks::new(),
                    type_info: Self::TYPE_INFO,
                    counts,
                },
                value: ManuallyDrop::new(value),
            });
        }
        if T::MAY_CONTAIN_GC {
            // SAFETY: the object is live, allocated by the runtime, and not shared yet.
            unsafe { C::Runtime::track(ptr.cast()) };
        }
        ptr.cast()
    }

    /// The value of the object whose header is `header`.
    ///
    /// # Safety
    ///
    /// `header` is the header of an allocated `SharedBox<T, C>` for this very `T`.
    #[inline(always)]
    pub(crate) unsafe fn value_ptr(header: NonNull<SharedHeader<C>>) -> NonNull<T> {
        // SAFETY: the header is the first field of a `#[repr(C)]` `SharedBox<T, C>`, so the
        // pointer to it (which carries the allocation's provenance) is the pointer to the box,
        // and the value sits `offset_of!(value)` bytes further inside the same allocation.
        unsafe {
            header
                .cast::<u8>()
                .add(offset_of!(SharedBox<T, C>, value))
                .cast::<T>()
        }
    }

    /// # Safety
    /// `obj` is an allocated `SharedBox<T, C>` whose value is initialised; it is dropped
    /// exactly once, here.
    unsafe fn drop_erased(obj: NonNull<TrackedLinks>) {
        // SAFETY: `TYPE_INFO` pairs this function with `SharedBox<T, C>` only; the caller
        // guarantees the value is initialised and never dropped again.
        unsafe { std::ptr::drop_in_place(Self::value_ptr(obj.cast()).as_ptr()) }
    }

    /// # Safety
    /// `obj` is an allocated `SharedBox<T, C>` whose value, if its collector count is not zero,
    /// is initialised and not mutated by any thread during the call (the world is stopped;
    /// `GcLock`s the value holds are read only if free, never waited for). A count of zero means
    /// the value may be being dropped: it is not read.
    unsafe fn examine_erased(obj: NonNull<TrackedLinks>, visitor: &mut dyn Visitor) -> usize {
        // SAFETY: allocated, so its header can be read.
        let count = unsafe { SharedHeader::<C>::from_ptr(obj.cast()) }
            .counts()
            .collector_count();
        if count != 0 {
            // SAFETY: a counted object's value is initialised (the caller's promise) and only
            // read here.
            unsafe { Self::value_ptr(obj.cast()).as_ref() }.trace(visitor);
        }
        count
    }

    /// # Safety
    /// As [`Counts::hold_for_teardown`].
    unsafe fn hold_erased(obj: NonNull<TrackedLinks>) {
        // SAFETY: the caller's promise, passed on.
        unsafe {
            SharedHeader::<C>::from_ptr(obj.cast())
                .counts()
                .hold_for_teardown()
        }
    }

    /// # Safety
    /// As [`Counts::decrement`].
    unsafe fn release_erased(obj: NonNull<TrackedLinks>) {
        // SAFETY: the caller's promise, passed on.
        unsafe { C::decrement(obj.cast()) }
    }
}

/// Whether a free may be seen by a concurrent [`AtomicGc::load`](super::AtomicGc::load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// The object was never stored in an `AtomicGc`: no thread can reach it without holding a
    /// reference, so its memory goes back at once.
    No,
    /// The object was stored in an `AtomicGc`: a loader may have read its address and be about to
    /// try to increment its count, so its memory is freed only after an epoch grace period.
    Yes,
}

/// Frees an object whose count has reached zero: drops the value now, on this thread, and
/// returns the memory — at once, or through the runtime's epoch if the object was `published`.
///
/// # Safety
///
/// `obj` is a live object (value initialised, memory allocated) whose count has just reached
/// zero for good: no reference to it remains and none can be made (a racing
/// [`Counts::try_increment`] fails from now on). Each object is freed exactly once.
pub(crate) unsafe fn free<C: Counts>(obj: NonNull<SharedHeader<C>>, published: Published) {
    // A thread in a blocking section (or exiting) waits here for a running collection to end:
    // the collector may be examining this object, or (if the count reached zero while it ran)
    // have skipped it as "being freed", and this free drops its value and untracks it.
    let _access = C::Runtime::enter_heap();
    // SAFETY: unreachable, and (if tracked and not torn down by a collection) still tracked
    // with a count of zero, which a collection skips; `finish::<C>` matches the object's
    // discipline, and runs within this heap access (nested frees run inside this one's `Drop`,
    // queued ones before the outermost free returns).
    unsafe { trashcan::release(obj.cast(), published, finish::<C>) };
}

/// The rest of [`free`]: drops the value (unless a collection did), then untracks the object if
/// it is tracked ([`Runtime::untrack`]) and returns the memory — at once, or through the
/// runtime's epoch if the object was `published`.
///
/// While the value drops, a tracked object is still tracked, with a count of zero: a
/// collection that runs meanwhile (a `Drop` that allocates reaches a safepoint) skips it as
/// "being freed" and never reads its value.
///
/// # Safety
///
/// As [`free`]'s.
unsafe fn finish<C: Counts>(obj: NonNull<TrackedLinks>, published: Published) {
    let obj = obj.cast::<SharedHeader<C>>();
    // SAFETY: the memory is allocated until the `Dealloc` below runs.
    let header = unsafe { SharedHeader::from_ptr(obj) };
    let info = header.type_info;
    let dead = header.links().is_dead();

    /// Returns the memory even if the value's `Drop` panics: `drop_in_place` has dropped the
    /// remaining fields while unwinding, and nothing will read the value again.
    struct Dealloc<C: Counts> {
        obj: NonNull<SharedHeader<C>>,
        layout: Layout,
        published: Published,
        /// Still tracked (tracked, and not torn down by a collection: the collection's walks skip
        /// what it flagged dead).
        tracked: bool,
        _counts: PhantomData<C>,
    }
    impl<C: Counts> Drop for Dealloc<C> {
        fn drop(&mut self) {
            if self.tracked {
                // SAFETY: a tracked object, count zero for good, value dropped; the caller of
                // `free` holds heap access, and nothing reads the type record after this.
                unsafe { C::Runtime::untrack(self.obj.cast()) };
            }
            // SAFETY: allocated by `C::Runtime::alloc` with this layout (`allocate`), not
            // tracked (untracked above, never tracked, or flagged dead by the collection that
            // tore it down), and unreachable: no reference remains, and a loader that could
            // still read a published header pinned the epoch before reading its address from the
            // slot.
            unsafe { C::Runtime::dealloc_published(self.obj.cast(), self.layout, self.published) };
        }
    }

    let _dealloc = Dealloc::<C> {
        obj,
        layout: info.layout,
        published,
        tracked: info.tracked && !dead,
        _counts: PhantomData,
    };
    if !dead {
        // SAFETY: the value is initialised and, the count being zero for good, no one else drops
        // or reads it; `drop_value` belongs to this object's type.
        unsafe { (info.drop_value)(obj.cast()) };
    }
}

/// The address of a header, for comparisons.
#[inline]
pub(crate) fn addr<C: 'static>(obj: NonNull<SharedHeader<C>>) -> *const () {
    obj.as_ptr().cast_const().cast()
}

#[cfg(test)]
mod tests {
    use super::super::{AtomicCounts, BiasedCounts};
    use super::SharedHeader;

    /// The sizes the type's docs give.
    #[test]
    fn header_sizes_are_the_documented_ones() {
        if cfg!(target_pointer_width = "64") {
            assert_eq!(std::mem::size_of::<SharedHeader<AtomicCounts>>(), 32);
            assert_eq!(std::mem::size_of::<SharedHeader<BiasedCounts>>(), 48);
        }
    }
}
