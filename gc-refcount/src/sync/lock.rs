//! [`GcLock<T>`]: a mutex that a collector can trace through.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use gc_core::{Trace, Visitor};

/// A mutex around a traced value: the way to mutate a shared object's fields (a `Gc` gives
/// shared access only).
///
/// It wraps `std::sync::Mutex` without its poisoning: a thread that panics while holding the
/// lock leaves the value as it was at the panic, and the next [`lock`](GcLock::lock) takes it as
/// it is (as `parking_lot` does).
///
/// ## Tracing
///
/// [`Trace::trace`] visits the value only if it can take the lock (`try_lock`); while a thread
/// holds it, the value's edges are not reported. For a collector, a missed edge is a leak for one
/// collection, not a use-after-free (see `Trace`'s safety rules) — provided the answer is the
/// same every time the value is traced during that collection. The thread-local collectors get
/// that for free: a `GcLock` holding thread-local `Gc`s is not `Sync`, so only the collecting
/// thread can hold it, and it is blocked in the collection.
///
/// The shared collector will not: a stopped thread may be holding a guard, and a thread in a
/// `blocking` section may acquire a lock while the collection runs. It must decide once per
/// collection for each lock — take it (and hold the guard until the collection ends) or treat
/// the value as unreadable (its referents are then reached from outside, so they and what they
/// reach survive) — rather than call `trace` more than once. What a stopped thread may hold and
/// why tracing is sound is part of the stop-the-world design, not built yet.
#[derive(Default)]
pub struct GcLock<T> {
    inner: Mutex<T>,
}

/// A held [`GcLock`]: the value, readable and writable until the guard drops.
pub struct GcLockGuard<'a, T> {
    inner: MutexGuard<'a, T>,
}

impl<T> GcLock<T> {
    /// A new, unlocked lock around `value`.
    pub const fn new(value: T) -> Self {
        GcLock {
            inner: Mutex::new(value),
        }
    }

    /// Takes the lock, blocking until it is free.
    pub fn lock(&self) -> GcLockGuard<'_, T> {
        GcLockGuard {
            inner: self.inner.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<GcLockGuard<'_, T>> {
        match self.inner.try_lock() {
            Ok(inner) => Some(GcLockGuard { inner }),
            Err(TryLockError::Poisoned(poisoned)) => Some(GcLockGuard {
                inner: poisoned.into_inner(),
            }),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// The value, through exclusive access to the lock (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.inner
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T> Deref for GcLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T> DerefMut for GcLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for GcLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Some(guard) => f.debug_tuple("GcLock").field(&*guard).finish(),
            None => f.write_str("GcLock(<locked>)"),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for GcLockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}

// SAFETY: [1] reports the value's edges when it can read the value and none otherwise: a missed
// edge, which `Trace` allows (a leak, never a false edge) as long as the answer does not change
// within one collection — true for the thread-local collectors, the only ones that exist (see the
// type's docs); [2] it never reports an edge the value does not hold; [3] `MAY_CONTAIN_GC` is the
// value's. Taking the lock writes the mutex word, which rule 2 of `Trace` asks to avoid: the price
// of reading the value without racing a holder; the only effect another tracer can see is a failed
// `try_lock`, i.e. [1] again.
unsafe impl<T: Trace> Trace for GcLock<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;

    fn trace(&self, visitor: &mut dyn Visitor) {
        if let Some(guard) = self.try_lock() {
            guard.trace(visitor);
        }
    }
}
