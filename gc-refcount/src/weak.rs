//! [`Weak<T>`]: a handle that does not keep the value alive.

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;

use gc_core::header::flags;
use gc_core::{Header, Trace, Visitor};

use crate::handle::Gc;
use crate::object;

/// A weak handle: it keeps the object's memory, not its value. [`Weak::upgrade`] gives a [`Gc`]
/// while the value is alive and `None` once it has been freed — by its count reaching zero or by
/// the cycle collector, which clears weak handles to garbage before any `Drop` runs.
pub struct Weak<T> {
    object: NonNull<Header>,
    _points_to: PhantomData<T>,
    _not_send: PhantomData<*const ()>,
}

impl<T: Trace + 'static> Weak<T> {
    /// # Safety
    ///
    /// `object` is a live `ObjectBox<T>` and the caller transfers one weak reference.
    pub(crate) unsafe fn from_header(object: NonNull<Header>) -> Weak<T> {
        Weak {
            object,
            _points_to: PhantomData,
            _not_send: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: a weak reference keeps the memory live.
        unsafe { Header::from_ptr(self.object) }
    }

    /// A strong handle, if the value is still alive.
    pub fn upgrade(&self) -> Option<Gc<T>> {
        let header = self.header();
        if header.strong() == 0 || header.flags() & (flags::DEAD | flags::UNREACHABLE) != 0 {
            return None;
        }
        header.inc_strong();
        // SAFETY: the value is alive and one strong reference was just added for the handle.
        Some(unsafe { Gc::from_header(self.object) })
    }

    /// The number of strong references (0 once the value is gone).
    pub fn strong_count(&self) -> usize {
        let header = self.header();
        if header.flags() & (flags::DEAD | flags::UNREACHABLE) != 0 {
            0
        } else {
            header.strong()
        }
    }

    /// Whether two weak handles point to the same object.
    pub fn ptr_eq(&self, other: &Self) -> bool {
        self.object == other.object
    }
}

impl<T: Trace + 'static> Clone for Weak<T> {
    fn clone(&self) -> Self {
        self.header().inc_weak();
        // SAFETY: one weak reference was just added for the new handle.
        unsafe { Weak::from_header(self.object) }
    }
}

impl<T> Drop for Weak<T> {
    fn drop(&mut self) {
        // SAFETY: this handle owns one weak reference and gives it up.
        unsafe { object::release_weak(self.object) }
    }
}

impl<T: Trace + 'static> fmt::Debug for Weak<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(Weak)")
    }
}

// SAFETY: a weak handle is not a strong edge: it reports nothing, and it never keeps a cycle alive.
unsafe impl<T: Trace + 'static> Trace for Weak<T> {
    const MAY_CONTAIN_GC: bool = false;

    #[inline]
    fn trace(&self, _visitor: &mut dyn Visitor) {}
}
