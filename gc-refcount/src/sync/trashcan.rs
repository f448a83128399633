//! The trashcan for thread-shared objects: a free that a free started, nested deeper than
//! [`TRASHCAN_DEPTH`] on one thread, is queued and run by the outermost free on that thread, so
//! that dropping a long chain of shared objects takes bounded stack (CPython's
//! `Py_TRASHCAN_BEGIN`; the thread-local heap has the same rule in `heap.rs`).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use super::object::Published;
use super::tracked::TrackedLinks;

/// How deep frees may nest on one thread before the next one is queued.
const TRASHCAN_DEPTH: u32 = 50;

/// What is left of a free: drop the value (unless a collection did) and return the memory.
pub(crate) type Finish = unsafe fn(NonNull<TrackedLinks>, Published);

/// A queued free.
struct Queued {
    obj: NonNull<TrackedLinks>,
    published: Published,
    finish: Finish,
}

thread_local! {
    /// How many frees are running on this thread, one inside the other's `Drop`.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Frees queued for the outermost one.
    static QUEUE: RefCell<Vec<Queued>> = const { RefCell::new(Vec::new()) };
}

/// Runs `finish(obj, published)` now, or queues it for the outermost free of this thread if
/// frees are nested [`TRASHCAN_DEPTH`] deep. The outermost free runs the queue before it returns;
/// if a `Drop` panics, the rest of the queue still runs and the first panic is resumed after it.
///
/// # Safety
///
/// `finish(obj, published)` may be called once, at any later point on this thread while the
/// caller's heap access lasts: the object is unreachable (count zero for good); if tracked and
/// not torn down by a collection, it is still tracked, until `finish` untracks it.
pub(crate) unsafe fn release(obj: NonNull<TrackedLinks>, published: Published, finish: Finish) {
    let depth = DEPTH.get();
    if depth >= TRASHCAN_DEPTH {
        let entry = Queued {
            obj,
            published,
            finish,
        };
        // A thread whose queue is already destroyed (it is exiting) nests instead.
        if QUEUE
            .try_with(|queue| queue.borrow_mut().push(entry))
            .is_ok()
        {
            return;
        }
    }
    /// Restores the depth, also when a `Drop` panics.
    struct Leave(u32);
    impl Drop for Leave {
        fn drop(&mut self) {
            DEPTH.set(self.0);
        }
    }
    DEPTH.set(depth + 1);
    let leave = Leave(depth);
    // SAFETY: the caller's promise.
    let first = catch_unwind(AssertUnwindSafe(|| unsafe { finish(obj, published) }));
    if depth != 0 {
        drop(leave);
        if let Err(panic) = first {
            resume_unwind(panic);
        }
        return;
    }
    let mut first_panic: Option<Box<dyn Any + Send>> = first.err();
    while let Some(next) = QUEUE
        .try_with(|queue| queue.borrow_mut().pop())
        .ok()
        .flatten()
    {
        DEPTH.set(1);
        // SAFETY: queued by `release` under the same promise, and run once (popped).
        let run = catch_unwind(AssertUnwindSafe(|| unsafe {
            (next.finish)(next.obj, next.published)
        }));
        if let Err(panic) = run {
            first_panic.get_or_insert(panic);
        }
    }
    drop(leave);
    if let Some(panic) = first_panic {
        resume_unwind(panic);
    }
}
