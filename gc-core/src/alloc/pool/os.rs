//! The operating-system boundary: mapping and unmapping arenas, releasing pages.
//!
//! Three operations, and nothing else in the pool allocator talks to the OS:
//!
//! - `map_arena` — a fresh [`ARENA_SIZE`]-aligned region of [`ARENA_SIZE`] bytes.
//!   On Unix it is an anonymous private `mmap`; to get the alignment it maps twice the size and
//!   unmaps the unaligned head and tail (a first attempt at exactly one arena often lands aligned,
//!   next to the previous arena, and is kept as is).
//! - `unmap_arena` — gives the region back (`munmap`).
//! - `release` — `madvise(MADV_DONTNEED)` on whole pages inside a mapped arena: the pages stop
//!   counting in the resident set at once, the mapping stays, and the next touch gets zero-filled
//!   pages. (`MADV_FREE` would be cheaper but lazy: resident memory would not go down until the
//!   kernel is short of memory, which is exactly what a user watching RSS cannot tell apart from a
//!   leak.)
//!
//! `CAN_RELEASE` says whether `release` does anything; when it does not, the allocator never
//! counts a page as released.
//!
//! Under Miri (and on targets that are not Unix) arenas come from `std::alloc` with a layout of
//! one arena aligned to one arena, so that Miri checks every pointer step of the pool logic. Under
//! Miri, `release` de-initialises the released bytes: any read of bookkeeping left inside
//! released pages — the bug the release step must not have — is reported by Miri as a read of
//! uninitialised memory. Elsewhere without `madvise`, nothing is released.

use super::arena::ARENA_SIZE;

pub(super) use imp::{map_arena, page_size, release, unmap_arena, CAN_RELEASE};

#[cfg(all(unix, not(miri)))]
mod imp {
    use std::ptr::{self, NonNull};

    use super::ARENA_SIZE;

    /// Whether `release` gives pages back.
    pub(in super::super) const CAN_RELEASE: bool = true;

    /// The OS page size (`sysconf(_SC_PAGESIZE)`).
    pub(in super::super) fn page_size() -> usize {
        // SAFETY: `sysconf` has no preconditions.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size)
            .ok()
            .filter(|s| s.is_power_of_two())
            .unwrap_or(4096)
    }

    /// An anonymous read-write private mapping of `len` bytes anywhere.
    fn map(len: usize) -> Option<*mut u8> {
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches no
        // existing memory.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        (p != libc::MAP_FAILED).then_some(p.cast())
    }

    /// # Safety
    ///
    /// `[p, p + len)` is a page-aligned part of a mapping made by [`map`] that nothing uses.
    unsafe fn unmap(p: *mut u8, len: usize) {
        // SAFETY: the caller hands over `[p, p + len)`, which nothing uses.
        let result = unsafe { libc::munmap(p.cast(), len) };
        debug_assert_eq!(result, 0, "munmap failed");
    }

    /// A zero-filled region of `ARENA_SIZE` bytes aligned to `ARENA_SIZE` (the pool logic does
    /// not rely on the zeros).
    pub(in super::super) fn map_arena() -> Option<NonNull<u8>> {
        let p = map(ARENA_SIZE)?;
        if p.addr() % ARENA_SIZE == 0 {
            return NonNull::new(p);
        }
        // SAFETY: `p` is the mapping just made, unused.
        unsafe { unmap(p, ARENA_SIZE) };
        let p = map(2 * ARENA_SIZE)?;
        let head = p.addr().next_multiple_of(ARENA_SIZE) - p.addr();
        let tail = ARENA_SIZE - head;
        // SAFETY: `head < ARENA_SIZE`, so the arena `[p + head, p + head + ARENA_SIZE)` lies
        // inside the `2 * ARENA_SIZE` bytes just mapped.
        let arena = unsafe { p.add(head) };
        if head > 0 {
            // SAFETY: the unaligned head before the arena: page-aligned (both ends are), unused.
            unsafe { unmap(p, head) };
        }
        if tail > 0 {
            // SAFETY: the tail after the arena, `tail` bytes up to the end of the mapping:
            // page-aligned, unused.
            unsafe { unmap(arena.add(ARENA_SIZE), tail) };
        }
        NonNull::new(arena)
    }

    /// Unmaps an arena.
    ///
    /// # Safety
    ///
    /// `arena` came from `map_arena` and nothing reads or writes it any more.
    pub(in super::super) unsafe fn unmap_arena(arena: NonNull<u8>) {
        // SAFETY: forwarded: the whole arena, aligned, no longer used.
        unsafe { unmap(arena.as_ptr(), ARENA_SIZE) }
    }

    /// `madvise(MADV_DONTNEED)`: the pages' contents are dropped and they leave the resident set;
    /// the next access sees zeros. (The call fails only for arguments that are not a page-aligned
    /// range of a mapping, which would be a bug here.)
    ///
    /// # Safety
    ///
    /// `[p, p + len)` is page-aligned, inside a live arena, and holds nothing anyone will read
    /// before writing it again.
    pub(in super::super) unsafe fn release(p: *mut u8, len: usize) {
        // SAFETY: the range is inside a private anonymous mapping of ours and its contents are
        // dead (caller's promise); DONTNEED only replaces them with zero pages.
        let result = unsafe { libc::madvise(p.cast(), len, libc::MADV_DONTNEED) };
        debug_assert_eq!(result, 0, "madvise failed");
    }
}

#[cfg(any(miri, not(unix)))]
mod imp {
    use std::alloc::Layout;
    use std::ptr::NonNull;

    use super::ARENA_SIZE;

    /// Whether `release` gives pages back: under Miri it pretends to (and de-initialises them).
    pub(in super::super) const CAN_RELEASE: bool = cfg!(miri);

    /// The page size used to decide what can be released (4 KiB).
    pub(in super::super) fn page_size() -> usize {
        4096
    }

    const ARENA_LAYOUT: Layout = match Layout::from_size_align(ARENA_SIZE, ARENA_SIZE) {
        Ok(layout) => layout,
        Err(_) => panic!("arena layout"),
    };

    /// A region of `ARENA_SIZE` bytes aligned to `ARENA_SIZE`, from `std::alloc`. Its contents
    /// are uninitialised (the pool logic never reads memory it has not written, and under Miri
    /// this checks it).
    pub(in super::super) fn map_arena() -> Option<NonNull<u8>> {
        // SAFETY: the layout has a non-zero size.
        NonNull::new(unsafe { std::alloc::alloc(ARENA_LAYOUT) })
    }

    /// Frees an arena.
    ///
    /// # Safety
    ///
    /// `arena` came from `map_arena` and nothing reads or writes it any more.
    pub(in super::super) unsafe fn unmap_arena(arena: NonNull<u8>) {
        // SAFETY: allocated by `map_arena` with this layout.
        unsafe { std::alloc::dealloc(arena.as_ptr(), ARENA_LAYOUT) }
    }

    /// Under Miri: makes the range uninitialised, so that reading anything left in it is an
    /// error. Elsewhere: does nothing (never called, since `CAN_RELEASE` is false).
    ///
    /// # Safety
    ///
    /// `[p, p + len)` is inside a live arena and holds nothing anyone will read before writing
    /// it again.
    pub(in super::super) unsafe fn release(p: *mut u8, len: usize) {
        if cfg!(miri) {
            const CHUNK: usize = 4096;
            debug_assert_eq!(len % CHUNK, 0);
            for offset in (0..len).step_by(CHUNK) {
                // SAFETY: `[p + offset, p + offset + CHUNK)` is inside the range, which is inside
                // a live arena; writing an uninitialised value de-initialises it.
                unsafe {
                    p.add(offset)
                        .cast::<std::mem::MaybeUninit<[u8; CHUNK]>>()
                        .write(std::mem::MaybeUninit::uninit())
                };
            }
        } else {
            let _ = (p, len);
        }
    }
}
