//! The layout of a thread-shared object: a [`SharedHeader`] followed by the value, and the one
//! place where such an object is allocated, its value dropped and its memory freed.

use std::alloc::Layout;
use std::marker::PhantomData;
use std::mem::{offset_of, ManuallyDrop};
use std::ptr::NonNull;

use super::counts::Counts;
use super::runtime::Runtime;

/// The header in front of every thread-shared value: the counts of the discipline `C`, then the
/// per-type record. Its size, and why each word is there:
///
/// ## The header
///
/// ```text
/// SharedHeader<C> = [ counts: C | type_info: &'static SharedTypeInfo<C> ]
/// ```
///
/// | discipline | `counts` | header size (64-bit) |
/// |---|---|---|
/// | [`AtomicCounts`](super::AtomicCounts) | one word: the strong count; its top bit says "published in an `AtomicGc`" | 16 bytes |
/// | [`BiasedCounts`](super::BiasedCounts) | three words: owner thread, owner's local count, shared count with 3 flag bits (queued, merged, published) | 32 bytes |
///
/// and the last word, `type_info`, is the per-type record: layout, drop, name. It is what lets a
/// thread that did not create an object free it type-erased — the owner merging a queued object
/// (biased counting) — and what the shared collector will trace through when it lands.
///
/// Free-threaded CPython spends the same 32 bytes on the same duties (`ob_tid`, `ob_ref_local`,
/// `ob_ref_shared`, `ob_type`; its GC bits and per-object mutex sit in padding of `ob_tid`'s
/// neighbour). The thread-local [`gc_core::Header`] is not reused: its fields are `Cell`s and
/// its list links and scratch word serve the thread-local collector, which a shared object is
/// not in. The thread-local [`gc_core::TypeInfo`] is not reused either: its functions take a
/// thread-local header and find the value at [`gc_core::ObjectBox`]'s offset, not this one's.
///
/// There is no weak count yet (no `sync::Weak`); the 4 bytes it will need are not taken from
/// anything else, so adding it costs one more word in the worst case.
#[repr(C)]
pub struct SharedHeader<C: 'static> {
    counts: C,
    type_info: &'static SharedTypeInfo<C>,
}

impl<C: 'static> SharedHeader<C> {
    /// The reference counts.
    #[inline(always)]
    pub fn counts(&self) -> &C {
        &self.counts
    }

    /// The header behind a pointer.
    ///
    /// # Safety
    ///
    /// `ptr` points to the header of an object whose memory is allocated for `'a` (the object
    /// may be dead — value dropped — but its memory not yet freed, as during a deferred free).
    #[inline(always)]
    pub(crate) unsafe fn from_ptr<'a>(ptr: NonNull<SharedHeader<C>>) -> &'a SharedHeader<C> {
        // SAFETY: the caller guarantees the memory is allocated for `'a`; every field is an atomic
        // or immutable, so shared references from several threads may coexist.
        unsafe { ptr.as_ref() }
    }
}

/// What a thread-shared object's type contributes to freeing it type-erased.
pub struct SharedTypeInfo<C: 'static> {
    /// Layout of the whole allocation (header and value).
    layout: Layout,
    /// Drops the value in place.
    drop_value: unsafe fn(NonNull<SharedHeader<C>>),
    /// `std::any::type_name` of the value.
    type_name: fn() -> &'static str,
}

impl<C: 'static> SharedTypeInfo<C> {
    /// The value type's name.
    pub fn name(&self) -> &'static str {
        (self.type_name)()
    }
}

/// One thread-shared object: the header, then the value.
#[repr(C)]
pub(crate) struct SharedBox<T, C: 'static> {
    header: SharedHeader<C>,
    value: ManuallyDrop<T>,
}

impl<T: Send + Sync + 'static, C: Counts> SharedBox<T, C> {
    const TYPE_INFO: &'static SharedTypeInfo<C> = &SharedTypeInfo {
        layout: Layout::new::<SharedBox<T, C>>(),
        drop_value: Self::drop_erased,
        type_name: std::any::type_name::<T>,
    };

    /// Allocates an object holding `value`, its counts made by `counts` (one reference, held by
    /// the caller).
    pub(crate) fn allocate(value: T, counts: C) -> NonNull<SharedHeader<C>> {
        let layout = Layout::new::<SharedBox<T, C>>();
        // SAFETY: `SharedBox` contains a header of at least one word, so `layout` is non-zero.
        let raw = unsafe { C::Runtime::alloc(layout) };
        let Some(ptr) = NonNull::new(raw.cast::<SharedBox<T, C>>()) else {
            std::alloc::handle_alloc_error(layout)
        };
        // SAFETY: `ptr` was just allocated with `SharedBox<T, C>`'s layout and is not shared yet.
        unsafe {
            ptr.write(SharedBox {
                header: SharedHeader {
                    counts,
                    type_info: Self::TYPE_INFO,
                },
                value: ManuallyDrop::new(value),
            });
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
    /// `header` is an allocated `SharedBox<T, C>` whose value is initialised; it is dropped
    /// exactly once, here.
    unsafe fn drop_erased(header: NonNull<SharedHeader<C>>) {
        // SAFETY: `TYPE_INFO` pairs this function with `SharedBox<T, C>` only; the caller
        // guarantees the value is initialised and never dropped again.
        unsafe { std::ptr::drop_in_place(Self::value_ptr(header).as_ptr()) }
    }
}

/// Whether a free may be seen by a concurrent [`AtomicGc::load`](super::AtomicGc::load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Published {
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
    // SAFETY: the caller guarantees the memory is allocated.
    let info = unsafe { SharedHeader::from_ptr(obj) }.type_info;

    /// Returns the memory even if the value's `Drop` panics: `drop_in_place` has dropped the
    /// remaining fields while unwinding, and nothing will read the value again.
    struct Dealloc<C: Counts> {
        obj: NonNull<SharedHeader<C>>,
        layout: Layout,
        published: Published,
        _counts: PhantomData<C>,
    }
    impl<C: Counts> Drop for Dealloc<C> {
        fn drop(&mut self) {
            let ptr = self.obj.cast::<u8>();
            match self.published {
                // SAFETY: allocated by `C::Runtime::alloc` with this layout (`allocate`), and
                // unreachable: no reference remains and no `AtomicGc` ever held it.
                Published::No => unsafe { C::Runtime::dealloc(ptr, self.layout) },
                // SAFETY: allocated with this layout; no reference remains, and every loader that
                // could still read the header has pinned the epoch before reading the address
                // from its slot, so the runtime frees it once those loaders have unpinned.
                Published::Yes => unsafe { C::Runtime::dealloc_deferred(ptr, self.layout) },
            }
        }
    }

    let _dealloc = Dealloc::<C> {
        obj,
        layout: info.layout,
        published,
        _counts: PhantomData,
    };
    // SAFETY: the value is initialised and, the count being zero for good, no one else drops or
    // reads it; `drop_value` belongs to this object's type.
    unsafe { (info.drop_value)(obj) };
}

/// The address of a header, for comparisons.
#[inline]
pub(crate) fn addr<C: 'static>(obj: NonNull<SharedHeader<C>>) -> *const () {
    obj.as_ptr().cast_const().cast()
}
