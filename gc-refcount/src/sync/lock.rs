//! [`GcLock<T>`]: a mutex that a collector can trace through.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use gc_core::{Trace, Visitor};

use super::registry::{self, blocking, HeapAccess};

/// A mutex around a traced value: the way to mutate a shared object's fields (a `Gc` gives
/// shared access only).
///
/// It wraps `std::sync::Mutex` without its poisoning: a thread that panics while holding the
/// lock leaves the value as it was at the panic, and the next [`lock`](GcLock::lock) takes it as
/// it is (as `parking_lot` does).
///
/// ## Taking the lock is a heap operation
///
/// [`lock`](GcLock::lock) and [`try_lock`](GcLock::try_lock) may change edges (through the
/// guard), so on a thread inside a [`blocking`](super::blocking) section they first wait for a
/// running shared collection to end. A `lock` that must wait for another thread to release the
/// lock waits inside a blocking section, so that a collection never waits for a thread that waits
/// for a parked one.
///
/// ## Tracing
///
/// [`Trace::trace`] visits the value only if it can take the lock (`try_lock`); while a thread
/// holds it, the value's edges are not reported. For a collector, a missed edge is a leak for one
/// collection, not a use-after-free (see `Trace`'s safety rules) — provided the answer is the
/// same every time the value is traced during that collection. The thread-local collectors get
/// that for free: a `GcLock` holding thread-local `Gc`s is not `Sync`, so only the collecting
/// thread can hold it, and it is blocked in the collection. The shared collector traces every value once per
/// collection (a thread waiting for a contended lock may take it while the world is stopped; see
/// [`collect`](super::collect) for why that, and a holder's changes, are safe).
#[derive(Default)]
pub struct GcLock<T> {
    inner: Mutex<T>,
}

/// A held [`GcLock`]: the value, readable and writable until the guard drops.
pub struct GcLockGuard<'a, T> {
    inner: MutexGuard<'a, T>,
    /// Dropped after `inner`: the thread gives its heap access back once the lock is released.
    _access: HeapAccess,
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
        let access = registry::enter_heap();
        let inner = match self.inner.try_lock() {
            Ok(inner) => inner,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => {
                blocking(|| self.inner.lock()).unwrap_or_else(PoisonError::into_inner)
            }
        };
        GcLockGuard {
            inner,
            _access: access,
        }
    }

    /// Takes the lock if it is free (after waiting for a running shared collection to end, on a
    /// thread inside a blocking section).
    pub fn try_lock(&self) -> Option<GcLockGuard<'_, T>> {
        let access = registry::enter_heap();
        let inner = match self.inner.try_lock() {
            Ok(inner) => inner,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        Some(GcLockGuard {
            inner,
            _access: access,
        })
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
// within one collection — true for the thread-local collectors (the type's docs) and for the
// shared one (it traces each value once per collection); [2] it never reports an edge the
// value does not hold; [3] `MAY_CONTAIN_GC` is the value's. Taking the lock writes the mutex word,
// which rule 2 of `Trace` asks to avoid: the price of reading the value without racing a holder;
// the only effect another tracer can see is a failed `try_lock`, i.e. [1] again.
unsafe impl<T: Trace> Trace for GcLock<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;

    fn trace(&self, visitor: &mut dyn Visitor) {
        // The mutex itself, not `try_lock`: the tracer is a collector, which needs no heap access.
        let guard = match self.inner.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        guard.trace(visitor);
    }
}
