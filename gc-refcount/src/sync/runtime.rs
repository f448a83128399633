//! What the thread-shared heap needs from its surroundings: who is running, a mailbox per thread
//! for objects queued to their owner (biased counting), memory, and epoch-deferred frees.

use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
#[cfg(miri)]
use std::sync::PoisonError;

use gc_core::sync::{Platform, Std};

use super::biased::Queued;
use super::object::Published;
use super::pages;
use super::registry;
use super::tracked::TrackedLinks;

/// The id [`Runtime::current_thread`] returns on a thread that has no owner id: one that never
/// allocated a shared object, or one whose registration has been destroyed (it is exiting). No
/// object is ever owned by it, so on such a thread every count update takes the shared path.
pub const ANONYMOUS: usize = usize::MAX;

/// The runtime of the thread-shared heap: atomics (through [`Platform`]), thread identity,
/// mailboxes, memory and epoch-deferred frees.
///
/// Like gc-core's [`Platform`] (which it extends, for the atomics), a runtime is a type
/// parameter, so that the counting code is written once and runs on [`Std`] in production and on
/// gc-core's `Loom` platform (cargo feature `loom`) in the models of `loom-tests`.
///
/// ## Threads on `Std`
///
/// See the `registry` module: a thread is registered on its first heap operation (an owner id
/// never reused, a mailbox, a handshake state, a set of pages for its objects) and unregistered when
/// it exits. The registry is one mutex: it is taken only to register, to unregister, and to
/// queue an object to its owner (the slow path of a cross-thread decrement). Free-threaded
/// CPython shards the same registry into 257 buckets; if merges show up in profiles, so can
/// this one.
///
/// # Safety
///
/// An implementer promises, and the counting code relies on it for memory safety:
///
/// 1. **Identity.** [`current_thread`](Runtime::current_thread) returns, on each thread, either
///    an id that owns no object (such as [`ANONYMOUS`]) or the id
///    [`register_current_thread`](Runtime::register_current_thread) gave that thread; an owner id
///    is never 0, never `ANONYMOUS`, and never given to two threads (not even one after the
///    other: ids are not reused).
/// 2. **Mailboxes.** An object [`send_to_owner`](Runtime::send_to_owner) accepted is returned by
///    exactly one later [`take_mailbox`](Runtime::take_mailbox) *on the owner thread* — or, if
///    the owner unregisters first, by its unregistration, which merges it; or by a collector,
///    which merges it with the world stopped. Once a thread has unregistered, `send_to_owner`
///    for it fails, and the failure happens-after every count update that thread made, so that
///    the sender may merge the dead owner's local count itself.
/// 3. **Memory.** [`alloc`](Runtime::alloc) and [`dealloc`](Runtime::dealloc) behave as
///    `std::alloc`'s (on `Std` they are the `pages` module's, which the collector walks);
///    [`dealloc_deferred`](Runtime::dealloc_deferred) frees the memory only once
///    every thread that was pinned ([`pin`](Runtime::pin)) when it was called has unpinned.
/// 4. **The world.** If the runtime has a collector, no thread runs heap code that needs
///    [`enter_heap`](Runtime::enter_heap) while it examines the heap, and the collector finds
///    every tracked object, once, from [`track`](Runtime::track) to [`untrack`](Runtime::untrack)
///    (and no other).
///    A thread inside a blocking section never reports itself as an object's owner
///    ([`current_thread`](Runtime::current_thread) is not its owner id there), so that a
///    collection reads biased counts that only atomic updates can change.
pub unsafe trait Runtime: Platform {
    /// A pinned epoch: while one is alive on a thread, memory passed to
    /// [`dealloc_deferred`](Runtime::dealloc_deferred) after the pin is not freed.
    type Guard;

    /// The owner id of the current thread, or [`ANONYMOUS`]. Must be cheap: every clone and drop
    /// asks.
    fn current_thread() -> usize;

    /// The owner id of the current thread, registering it (with a mailbox) if it has none yet.
    /// [`ANONYMOUS`] if the thread cannot be registered any more (it is exiting).
    fn register_current_thread() -> usize;

    /// Queues `obj` to the thread `owner`, to be merged at its next safepoint. Gives it back if
    /// that thread has exited.
    fn send_to_owner(owner: usize, obj: Queued<Self>) -> Result<(), Queued<Self>>;

    /// Takes every object queued to the current thread (cheap when there is none).
    fn take_mailbox() -> Vec<Queued<Self>>;

    /// Allocates memory for an object; `tracked` says whether its value may hold handles (on
    /// `Std` such objects get pages of their own, the only ones a collection walks).
    ///
    /// # Safety
    ///
    /// As `std::alloc::alloc`: `layout` has a non-zero size.
    unsafe fn alloc(layout: Layout, tracked: bool) -> *mut u8;

    /// Frees an object's memory now.
    ///
    /// # Safety
    ///
    /// As `std::alloc::dealloc`: `ptr` came from [`alloc`](Runtime::alloc) with `layout`, and no
    /// thread uses it any more.
    unsafe fn dealloc(ptr: NonNull<u8>, layout: Layout);

    /// Frees an object's memory once every thread pinned now has unpinned.
    ///
    /// # Safety
    ///
    /// `ptr` came from [`alloc`](Runtime::alloc) with `layout`; it is no longer stored where a
    /// thread that pins from now on could read it, and the threads pinned now touch at most its
    /// header's counts.
    unsafe fn dealloc_deferred(ptr: NonNull<u8>, layout: Layout);

    /// Pins the current thread's epoch.
    fn pin() -> Self::Guard;

    /// The atomic pointer an [`AtomicGc`](super::AtomicGc) slot is made of: `std`'s on `Std`,
    /// loom's on `Loom`, so that the models see the slot's loads and swaps.
    type Slot<T: 'static>: AtomicSlot<T>;

    /// What [`enter_heap`](Runtime::enter_heap) returns: the current thread's permission to run
    /// heap code, given back when dropped.
    type HeapAccess;

    /// Waits until the current thread may run heap code that a running collection must not see
    /// — allocate, free, store an edge — and holds that permission until the result is dropped.
    /// Free for a running registered thread (it is stopped at safepoints only); a thread in a
    /// [`blocking`](super::blocking) section or an unregistered one waits for a running
    /// collection to end.
    fn enter_heap() -> Self::HeapAccess;

    /// A safepoint for the world: parks the current thread while a collection runs, and runs
    /// one if the schedule says it is due. Called at every allocation and by
    /// [`sync::safepoint`](super::safepoint).
    fn poll();

    /// Makes a new object whose value may hold handles one the collector examines (on `Std` it
    /// finds it in its page already; this counts it for the schedule).
    ///
    /// # Safety
    ///
    /// `obj` is the header of a live object allocated by [`alloc`](Runtime::alloc), not tracked
    /// yet and not yet shared with another thread; the current thread holds heap access.
    unsafe fn track(obj: NonNull<TrackedLinks>);

    /// Makes a tracked object that is being freed one the collector no longer examines (on
    /// `Std`: it forgets its type record, which the walk of the pages looks for).
    ///
    /// # Safety
    ///
    /// `obj` is a tracked object whose count has reached zero for good and whose value has
    /// been dropped (or was never initialised), and the current thread holds heap access
    /// ([`enter_heap`](Runtime::enter_heap)). Nothing reads its type record afterwards.
    unsafe fn untrack(obj: NonNull<TrackedLinks>);

    /// Frees an unreachable object's memory: now ([`dealloc`](Runtime::dealloc)) if it was never
    /// `published` in an `AtomicGc`, else once every loader that may still read it has unpinned
    /// ([`dealloc_deferred`](Runtime::dealloc_deferred)).
    ///
    /// # Safety
    ///
    /// As [`dealloc`](Runtime::dealloc): `ptr` came from [`alloc`](Runtime::alloc) with `layout`;
    /// no reference to the object remains and it is not tracked. If it was published, every
    /// loader that could still read its header pinned the epoch before reading its address.
    unsafe fn dealloc_published(ptr: NonNull<u8>, layout: Layout, published: Published) {
        match published {
            // SAFETY: the caller's promise; no `AtomicGc` ever held it, so no loader can read it.
            Published::No => unsafe { Self::dealloc(ptr, layout) },
            // SAFETY: the caller's promise; the runtime frees it once those loaders unpinned.
            Published::Yes => unsafe { Self::dealloc_deferred(ptr, layout) },
        }
    }
}

/// An atomic pointer, with the meaning of `std::sync::atomic::AtomicPtr`'s methods of the same
/// names.
pub trait AtomicSlot<T>: Send + Sync {
    /// A slot holding `ptr`.
    fn new(ptr: *mut T) -> Self;
    /// Loads the pointer.
    fn load(&self, order: Ordering) -> *mut T;
    /// Stores `ptr` and returns the previous pointer.
    fn swap(&self, ptr: *mut T, order: Ordering) -> *mut T;
    /// Stores `new` if the slot holds `current`; returns the previous pointer either way.
    fn compare_exchange(
        &self,
        current: *mut T,
        new: *mut T,
        success: Ordering,
        failure: Ordering,
    ) -> Result<*mut T, *mut T>;
}

impl<T> AtomicSlot<T> for std::sync::atomic::AtomicPtr<T> {
    fn new(ptr: *mut T) -> Self {
        std::sync::atomic::AtomicPtr::new(ptr)
    }
    #[inline]
    fn load(&self, order: Ordering) -> *mut T {
        self.load(order)
    }
    #[inline]
    fn swap(&self, ptr: *mut T, order: Ordering) -> *mut T {
        self.swap(ptr, order)
    }
    #[inline]
    fn compare_exchange(
        &self,
        current: *mut T,
        new: *mut T,
        success: Ordering,
        failure: Ordering,
    ) -> Result<*mut T, *mut T> {
        self.compare_exchange(current, new, success, failure)
    }
}

// --- Std --------------------------------------------------------------------------------------

// SAFETY: (see `registry`) [1] ids come from a global counter and are never reused, never 0 (it
// starts at 1), never `ANONYMOUS` or `BLOCKED` (asserted); the thread-local id is this thread's
// registration's id, or `BLOCKED`/`ANONYMOUS`, which own nothing. [2] `send_to_owner` pushes
// under the mailbox's lock to a mailbox that is not closed; the owner takes it at a safepoint or,
// closing the mailbox under that lock after its last count update, in its registration's
// destructor; a send that finds the mailbox closed (or no record: the registry forgot the thread
// before it closed its mailbox, and the send held the registry's lock after that) fails after the
// close; a collector merges what registered mailboxes hold with the world stopped.
// [3] `alloc`/`dealloc` are `std::alloc`'s; `dealloc_deferred` is crossbeam-epoch's
// `defer_unchecked`, which runs the free once every thread pinned at that time has unpinned.
// [4] the world's handshake (`world`), `enter_heap` for every thread that is not running and
// registered, and `BLOCKED` as the id inside blocking sections.
unsafe impl Runtime for Std {
    #[cfg(not(miri))]
    type Guard = crossbeam_epoch::Guard;
    #[cfg(miri)]
    type Guard = std::sync::RwLockReadGuard<'static, ()>;

    #[inline(always)]
    fn current_thread() -> usize {
        registry::current_thread()
    }

    fn register_current_thread() -> usize {
        registry::register_current_thread()
    }

    fn send_to_owner(owner: usize, obj: Queued<Std>) -> Result<(), Queued<Std>> {
        registry::send_to_owner(owner, obj)
    }

    #[inline]
    fn take_mailbox() -> Vec<Queued<Std>> {
        registry::take_mailbox()
    }

    type Slot<T: 'static> = std::sync::atomic::AtomicPtr<T>;

    type HeapAccess = registry::HeapAccess;

    #[inline]
    fn enter_heap() -> registry::HeapAccess {
        registry::enter_heap()
    }

    #[inline]
    fn poll() {
        registry::poll();
    }

    #[inline]
    unsafe fn track(obj: NonNull<TrackedLinks>) {
        // SAFETY: the caller's promise, passed on.
        unsafe { registry::track(obj) }
    }

    #[inline]
    unsafe fn untrack(obj: NonNull<TrackedLinks>) {
        // SAFETY: the caller's promise, passed on.
        unsafe { registry::untrack(obj) }
    }

    #[inline]
    unsafe fn alloc(layout: Layout, tracked: bool) -> *mut u8 {
        // SAFETY: the caller guarantees a non-zero size.
        unsafe { pages::alloc(layout, tracked) }.as_ptr()
    }

    #[inline]
    unsafe fn dealloc(ptr: NonNull<u8>, _layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from `alloc` and is unused.
        unsafe { pages::dealloc(ptr) }
    }

    #[cfg(not(miri))]
    unsafe fn dealloc_deferred(ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller's guarantees; `ptr` came from `alloc`.
        unsafe { defer_dealloc(ptr, layout, dealloc_block) }
    }

    #[cfg(not(miri))]
    #[inline]
    fn pin() -> crossbeam_epoch::Guard {
        crossbeam_epoch::pin()
    }

    #[cfg(miri)]
    unsafe fn dealloc_deferred(ptr: NonNull<u8>, layout: Layout) {
        // Wait for every pin taken before this call to end: they hold read guards.
        drop(
            miri_epoch::GRACE
                .write()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let _ = layout;
        // SAFETY: every thread pinned at the call has unpinned; the caller guarantees that no
        // thread pinning later can read `ptr`, which came from `alloc`.
        unsafe { pages::dealloc(ptr) }
    }

    #[cfg(miri)]
    #[inline]
    fn pin() -> Self::Guard {
        miri_epoch::GRACE
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// [`pages::dealloc`] in the shape [`defer_dealloc`] takes.
///
/// # Safety
///
/// As `pages::dealloc`'s: `ptr` came from `pages::alloc` and is unused.
#[cfg(not(miri))]
unsafe fn dealloc_block(ptr: *mut u8, _layout: Layout) {
    // SAFETY: the caller's promise; a block is never null.
    unsafe { pages::dealloc(NonNull::new_unchecked(ptr)) }
}

/// `dealloc_deferred` on crossbeam-epoch (`Std` except under Miri, and `Loom` with
/// `--cfg crossbeam_loom`): frees `ptr` with `dealloc` once every thread pinned now has unpinned.
///
/// # Safety
///
/// As [`Runtime::dealloc_deferred`]'s, and `dealloc` is the deallocator of the allocator `ptr`
/// came from.
#[cfg(any(not(miri), all(feature = "loom", crossbeam_loom)))]
unsafe fn defer_dealloc(ptr: NonNull<u8>, layout: Layout, dealloc: unsafe fn(*mut u8, Layout)) {
    /// The pointer, movable into the deferred closure.
    struct Memory(NonNull<u8>);
    // SAFETY: the memory is no longer used by any thread but for count reads by pinned loaders;
    // whichever thread runs the deferred free owns it then.
    unsafe impl Send for Memory {}
    let memory = Memory(ptr);
    let guard = crossbeam_epoch::pin();
    // SAFETY: `defer_unchecked` runs the closure once every thread pinned now has unpinned; the
    // caller guarantees that no thread pinning later can read `ptr`, and that the pinned ones
    // only read the header, so freeing it then is the last use.
    unsafe {
        guard.defer_unchecked(move || {
            let memory = memory;
            dealloc(memory.0.as_ptr(), layout);
        });
    }
}

/// Under Miri, a grace period is a write lock. crossbeam-epoch does not run under Miri with the
/// flags CI uses: its tagged pointers are integers cast back to pointers, which
/// `-Zmiri-strict-provenance` rejects (and under permissive provenance, Stacked Borrows flags a
/// retag in its intrusive list; Tree Borrows accepts it). So under `cfg(miri)` a pin is a read
/// guard of one global `RwLock`, and a deferred free first takes the write lock once, which waits
/// for every pin taken before it. Correct and slow, and enough for Miri to check the code around
/// it. Pins are never nested (`AtomicGc` pins for one load at a time), so a thread never waits for
/// its own read guard.
#[cfg(miri)]
mod miri_epoch {
    pub(super) static GRACE: std::sync::RwLock<()> = std::sync::RwLock::new(());
}

// --- Loom -------------------------------------------------------------------------------------

#[cfg(feature = "loom")]
pub use self::loom_runtime::exit_loom_thread;

#[cfg(feature = "loom")]
mod loom_runtime {
    use super::{AtomicSlot, Layout, NonNull, Queued, Runtime, TrackedLinks, ANONYMOUS};
    use crate::sync::biased::BiasedCounts;
    use gc_core::sync::Loom;
    use loom::sync::atomic::{AtomicUsize, Ordering};
    use loom::sync::Mutex;
    use std::cell::Cell;

    /// The loom instance's global state, one per model execution.
    struct Registry {
        next_id: AtomicUsize,
        mailboxes: Mutex<Vec<(usize, Vec<Queued<Loom>>)>>,
    }

    loom::lazy_static! {
        static ref REGISTRY: Registry = Registry {
            next_id: AtomicUsize::new(1),
            mailboxes: Mutex::new(Vec::new()),
        };
    }

    loom::thread_local! {
        /// The loom thread's owner id, or `ANONYMOUS`.
        static THREAD_ID: Cell<usize> = Cell::new(ANONYMOUS);
    }

    /// Unregisters the current loom thread and merges what was queued to it: what `Std` does in
    /// a thread's exit (the destructor of its registration). Loom runs a thread-local destructor
    /// of the model's main thread during the execution's shutdown, when loom's statics may not be
    /// touched; so under loom the model calls this at the end of every thread that allocated.
    pub fn exit_loom_thread() {
        let id = THREAD_ID.with(|t| t.replace(ANONYMOUS));
        if id == ANONYMOUS {
            return;
        }
        let items = {
            let mut mailboxes = REGISTRY.mailboxes.lock().unwrap();
            let at = mailboxes.iter().position(|(owner, _)| *owner == id);
            at.map(|at| mailboxes.swap_remove(at).1).unwrap_or_default()
        };
        BiasedCounts::<Loom>::merge_all(items);
    }

    impl<T> AtomicSlot<T> for loom::sync::atomic::AtomicPtr<T> {
        fn new(ptr: *mut T) -> Self {
            loom::sync::atomic::AtomicPtr::new(ptr)
        }
        fn load(&self, order: std::sync::atomic::Ordering) -> *mut T {
            self.load(order)
        }
        fn swap(&self, ptr: *mut T, order: std::sync::atomic::Ordering) -> *mut T {
            self.swap(ptr, order)
        }
        fn compare_exchange(
            &self,
            current: *mut T,
            new: *mut T,
            success: std::sync::atomic::Ordering,
            failure: std::sync::atomic::Ordering,
        ) -> Result<*mut T, *mut T> {
            self.compare_exchange(current, new, success, failure)
        }
    }

    // SAFETY: as `Std`'s, with loom's thread-locals, mutex and atomics: [1] ids come from a
    // per-execution counter starting at 1; [2] sends and unregistration (`exit_loom_thread`) hold
    // the registry mutex; [3] memory is loom's tracked allocator (it reports leaks). Deferred
    // frees: built with `--cfg crossbeam_loom`, crossbeam-epoch itself runs on loom's atomics and
    // `dealloc_deferred` is its `defer_unchecked`, as on `Std`; otherwise they are not modelled
    // (`dealloc_deferred` frees at once), and the loom instance must not be used with `AtomicGc`
    // (the models of `sync_atomic_gc.rs` need the cfg). [4] there is no collector.
    unsafe impl Runtime for Loom {
        #[cfg(crossbeam_loom)]
        type Guard = crossbeam_epoch::Guard;
        #[cfg(not(crossbeam_loom))]
        type Guard = ();

        type Slot<T: 'static> = loom::sync::atomic::AtomicPtr<T>;

        fn current_thread() -> usize {
            THREAD_ID.with(Cell::get)
        }

        fn register_current_thread() -> usize {
            THREAD_ID.with(|t| {
                if t.get() == ANONYMOUS {
                    let id = REGISTRY.next_id.fetch_add(1, Ordering::Relaxed);
                    REGISTRY.mailboxes.lock().unwrap().push((id, Vec::new()));
                    t.set(id);
                }
                t.get()
            })
        }

        fn send_to_owner(owner: usize, obj: Queued<Loom>) -> Result<(), Queued<Loom>> {
            let mut mailboxes = REGISTRY.mailboxes.lock().unwrap();
            match mailboxes.iter_mut().find(|(id, _)| *id == owner) {
                Some((_, items)) => {
                    items.push(obj);
                    Ok(())
                }
                None => Err(obj),
            }
        }

        fn take_mailbox() -> Vec<Queued<Loom>> {
            let id = Self::current_thread();
            if id == ANONYMOUS {
                return Vec::new();
            }
            let mut mailboxes = REGISTRY.mailboxes.lock().unwrap();
            mailboxes
                .iter_mut()
                .find(|(owner, _)| *owner == id)
                .map(|(_, items)| std::mem::take(items))
                .unwrap_or_default()
        }

        unsafe fn alloc(layout: Layout, _tracked: bool) -> *mut u8 {
            // SAFETY: the caller guarantees a non-zero size.
            unsafe { loom::alloc::alloc(layout) }
        }

        unsafe fn dealloc(ptr: NonNull<u8>, layout: Layout) {
            // SAFETY: the caller guarantees `ptr` came from `alloc` with `layout` and is unused.
            unsafe { loom::alloc::dealloc(ptr.as_ptr(), layout) }
        }

        #[cfg(not(crossbeam_loom))]
        unsafe fn dealloc_deferred(ptr: NonNull<u8>, layout: Layout) {
            // SAFETY: as `dealloc`; see the impl's comment for what this does not model.
            unsafe { loom::alloc::dealloc(ptr.as_ptr(), layout) }
        }

        #[cfg(not(crossbeam_loom))]
        fn pin() {}

        #[cfg(crossbeam_loom)]
        unsafe fn dealloc_deferred(ptr: NonNull<u8>, layout: Layout) {
            // SAFETY: the caller's guarantees; `ptr` came from `loom::alloc::alloc`.
            unsafe { super::defer_dealloc(ptr, layout, loom::alloc::dealloc) }
        }

        #[cfg(crossbeam_loom)]
        fn pin() -> crossbeam_epoch::Guard {
            crossbeam_epoch::pin()
        }

        /// The loom instance has no collector (the handshake is modelled on its own, with
        /// `World<Loom>`): no heap access to wait for, no object to find.
        type HeapAccess = ();

        fn enter_heap() {}

        fn poll() {}

        unsafe fn track(_obj: NonNull<TrackedLinks>) {}

        unsafe fn untrack(_obj: NonNull<TrackedLinks>) {}
    }
}
