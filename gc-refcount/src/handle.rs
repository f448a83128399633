//! [`Gc<T>`]: a strong, counted handle to a managed object.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;

use gc_core::header::flags;
use gc_core::{Header, ObjectBox, Trace, Visitor};

use crate::heap::Heap;
use crate::object;
use crate::weak::Weak;

/// A strong handle to a value in this thread's heap, like `Rc<T>` but with cycles collected.
///
/// Cloning adds one to the count, dropping removes one; at zero the value is dropped and its
/// memory freed at once. A value that is part of an unreachable cycle is freed by the cycle
/// collector instead ([`gc::collect`](crate::gc::collect) or automatically).
///
/// `Gc` is neither `Send` nor `Sync`: the heap belongs to its thread.
///
/// ```compile_fail
/// let a = gc_refcount::Gc::new(1u32);
/// std::thread::spawn(move || drop(a)); // a Gc cannot cross threads
/// ```
pub struct Gc<T> {
    object: NonNull<Header>,
    _owns: PhantomData<T>,
    _not_send: PhantomData<*const ()>,
}

impl<T: Trace + 'static> Gc<T> {
    /// Moves `value` into a new object of this thread's heap. A container (a `T` that can hold a
    /// `Gc`) is tracked; this allocation may trigger an automatic collection first.
    #[inline]
    pub fn new(value: T) -> Gc<T> {
        let object = Heap::with(|heap| heap.allocate(value));
        // SAFETY: a fresh object of type `T` with strong count 1, which this handle owns.
        unsafe { Gc::from_header(object) }
    }

    /// Wraps a strong reference that the caller owns.
    ///
    /// # Safety
    ///
    /// `object` is a live `ObjectBox<T>` of this thread's heap and the caller transfers one
    /// strong reference to the new handle.
    #[inline(always)]
    pub(crate) unsafe fn from_header(object: NonNull<Header>) -> Gc<T> {
        Gc {
            object,
            _owns: PhantomData,
            _not_send: PhantomData,
        }
    }

    #[inline(always)]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: this handle owns a strong reference, so the memory is live.
        unsafe { Header::from_ptr(self.object) }
    }

    pub(crate) fn object(this: &Self) -> NonNull<Header> {
        this.object
    }

    /// Reports the value's edges (nothing if the value is gone).
    pub(crate) fn trace_value(&self, visitor: &mut dyn Visitor) {
        // SAFETY: the handle keeps the object live; `Header::trace` checks the value is present.
        unsafe { Header::trace(self.object, visitor) }
    }

    /// Whether two handles point to the same object.
    #[inline]
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.object == other.object
    }

    /// The number of strong references: handles plus references from other objects.
    #[inline]
    pub fn strong_count(this: &Self) -> usize {
        this.header().strong()
    }

    /// The number of weak handles.
    pub fn weak_count(this: &Self) -> usize {
        this.header().weak() as usize
    }

    /// A weak handle to the same object.
    pub fn downgrade(this: &Self) -> Weak<T> {
        this.header().inc_weak();
        // SAFETY: one weak reference was just added for the new handle.
        unsafe { Weak::from_header(this.object) }
    }

    /// A pointer to the value (valid while a strong handle exists and the value is not dropped).
    pub fn as_ptr(this: &Self) -> *const T {
        // SAFETY: this handle keeps the `ObjectBox<T>` live.
        unsafe { ObjectBox::<T>::value_ptr(this.object) }.as_ptr()
    }

    /// Whether the value is still there. `false` only for a handle that a `Drop` impl resurrected
    /// during the tear-down of a garbage cycle (see the crate docs); dereferencing it panics.
    pub fn is_alive(this: &Self) -> bool {
        !this.header().has_any(flags::VALUE_GONE)
    }
}

impl<T: Trace + 'static> Deref for Gc<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        let header = self.header();
        if header.has_any(flags::VALUE_GONE) {
            object::value_gone(header);
        }
        // SAFETY: the handle keeps the memory live and the value is present (checked above); the
        // value is only dropped by the collector, which flags it first.
        unsafe { ObjectBox::<T>::value_ptr(self.object).as_ref() }
    }
}

impl<T: Trace + 'static> Clone for Gc<T> {
    #[inline(always)]
    fn clone(&self) -> Self {
        // SAFETY: this handle keeps the object live.
        unsafe { object::retain(self.object) };
        // SAFETY: the reference just added is transferred to the new handle.
        unsafe { Gc::from_header(self.object) }
    }
}

impl<T> Drop for Gc<T> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: this handle owns one strong reference and gives it up.
        unsafe { object::release(self.object) }
    }
}

// SAFETY: a `Gc` is one strong edge to its object, reported once.
unsafe impl<T: Trace + 'static> Trace for Gc<T> {
    const MAY_CONTAIN_GC: bool = true;

    #[inline(always)]
    fn trace(&self, visitor: &mut dyn Visitor) {
        visitor.visit(self.object);
    }
}

impl<T: Trace + 'static> AsRef<T> for Gc<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: Trace + 'static> Borrow<T> for Gc<T> {
    fn borrow(&self) -> &T {
        self
    }
}

impl<T: Trace + Default + 'static> Default for Gc<T> {
    fn default() -> Self {
        Gc::new(T::default())
    }
}

impl<T: Trace + fmt::Debug + 'static> fmt::Debug for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if Gc::is_alive(self) {
            fmt::Debug::fmt(&**self, f)
        } else {
            write!(f, "Gc(<dropped {}>)", self.header().type_info().name())
        }
    }
}

impl<T: Trace + fmt::Display + 'static> fmt::Display for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: Trace + PartialEq + 'static> PartialEq for Gc<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Trace + Eq + 'static> Eq for Gc<T> {}

impl<T: Trace + PartialOrd + 'static> PartialOrd for Gc<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: Trace + Ord + 'static> Ord for Gc<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: Trace + Hash + 'static> Hash for Gc<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl<T: Trace + 'static> fmt::Pointer for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&self.object, f)
    }
}
