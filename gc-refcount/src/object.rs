//! Raw operations on managed objects shared by every handle type: retain, release (with the
//! trashcan), and freeing memory. The unsafe core of the refcount discipline.
//!
//! ## Freeing at zero, iteratively (CPython's trashcan)
//!
//! When a strong count reaches zero the value is dropped at once, which drops the handles inside
//! it, which may reach zero in turn. Done by recursion alone, a 10 000 000-node list would
//! overflow the stack. Releases may nest up to a fixed depth (50, CPython's trashcan limit);
//! deeper ones are pushed on a pending stack threaded through the `next` link of the dead
//! object's header (it is in no list any more, so the link is free) and the outermost release
//! drops them afterwards. The stack depth stays bounded and no memory is allocated.

use std::ptr::NonNull;

use gc_core::header::flags;
use gc_core::Header;

use crate::heap::Heap;

/// Adds a strong reference.
///
/// # Safety
///
/// `object` is live (memory not freed).
#[inline(always)]
pub(crate) unsafe fn retain(object: NonNull<Header>) {
    // SAFETY: the caller guarantees the header is live.
    unsafe { Header::from_ptr(object) }.inc_strong();
}

/// Removes a strong reference; at zero the object is dropped and freed.
///
/// # Safety
///
/// `object` is live and the caller owns one of its strong references, which it gives up.
#[inline(always)]
pub(crate) unsafe fn release(object: NonNull<Header>) {
    // SAFETY: the caller owns a strong reference, so the header is live.
    let header = unsafe { Header::from_ptr(object) };
    if header.dec_strong() == 0 {
        // SAFETY: the count just reached zero: no handle and no object references it any more.
        unsafe { release_at_zero(object) }
    } else if header.flags() & (flags::BUFFER_ON_DECREMENT | flags::BUFFERED | flags::UNREACHABLE)
        == flags::BUFFER_ON_DECREMENT
    {
        // The buffered discipline, not yet a candidate, and not garbage being torn down.
        // SAFETY: the object is live (its count is above zero).
        unsafe { buffer_candidate(object) }
    }
}

/// Records a cycle candidate (buffered discipline).
///
/// # Safety
///
/// `object` is live, tracked, of this thread's heap, and not buffered.
#[cold]
#[inline(never)]
unsafe fn buffer_candidate(object: NonNull<Header>) {
    let _ = Heap::try_with(|heap| {
        // SAFETY: as the caller guarantees.
        unsafe { heap.buffer_candidate(object) }
    });
}

/// Whether an object's memory may go back to the allocator: no strong or weak reference left,
/// the value dropped, not referenced by the candidate buffer, and not garbage that a tear-down
/// is still working through (it frees that itself, last).
#[inline]
pub(crate) fn memory_releasable(header: &Header) -> bool {
    header.strong() == 0
        && header.weak() == 0
        && header.has(flags::DROPPED)
        && header.flags() & (flags::BUFFERED | flags::UNREACHABLE) == 0
}

/// The cold half of [`release`].
///
/// # Safety
///
/// `object` is live and its strong count has just reached zero.
#[cold]
#[inline(never)]
unsafe fn release_at_zero(object: NonNull<Header>) {
    // SAFETY: the caller's promise: the object is live.
    if unsafe { Header::from_ptr(object) }.has(flags::UNREACHABLE) {
        // Garbage whose values are dropping (see `teardown.rs`): the tear-down frees it.
        return;
    }
    // If the thread's heap is gone (a handle dropped by another thread-local's destructor after
    // the heap's), the object is leaked: its memory stays valid, nothing dangles.
    let _ = Heap::try_with(|heap| {
        // SAFETY: the count is zero and the object is of this thread's heap.
        unsafe { heap.release(object) }
    });
}

/// Removes a weak reference; frees the memory if it was the last reference of any kind and the
/// value is already dropped.
///
/// # Safety
///
/// `object` is live and the caller owns one of its weak references, which it gives up.
pub(crate) unsafe fn release_weak(object: NonNull<Header>) {
    // SAFETY: the caller owns a weak reference, so the memory is live.
    let header = unsafe { Header::from_ptr(object) };
    header.dec_weak();
    if memory_releasable(header) {
        let _ = Heap::try_with(|heap| {
            // SAFETY: no strong or weak reference is left and the value is dropped.
            unsafe { heap.free_memory(object) }
        });
    }
}

/// Panics because a handle was dereferenced after the cycle collector dropped (or while it is
/// dropping) the value.
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn value_gone(header: &Header) -> ! {
    let state = if header.has(flags::DROPPING) {
        "while the cycle collector is dropping it"
    } else {
        "after the cycle collector dropped it"
    };
    panic!(
        "gclab: a Gc<{}> was dereferenced {state}: the object was part of a garbage cycle, and a \
         Drop impl (or a handle resurrected by one) read another member of that cycle. See \
         `gc_refcount` docs, \"Dropping garbage cycles\".",
        header.type_info().name()
    )
}
