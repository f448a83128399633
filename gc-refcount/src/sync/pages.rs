//! The memory of the thread-shared objects on [`Std`](gc_core::sync::Std): [`Page`]s of 64 KiB,
//! each cut into blocks of one size, held by one thread at a time through its [`PageSet`].
//!
//! Free-threaded CPython finds its objects by walking mimalloc's heaps; this is that design,
//! small. Every block of a page is either in use (an object, whose header says what it is) or
//! free, and every page is in one registry ([`registered`]), so that the whole heap can be
//! walked with the world stopped.
//!
//! ## Who touches what
//!
//! - **The holder of a page set** (a registered thread; the anonymous set's mutex for threads
//!   that are not registered) allocates from its pages and frees into them without atomics: the
//!   page's free list and its count of blocks in use are its own.
//! - **Any other thread** that frees a block of the set pushes it onto the set's *remote* list,
//!   one compare-and-swap, and never touches the page. The holder takes the whole list at once
//!   (a swap) when its pages run out, and frees each block then.
//! - **Sets outlive threads.** A thread that exits leaves its set, pages and all, for the next
//!   thread that registers: a block freed by another thread after the exit still has a remote
//!   list to go to, and the memory is used again.
//! - **Large blocks** (over [`MAX_SMALL`] bytes) get a page of their own, which no set holds:
//!   whoever frees the block returns the page.
//! - **Leaf objects** (values that can hold no handle) get pages of their own, which a
//!   collection does not walk. When both shared pages, a collection that followed a phase of
//!   many leaf objects walked every block that phase had touched: the `sync_collect` bench's
//!   collection took 7.3 ms instead of 0.7 after the `sync_cross_thread_drop` bench had run in
//!   the same process. A walk still goes over the free blocks of the tracked objects' pages: its
//!   cost follows their high-water mark, not the live objects.
//!
//! Handing the blocks of a take of the remote list out again directly, without freeing each
//! into its page (a walk with a cache miss per block), was tried: `shared-churn` took 0.95–0.98×
//! as long, but a page emptied only by other threads' frees was then never given back, and the
//! collections kept walking it. Not kept.
//!
//! A page goes back to the allocator once all its blocks are free, unless it is its class's
//! last empty page in the set: one stays, so that a thread whose heap breathes does not map and
//! unmap a page each time.

use std::alloc::Layout;
use std::cell::{Cell, UnsafeCell};
use std::ptr::{self, NonNull};
use std::sync::atomic::AtomicPtr;
use std::sync::{Mutex, MutexGuard};

use super::registry::lock;
use super::remote_list::RemoteList;

/// The size and alignment of a page of small blocks.
pub(crate) const PAGE_SIZE: usize = 1 << 16;

/// Where the first block of a page starts: after the [`Page`] header, at an offset that serves
/// every alignment up to itself.
const FIRST_BLOCK: usize = 128;

/// The largest block a shared page holds; larger objects get a page of their own.
pub(crate) const MAX_SMALL: usize = PAGE_SIZE / 8;

/// The block sizes: 16 to 128 bytes by 16, then four sizes per doubling up to [`MAX_SMALL`]
/// (so at most a fifth of a block is wasted above 128 bytes).
const CLASSES: usize = 8 + 4 * 6;

/// The block size of class `index`.
const fn class_size(index: usize) -> usize {
    if index < 8 {
        16 * (index + 1)
    } else {
        let doubling = 7 + (index - 8) / 4;
        let step = (index - 8) % 4 + 1;
        (1 << doubling) + step * (1 << (doubling - 2))
    }
}

/// The smallest class whose blocks hold `layout` (their size is a multiple of the alignment, so
/// every block of a page is aligned), or `None` for a large block.
fn class_of(layout: Layout) -> Option<usize> {
    let size = layout
        .size()
        .max(1)
        .next_multiple_of(layout.align().max(16));
    if size > MAX_SMALL || layout.align() > FIRST_BLOCK {
        return None;
    }
    let first = if size <= 128 {
        size.div_ceil(16) - 1
    } else {
        // `size` is in (2^d, 2^(d + 1)]: four classes per doubling, each 2^(d - 2) apart.
        let doubling = (usize::BITS - 1 - (size - 1).leading_zeros()) as usize;
        let step = (size - (1 << doubling)).div_ceil(1 << (doubling - 2));
        8 + (doubling - 7) * 4 + step - 1
    };
    if layout.align() <= 16 {
        // Every class size is a multiple of 16.
        return Some(first);
    }
    (first..CLASSES).find(|&index| class_size(index) % layout.align() == 0)
}

/// The header at the start of every page.
///
/// The fields marked "holder" are read and written only by the thread that holds the page's set
/// (or, for the anonymous set, holds its mutex), and by a collector with the world stopped (which
/// the holder's safepoint orders); the set passes from thread to thread under a mutex.
#[repr(C)]
pub(crate) struct Page {
    /// The page's allocation (the pointer every block is derived from: a reference to the header
    /// covers the header only).
    start: NonNull<u8>,
    /// The size of each block.
    block: usize,
    /// The block size's class, plus [`CLASSES`] for a page of untracked objects (unused for a
    /// large page): its place in its set's table of classes.
    class: usize,
    /// Whether the page holds objects whose values may hold handles (the only pages a
    /// collection walks).
    tracked: bool,
    /// How many blocks the page holds.
    capacity: usize,
    /// The bytes of the page's allocation ([`PAGE_SIZE`], or more for a large page).
    bytes: usize,
    /// The set that holds the page; null for a large page.
    set: *const PageSet,
    /// The page's place in the registry. Guarded by the registry's mutex.
    registered_at: UnsafeCell<usize>,
    /// Holder: the page's place in its set's list of pages of its class.
    in_set_at: Cell<usize>,
    /// Holder: how many blocks from the start have ever been handed out (the rest are untouched).
    bumped: Cell<usize>,
    /// Holder: the blocks freed into the page, linked through their first word.
    free: Cell<*mut u8>,
    /// Holder: blocks handed out and not freed into the page (a block freed remotely counts until
    /// the holder takes it from the remote list).
    in_use: Cell<usize>,
    /// Holder: whether the page is on its set's stack of pages that may have a free block.
    stacked: Cell<bool>,
}

/// `Page` fits before the first block.
const _: () = assert!(std::mem::size_of::<Page>() <= FIRST_BLOCK);

impl Page {
    /// The page a block lies in.
    ///
    /// # Safety
    ///
    /// `block` came from [`alloc`] and is not freed yet (or is being freed by the caller).
    unsafe fn of<'a>(block: NonNull<u8>) -> &'a Page {
        // SAFETY: every block lies in the first `PAGE_SIZE` bytes of its page, which is aligned
        // to `PAGE_SIZE` (a large page's one block starts at `FIRST_BLOCK` too), so masking the
        // address finds the header; `map_addr` keeps the block pointer's provenance, which is the
        // page's allocation; the page lives while one of its blocks is in use.
        unsafe {
            &*block
                .as_ptr()
                .map_addr(|addr| addr & !(PAGE_SIZE - 1))
                .cast::<Page>()
        }
    }

    /// The block at `index` (below [`touched`](Page::touched), for a walk of the page).
    pub(crate) fn block_at(&self, index: usize) -> NonNull<u8> {
        // SAFETY: `FIRST_BLOCK + index * block` is inside the page's allocation for every index
        // below `capacity` (the capacity was computed so).
        unsafe { self.start.add(FIRST_BLOCK + index * self.block) }
    }

    /// Holder: a free block of the page, if it has one.
    #[inline]
    fn take_block(&self) -> Option<NonNull<u8>> {
        let block = match NonNull::new(self.free.get()) {
            Some(block) => {
                // SAFETY: a free block of this page: its first word links the free list.
                self.free.set(unsafe { block.cast::<*mut u8>().read() });
                block
            }
            None if self.bumped.get() < self.capacity => {
                let block = self.block_at(self.bumped.get());
                self.bumped.set(self.bumped.get() + 1);
                block
            }
            None => return None,
        };
        self.in_use.set(self.in_use.get() + 1);
        Some(block)
    }

    /// Holder: frees `block` into the page; returns whether the page is now empty.
    ///
    /// # Safety
    ///
    /// `block` is a block of this page in use, which nothing uses any more.
    #[inline]
    unsafe fn put_block(&self, block: NonNull<u8>) -> bool {
        // SAFETY: the block is the caller's to reuse; its first word now links the free list.
        unsafe { block.cast::<*mut u8>().write(self.free.get()) };
        self.free.set(block.as_ptr());
        self.in_use.set(self.in_use.get() - 1);
        self.in_use.get() == 0
    }

    /// Whether the page holds tracked objects (objects whose values may hold handles); a
    /// collection walks only such pages.
    pub(crate) fn holds_tracked(&self) -> bool {
        self.tracked
    }

    /// How many blocks from the first have been handed out, in use or free now (a collector
    /// tells them apart by their headers); the others were never touched. Holder, or with the
    /// world stopped.
    pub(crate) fn touched(&self) -> usize {
        self.bumped.get()
    }
}

/// One thread's pages, by class: see the module docs.
pub(crate) struct PageSet {
    /// Blocks other threads freed.
    remote: RemoteList<AtomicPtr<u8>>,
    /// Holder: the pages, by class.
    classes: UnsafeCell<[Class; 2 * CLASSES]>,
}

// SAFETY: `remote` is atomic; `classes` (and the holder fields of its pages) are touched only by
// the set's holder, one thread at a time, handed over under a mutex (`ORPHANS`, `ANONYMOUS`).
unsafe impl Sync for PageSet {}
// SAFETY: as above.
unsafe impl Send for PageSet {}

/// The pages of one class in a set.
#[derive(Default)]
struct Class {
    /// Every page of the class; each knows its place (`in_set_at`).
    pages: Vec<NonNull<Page>>,
    /// The page blocks come from now.
    current: Option<NonNull<Page>>,
    /// Pages that got a block back since they were last current (each `stacked`).
    stacked: Vec<NonNull<Page>>,
    /// An empty page kept for the next time the class needs one.
    spare: Option<NonNull<Page>>,
}

/// Every page, for a walk of the whole heap.
static REGISTRY: Mutex<Vec<PagePtr>> = Mutex::new(Vec::new());
/// Every set made (they live as long as the program: this keeps them reachable).
static SETS: Mutex<Vec<&'static PageSet>> = Mutex::new(Vec::new());
/// Sets whose thread exited, for the next thread that registers.
static ORPHANS: Mutex<Vec<&'static PageSet>> = Mutex::new(Vec::new());
/// The set of threads that are not registered (exiting ones), behind its mutex.
static ANONYMOUS: Mutex<Option<&'static PageSet>> = Mutex::new(None);

/// A page's address in the registry.
#[derive(Clone, Copy)]
struct PagePtr(NonNull<Page>);
// SAFETY: only an address; the pages it names are touched under the rules above.
unsafe impl Send for PagePtr {}

thread_local! {
    /// The set this thread holds while it is registered. No destructor: it stays readable while
    /// other thread-locals are destroyed.
    static HELD: Cell<Option<&'static PageSet>> = const { Cell::new(None) };
}

/// Makes the current thread the holder of a set — one an exited thread left, or a new one.
/// Called when the thread registers.
pub(crate) fn take_set() {
    let set = lock(&ORPHANS).pop().unwrap_or_else(PageSet::leak);
    HELD.set(Some(set));
}

/// Gives the current thread's set up for the next thread that registers. Called when the thread
/// unregisters; from then on its frees into the set are remote ones, and it allocates from the
/// anonymous set.
pub(crate) fn leave_set() {
    if let Some(set) = HELD.take() {
        lock(&ORPHANS).push(set);
    }
}

impl PageSet {
    /// A new set, for the program's lifetime (sets are reused, never freed: pages point to
    /// theirs, and a remote free may come at any time).
    fn leak() -> &'static PageSet {
        let set = Box::leak(Box::new(PageSet {
            remote: RemoteList::new(),
            classes: UnsafeCell::new(std::array::from_fn(|_| Class::default())),
        }));
        lock(&SETS).push(set);
        set
    }

    /// Holder: a block of class `index`.
    ///
    /// # Safety
    ///
    /// The current thread holds the set.
    #[inline]
    unsafe fn alloc(&'static self, index: usize) -> NonNull<u8> {
        // SAFETY: the holder's alone (the caller's promise); no reference to it outlives a call.
        let class = unsafe { &mut (*self.classes.get())[index] };
        if let Some(page) = class.current {
            // SAFETY: a page of this set, alive while it is in the set.
            if let Some(block) = unsafe { page.as_ref() }.take_block() {
                return block;
            }
        }
        // SAFETY: the caller's promise.
        unsafe { self.alloc_slow(index) }
    }

    /// Holder: [`alloc`](PageSet::alloc) when the current page is full: the remote frees are
    /// taken, then a page that got a block back is used, or the spare, or a new page.
    ///
    /// # Safety
    ///
    /// As `alloc`.
    #[cold]
    unsafe fn alloc_slow(&'static self, index: usize) -> NonNull<u8> {
        // SAFETY: the caller's promise.
        unsafe { self.take_remote_frees() };
        // SAFETY: as in `alloc`.
        let class = unsafe { &mut (*self.classes.get())[index] };
        // The remote frees may have given the current page blocks back.
        if let Some(page) = class.current {
            // SAFETY: a page of this set.
            if let Some(block) = unsafe { page.as_ref() }.take_block() {
                return block;
            }
        }
        while let Some(page) = class.stacked.pop() {
            // SAFETY: a page of this set.
            let page_ref = unsafe { page.as_ref() };
            page_ref.stacked.set(false);
            if let Some(block) = page_ref.take_block() {
                class.current = Some(page);
                return block;
            }
        }
        let page = class.spare.take().unwrap_or_else(|| {
            let page = new_page(index, class_size(index % CLASSES), self, index < CLASSES);
            // SAFETY: just made.
            unsafe { page.as_ref() }.in_set_at.set(class.pages.len());
            class.pages.push(page);
            page
        });
        class.current = Some(page);
        // SAFETY: a page of this set, empty or new.
        unsafe { page.as_ref() }
            .take_block()
            .expect("an empty page has a free block")
    }

    /// Holder: frees a block of one of the set's pages.
    ///
    /// # Safety
    ///
    /// The current thread holds the set; `block` is a block in use of one of its pages, which
    /// nothing uses any more.
    #[inline]
    unsafe fn free(&'static self, block: NonNull<u8>) {
        // SAFETY: the caller's promise: a block in use, so its page is alive.
        let page = unsafe { Page::of(block) };
        // SAFETY: as above.
        let empty = unsafe { page.put_block(block) };
        let current = |class: &Class| class.current == Some(NonNull::from(page));
        // SAFETY: the holder's alone.
        let class = unsafe { &mut (*self.classes.get())[page.class] };
        if empty && !current(class) {
            // SAFETY: an empty page of this set, which is not current.
            unsafe { self.retire(NonNull::from(page), class) };
        } else if !page.stacked.get() && !current(class) {
            page.stacked.set(true);
            class.stacked.push(NonNull::from(page));
        }
    }

    /// Holder: an empty page that is not current becomes its class's spare, or goes back to the
    /// allocator if there is one already.
    ///
    /// # Safety
    ///
    /// `page` is an empty page of this set, of `class`, not current.
    unsafe fn retire(&self, page: NonNull<Page>, class: &mut Class) {
        // A reference for the fields only: the page is freed below, and no reference to it may
        // live across that (a reference argument would).
        let (was_stacked, at) = {
            // SAFETY: a page of this set, alive until released below.
            let page = unsafe { page.as_ref() };
            (page.stacked.replace(false), page.in_set_at.get())
        };
        if was_stacked {
            class.stacked.retain(|&stacked| stacked != page);
        }
        if class.spare.is_none() {
            class.spare = Some(page);
            return;
        }
        class.pages.swap_remove(at);
        if let Some(&moved) = class.pages.get(at) {
            // SAFETY: a page of this set.
            unsafe { moved.as_ref() }.in_set_at.set(at);
        }
        // SAFETY: empty (no block in use, none in the remote list: it would count as in use),
        // and in no list of the set any more.
        unsafe { release_page(page) };
    }

    /// Holder: frees every block other threads freed into the set since the last call.
    ///
    /// # Safety
    ///
    /// The current thread holds the set.
    unsafe fn take_remote_frees(&'static self) {
        if self.remote.looks_empty() {
            return;
        }
        let mut next = self.remote.take_all();
        while let Some(block) = next {
            // SAFETY: a block of the take, not written since.
            next = unsafe { RemoteList::<AtomicPtr<u8>>::next(block) };
            // SAFETY: the caller's promise; a block of this set, in use until freed here.
            unsafe { self.free(block) };
        }
    }

    /// Any thread: frees a block of the set that the current thread does not hold.
    ///
    /// # Safety
    ///
    /// `block` is a block in use of one of the set's pages, which nothing uses any more.
    unsafe fn free_remotely(&self, block: NonNull<u8>) {
        // SAFETY: the caller gives the block up; a block holds at least a header, so a pointer
        // fits at its start, which is aligned to 16.
        unsafe { self.remote.push(block) };
    }
}

/// Maps a new page for blocks of class `class` of `set`, or (`set` null) for one large block of
/// `block` bytes, and registers it.
fn new_page(class: usize, block: usize, set: *const PageSet, tracked: bool) -> NonNull<Page> {
    let bytes = if set.is_null() {
        (FIRST_BLOCK + block).next_multiple_of(PAGE_SIZE)
    } else {
        PAGE_SIZE
    };
    let layout = Layout::from_size_align(bytes, PAGE_SIZE).expect("a page's layout");
    // SAFETY: the size is not zero.
    let raw = unsafe { std::alloc::alloc(layout) };
    let Some(start) = NonNull::new(raw) else {
        std::alloc::handle_alloc_error(layout)
    };
    let capacity = if set.is_null() {
        1
    } else {
        (PAGE_SIZE - FIRST_BLOCK) / block
    };
    let page = start.cast::<Page>();
    let mut registry = lock(&REGISTRY);
    // SAFETY: freshly allocated, large enough and aligned for the header.
    unsafe {
        page.write(Page {
            start,
            block,
            class,
            tracked,
            capacity,
            bytes,
            set,
            registered_at: UnsafeCell::new(registry.len()),
            in_set_at: Cell::new(0),
            bumped: Cell::new(0),
            free: Cell::new(ptr::null_mut()),
            in_use: Cell::new(0),
            stacked: Cell::new(false),
        })
    };
    registry.push(PagePtr(page));
    page
}

/// Unregisters a page and returns its memory.
///
/// # Safety
///
/// No block of the page is in use, and nothing refers to the page any more but the registry.
unsafe fn release_page(page: NonNull<Page>) {
    let (bytes, start) = {
        let mut registry = lock(&REGISTRY);
        // SAFETY: alive until freed below.
        let page_ref = unsafe { page.as_ref() };
        // SAFETY: guarded by the registry's mutex, held here.
        let at = unsafe { *page_ref.registered_at.get() };
        registry.swap_remove(at);
        if let Some(moved) = registry.get(at) {
            // SAFETY: a registered page; its place is guarded by the mutex held here.
            unsafe { *moved.0.as_ref().registered_at.get() = at };
        }
        (page_ref.bytes, page_ref.start)
    };
    let layout = Layout::from_size_align(bytes, PAGE_SIZE).expect("a page's layout");
    // SAFETY: allocated by `new_page` with this layout (`start` is the pointer it returned);
    // unused (the caller's promise).
    unsafe { std::alloc::dealloc(start.as_ptr(), layout) };
}

/// A block for `layout`: from the current thread's set, the anonymous set if it holds none, or
/// a page of its own if it is large; from pages of `tracked` objects (values that may hold
/// handles) or from pages of others, which a collection does not walk.
///
/// # Safety
///
/// `layout` has a non-zero size.
///
/// # Panics
///
/// If `layout`'s alignment is above 128 bytes (no shared value needs that much yet).
#[inline]
pub(crate) unsafe fn alloc(layout: Layout, tracked: bool) -> NonNull<u8> {
    let Some(class) = class_of(layout) else {
        assert!(
            layout.align() <= FIRST_BLOCK,
            "a shared value aligned to more than 128 bytes"
        );
        let page = new_page(0, layout.size(), ptr::null(), tracked);
        // SAFETY: just made.
        let page = unsafe { page.as_ref() };
        page.bumped.set(1);
        page.in_use.set(1);
        return page.block_at(0);
    };
    let index = if tracked { class } else { class + CLASSES };
    match HELD.get() {
        // SAFETY: this thread holds its set.
        Some(set) => unsafe { set.alloc(index) },
        None => {
            let mut anonymous = lock(&ANONYMOUS);
            let set = *anonymous.get_or_insert_with(PageSet::leak);
            // SAFETY: the anonymous set is held by whoever holds its mutex.
            unsafe { set.alloc(index) }
        }
    }
}

/// Returns a block: into its page if the current thread holds the page's set, to the set's
/// remote list if not, and a large block's page to the allocator.
///
/// # Safety
///
/// `block` came from [`alloc`] and is in use; nothing uses it any more.
#[inline]
pub(crate) unsafe fn dealloc(block: NonNull<u8>) {
    // SAFETY: a block in use: its page is alive.
    let page = unsafe { Page::of(block) };
    if page.set.is_null() {
        // SAFETY: a large page's one block, now unused.
        unsafe { release_page(NonNull::from(page)) };
        return;
    }
    // SAFETY: sets are never freed.
    let set: &'static PageSet = unsafe { &*page.set };
    match HELD.get() {
        // SAFETY: this thread holds the page's set; the block is in use and unused.
        Some(held) if ptr::eq(held, set) => unsafe { set.free(block) },
        // SAFETY: a block in use of the set, unused.
        _ => unsafe { set.free_remotely(block) },
    }
}

/// Every registered page, held: no page is made or returned while this lives.
pub(crate) struct Registered(MutexGuard<'static, Vec<PagePtr>>);

impl Registered {
    /// The pages, in the registry's order.
    pub(crate) fn pages(&self) -> Vec<&Page> {
        self.0
            .iter()
            // SAFETY: a registered page is alive while the registry's mutex is held.
            .map(|page| unsafe { page.0.as_ref() })
            .collect()
    }
}

/// Holds the registry: see [`Registered`].
pub(crate) fn registered() -> Registered {
    Registered(lock(&REGISTRY))
}

#[cfg(test)]
mod tests;
