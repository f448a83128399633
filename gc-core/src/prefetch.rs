//! Hints to the processor that memory will be read soon.
//!
//! - [`prefetch_object`]: an object's first two cache lines. The marking engine and the
//!   thread-shared collector issue it some objects ahead of the one they work on, so that their
//!   cache misses overlap.
//! - [`prefetch_walk_ahead`]: the line [`WALK_AHEAD`] bytes past the object a list walk is at.
//!   [`ObjectList::for_each`](crate::ObjectList::for_each) and the collectors' own list walks
//!   issue it for every object they reach.

/// Asks the processor to start loading the cache line at `address` and the next one (an object's
/// header and the start of its value). A hint only: it reads nothing the program can observe,
/// never faults, and may do nothing at all (it does nothing off x86-64, and under Miri).
#[inline(always)]
pub fn prefetch_object<T>(address: *const T) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let address = address.cast::<i8>();
        // SAFETY: a prefetch is a hint: it reads nothing the program can observe and never
        // faults, whatever the address (the second one is computed with `wrapping_add`, so no
        // out-of-bounds pointer arithmetic happens either). `_mm_prefetch` is an `unsafe fn`
        // before Rust 1.87 and safe after, hence the `allow`.
        #[allow(unused_unsafe)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(address);
            _mm_prefetch::<_MM_HINT_T0>(address.wrapping_add(64));
        }
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = address;
}

/// How far ahead of a list walk [`prefetch_walk_ahead`] reaches, in bytes.
///
/// A collector walks a list in allocation order, which a pool allocator makes address order, and
/// the hardware prefetcher follows that stream a few lines ahead. An edge from the object the walk
/// is at to one allocated shortly after it, though, lands beyond that stream: on a heap bigger
/// than the caches it is a miss, although the walk will be there soon. Prefetching this far
/// ahead keeps the next 8 KiB cached. Measured on the reference machine (`--bench mark`,
/// `full_collection`, 1 000 000 objects whose edges go to any of the 64 objects allocated before
/// or after, `local`): trial deletion 48.8–50.1 ms without, 19.1–20.0 with 8 KiB, 21.6 with 4 KiB
/// (both passes) and about 36 with 16 KiB or more (first pass alone); where edges go anywhere
/// (`random`, `fields-random`) the extra line costs 2–5 %.
pub const WALK_AHEAD: usize = 8 * 1024;

/// Asks the processor to start loading the cache line [`WALK_AHEAD`] bytes past `object`: called
/// for every object of a walk down a list in address order, it keeps the next [`WALK_AHEAD`]
/// bytes cached, so that edges to objects the walk will soon reach hit the cache. A hint only, as
/// [`prefetch_object`]; the address may lie outside any allocation.
#[inline(always)]
pub fn prefetch_walk_ahead<T>(object: *const T) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: as in `prefetch_object`: a hint that reads nothing observable and never faults;
        // the address is computed with `wrapping_add`. The `allow` is for Rust before 1.87, where
        // `_mm_prefetch` is an `unsafe fn`.
        #[allow(unused_unsafe)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(object.cast::<i8>().wrapping_add(WALK_AHEAD));
        }
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = object;
}
