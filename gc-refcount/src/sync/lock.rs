//! [`GcLock<T>`]: a mutex that a collector can trace through.

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};

use gc_core::sync::Std;
use gc_core::{Trace, Visitor};

use super::raw_lock::RawLock;
use super::registry::{self, blocking, HeapAccess};

/// A mutex around a traced value: the way to mutate a shared object's fields (a `Gc` gives
/// shared access only).
///
/// It has no poisoning: a thread that panics while holding the lock leaves the value as it was at
/// the panic, and the next [`lock`](GcLock::lock) takes it as it is (as `parking_lot` does).
/// The lock is one word ([`RawLock`](super::raw_lock::RawLock)): a contended `lock` spins a
/// little, then sleeps.
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
/// [`Trace::trace`] visits the value only if the lock is free; while a thread holds it, the
/// value's edges are not reported. For a collector, a missed edge is a leak for one collection,
/// not a use-after-free (see `Trace`'s safety rules) — provided the answer is the same every time
/// the value is traced during that collection. The thread-local collectors get that for free: a
/// `GcLock` holding thread-local `Gc`s is not `Sync`, so only the collecting thread can hold it,
/// and it is blocked in the collection. The shared collector traces every value once per
/// collection (a thread waiting for a contended lock may take it while the world is stopped; see
/// [`collect`](super::collect) for why that, and a holder's changes, are safe).
///
/// How the trace knows the lock is free: a tracer takes the lock and releases it (as
/// [`try_lock`](GcLock::try_lock) would, without the heap access) — except the shared collector,
/// on the thread that holds the stopped world, which only reads the lock's word. No thread can
/// take a `GcLock` and then touch its value before that collection ends: taking one needs heap
/// access (which waits for the collection), and a `lock` that acquires while the world is stopped
/// does so inside a blocking section, which it leaves — waiting — before it returns the guard.
pub struct GcLock<T> {
    raw: RawLock<Std>,
    value: UnsafeCell<T>,
}

// SAFETY: as `std::sync::Mutex`: the lock hands the value to one thread at a time (`RawLock`'s
// mutual exclusion; the collector's lock-free reads happen only while no thread can write it,
// see the type's docs), so sending or sharing the lock needs only `T: Send`.
unsafe impl<T: Send> Send for GcLock<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for GcLock<T> {}

/// A held [`GcLock`]: the value, readable and writable until the guard drops.
pub struct GcLockGuard<'a, T> {
    lock: &'a GcLock<T>,
    /// Dropped after the guard's `Drop` released the lock: the thread gives its heap access back
    /// once the lock is released.
    _access: HeapAccess,
}

impl<T: Default> Default for GcLock<T> {
    fn default() -> Self {
        GcLock::new(T::default())
    }
}

impl<T> GcLock<T> {
    /// A new, unlocked lock around `value`.
    pub const fn new(value: T) -> Self {
        GcLock {
            raw: RawLock::new_std(),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock, blocking until it is free.
    pub fn lock(&self) -> GcLockGuard<'_, T> {
        let access = registry::enter_heap();
        if !self.raw.try_lock() {
            blocking(|| self.raw.lock());
        }
        GcLockGuard {
            lock: self,
            _access: access,
        }
    }

    /// Takes the lock if it is free (after waiting for a running shared collection to end, on a
    /// thread inside a blocking section).
    pub fn try_lock(&self) -> Option<GcLockGuard<'_, T>> {
        let access = registry::enter_heap();
        // Lazily: a guard built for a failed attempt would release the holder's lock on drop.
        self.raw.try_lock().then(|| GcLockGuard {
            lock: self,
            _access: access,
        })
    }

    /// The value, through exclusive access to the lock (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T> Drop for GcLockGuard<'_, T> {
    fn drop(&mut self) {
        if registry::has_heap_access() {
            self.lock.raw.unlock();
        } else {
            // Released inside a blocking section, where a collection may be running: wait for it
            // to end first. A lock held when the world stopped must stay held until the restart —
            // released now, the collector could read the value, and with it edges that the
            // holder just made from handles it cloned after the collector read their targets'
            // counts: a subtraction no count backs.
            let _access = registry::enter_heap();
            self.lock.raw.unlock();
        }
    }
}

impl<T> Deref for GcLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the lock, so no other thread reaches the value, and the only
        // other reader (the collector of a stopped world) reads it only while the lock is free.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for GcLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as `deref`, and `&mut self` makes this the only borrow through the guard.
        unsafe { &mut *self.lock.value.get() }
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
        fmt::Debug::fmt(&**self, f)
    }
}

// SAFETY: [1] reports the value's edges when it can read the value and none otherwise: a missed
// edge, which `Trace` allows (a leak, never a false edge) as long as the answer does not change
// within one collection — true for the thread-local collectors (the type's docs) and for the
// shared one (it traces each value once per collection); [2] it never reports an edge the
// value does not hold; [3] `MAY_CONTAIN_GC` is the value's. Taking the lock writes the lock word,
// which rule 2 of `Trace` asks to avoid: the price of reading the value without racing a holder;
// the only effect another tracer can see is a failed `try_lock`, i.e. [1] again. The stopped
// world's collector writes nothing.
unsafe impl<T: Trace> Trace for GcLock<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;

    fn trace(&self, visitor: &mut dyn Visitor) {
        if registry::holds_stopped_world() {
            if self.raw.is_unlocked() {
                // SAFETY: this thread holds the stopped world and the lock was free (read with
                // `Acquire`, after the last holder's `Release`): no thread can take it and then
                // write the value until the world restarts (the type's docs), and this thread
                // does not write it (`Trace` rule 2).
                unsafe { &*self.value.get() }.trace(visitor);
            }
            return;
        }
        // The raw lock, not `try_lock`: the tracer is a collector, which needs no heap access.
        if self.raw.try_lock() {
            /// Releases the lock when the trace ends, even by a panic (which `Trace` forbids).
            struct Release<'a>(&'a RawLock<Std>);
            impl Drop for Release<'_> {
                fn drop(&mut self) {
                    self.0.unlock();
                }
            }
            let _release = Release(&self.raw);
            // SAFETY: this thread holds the lock until `_release` drops.
            unsafe { &*self.value.get() }.trace(visitor);
        }
    }
}
