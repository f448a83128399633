//! [`prefetch_object`]: a hint to the processor that an object's first two cache lines will be
//! read soon. The marking engine and the thread-shared collector issue it some objects ahead of
//! the one they work on, so that their cache misses overlap.

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
