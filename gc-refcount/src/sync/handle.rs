//! [`Gc<T, C>`]: a counted handle to a thread-shared object.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;

use gc_core::{Trace, Visitor};

use super::biased::BiasedCounts;
use super::counts::Counts;
use super::object::{addr, SharedBox, SharedHeader};
use super::runtime::Runtime;

/// A handle to a thread-shared object: `Send + Sync` when `T` is, cloned and dropped from any
/// thread, the value dropped exactly once when the last handle (or [`AtomicGc`](super::AtomicGc)
/// slot) lets go.
///
/// `C` is the counting discipline: [`BiasedCounts`] by default (non-atomic updates on the thread
/// that created the object), or [`AtomicCounts`](super::AtomicCounts) (as `Arc`).
///
/// Cycles of `Gc`s (through [`GcLock`](super::GcLock)s and [`AtomicGc`](super::AtomicGc)s) are
/// found by the shared collector: [`sync::collect`](super::collect), or automatically.
///
/// ```compile_fail
/// // The value must be `Send + Sync`: a thread-local `Gc` may not be shared.
/// let local = gc_refcount::Gc::new(1u32);
/// let _ = gc_refcount::sync::Gc::new(local);
/// ```
pub struct Gc<T: Trace + Send + Sync + 'static, C: Counts = BiasedCounts> {
    ptr: NonNull<SharedHeader<C>>,
    _value: PhantomData<T>,
}

// SAFETY: a `Gc` gives shared access to `T` (needs `Sync`) from whichever thread holds it, and the
// last handle, on any thread, drops the `T` (needs `Send`); the counts are atomics (or, for the
// owner's count, touched only by the thread the runtime identifies as the owner).
unsafe impl<T: Trace + Send + Sync + 'static, C: Counts> Send for Gc<T, C> {}
// SAFETY: `&Gc` only clones (a count update safe from any thread) and reads `T` (`T: Sync`).
unsafe impl<T: Trace + Send + Sync + 'static, C: Counts> Sync for Gc<T, C> {}

impl<T: Trace + Send + Sync + 'static> Gc<T> {
    /// Allocates `value` as a thread-shared object under the default discipline
    /// ([`BiasedCounts`]), owned by the current thread. An allocation is a safepoint: objects
    /// queued to this thread are merged first.
    pub fn new(value: T) -> Self {
        Gc::new_counted(value)
    }
}

impl<T: Trace + Send + Sync + 'static, C: Counts> Gc<T, C> {
    /// Allocates `value` under the discipline `C`, named by type:
    /// `Gc::<_, AtomicCounts>::new_counted(v)`.
    pub fn new_counted(value: T) -> Self {
        C::Runtime::poll();
        let _access = C::Runtime::enter_heap();
        C::safepoint();
        Gc {
            ptr: SharedBox::<T, C>::allocate(value, C::new()),
            _value: PhantomData,
        }
    }

    /// The number of references to the object: handles and `AtomicGc` slots. A snapshot if other
    /// threads are changing it, as `Arc::strong_count`.
    pub fn strong_count(this: &Self) -> usize {
        this.header().counts().strong_count()
    }

    /// Whether two handles point to the same object.
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.ptr == other.ptr
    }

    /// The object's address (of its header), for comparisons and hashing.
    pub fn as_ptr(this: &Self) -> *const () {
        addr(this.ptr)
    }

    #[inline(always)]
    fn header(&self) -> &SharedHeader<C> {
        // SAFETY: this handle is a counted reference: the object is alive.
        unsafe { SharedHeader::from_ptr(self.ptr) }
    }

    /// Gives up the handle without dropping its reference.
    pub(crate) fn into_raw(this: Self) -> NonNull<SharedHeader<C>> {
        let ptr = this.ptr;
        std::mem::forget(this);
        ptr
    }

    /// A handle for a reference the caller owns.
    ///
    /// # Safety
    ///
    /// `ptr` is a live `SharedBox<T, C>` and the caller transfers one counted reference to it to
    /// the new handle.
    pub(crate) unsafe fn from_raw(ptr: NonNull<SharedHeader<C>>) -> Self {
        Gc {
            ptr,
            _value: PhantomData,
        }
    }
}

impl<T: Trace + Send + Sync + 'static, C: Counts> Clone for Gc<T, C> {
    #[inline]
    fn clone(&self) -> Self {
        self.header().counts().increment();
        Gc {
            ptr: self.ptr,
            _value: PhantomData,
        }
    }
}

impl<T: Trace + Send + Sync + 'static, C: Counts> Drop for Gc<T, C> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this handle holds a reference and gives it up; it is not used again.
        unsafe { C::decrement(self.ptr) }
    }
}

impl<T: Trace + Send + Sync + 'static, C: Counts> Deref for Gc<T, C> {
    type Target = T;

    /// # Panics
    ///
    /// If a collection has torn the object down: a handle that a `Drop` of other garbage kept
    /// or resurrected (see [`collect`](super::collect)).
    #[inline]
    fn deref(&self) -> &T {
        if self.header().links().is_dead() {
            dead_value();
        }
        // SAFETY: the handle's reference keeps the value alive (it is dropped only when the count
        // reaches zero, or by a collection that flagged it dead, checked above; a collection
        // finds garbage only objects no thread can reach, so it cannot flag it while this
        // thread dereferences it), `ptr` is a `SharedBox<T, C>` (made by `new_counted` for this
        // `T`), and the value is only ever read through shared references until then.
        unsafe { SharedBox::<T, C>::value_ptr(self.ptr).as_ref() }
    }
}

impl<T: Trace + Send + Sync + 'static + fmt::Debug, C: Counts> fmt::Debug for Gc<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: Trace + Send + Sync + 'static + fmt::Display, C: Counts> fmt::Display for Gc<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

#[cold]
#[track_caller]
fn dead_value() -> ! {
    panic!(
        "dereferenced a shared Gc whose value a collection has dropped (a handle to cyclic \
         garbage kept or resurrected by a Drop)"
    )
}

/// Reports the object to the shared collector ([`Visitor::visit_shared`]) if its value may hold
/// handles (leaf objects are not tracked, like CPython's non-container objects). To the
/// thread-local heaps a shared object is outside, as a value behind an `Arc` is: their visitors
/// ignore shared edges, and no thread-local object can be reached through it (`T: Send` rules
/// out thread-local `Gc`s).
// SAFETY: [1] one shared edge per handle, for tracked objects (the only ones the shared
// collector examines), and no thread-local edge (it holds none); [2] reads only the pointer;
// [3] a handle to a tracked value is a handle the shared collector counts.
unsafe impl<T: Trace + Send + Sync + 'static, C: Counts> Trace for Gc<T, C> {
    /// `true`, as for the thread-local `Gc`: `T::MAY_CONTAIN_GC` here would make a recursive
    /// type's constant depend on itself. A handle to a leaf is simply not reported.
    const MAY_CONTAIN_GC: bool = true;

    #[inline]
    fn trace(&self, visitor: &mut dyn Visitor) {
        if T::MAY_CONTAIN_GC {
            visitor.visit_shared(self.ptr.cast());
        }
    }
}
